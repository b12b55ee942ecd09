"""A run directory (``bpgen.run.layout`` names its files): the frozen config, the run manifest, the submissions
made for it, and its shards."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bpgen.atomic import atomic_write_text
from bpgen.errors import UserError
from bpgen.hostinfo import utc_now
from bpgen.run import layout
from bpgen.run.locks import waiting_lock

RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class RunError(UserError, ValueError):
    """The run directory disagrees with the request; the message names the fix."""


@dataclass(frozen=True)
class RunSpec:
    """What a submission asks for: the run is defined by its config text (resolved config + images/shard)."""

    name: str
    shards: int
    images_per_shard: int
    overrides: tuple[str, ...]
    config_text: str


def check_run_name(name: str) -> str:
    if not RUN_NAME.match(name):
        raise RunError(f"--run {name!r} is not a valid run name; use letters, digits, '.', '_' or '-'")
    return name


@dataclass(frozen=True)
class Run:
    """A run directory: name-or-path resolution, its files (named by ``bpgen.run.layout``), locks and shard count."""

    path: Path

    @classmethod
    def named(cls, name: str, data_root: Path) -> Run:
        """The run called ``name`` under the data root (it may not exist yet: 2-submit creates it)."""
        return cls((data_root / check_run_name(name)).resolve())

    @classmethod
    def find(cls, name_or_path: str, data_root: Path) -> Run:
        """An existing run, given as a directory or as a name under the data root; RunError names the fix.

        A run directory holds run.yaml (made by 2-submit) or shards/ (``python -m bpgen.render --run-dir``).
        """
        if not name_or_path:
            raise RunError("no run given; name a run (under BPGEN_DATA_ROOT) or give its directory")
        given = Path(name_or_path)
        for candidate in (given, data_root / given):
            if is_run_dir(candidate):
                return cls(candidate.resolve())
        raise RunError(
            f"{name_or_path} is not a bpgen run (no run.yaml or shards/ in {given} or {data_root / given}); "
            "start it with ./2-submit --run NAME"
        )

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def shards_dir(self) -> Path:
        return layout.shards_dir(self.path)

    @property
    def dataset_dir(self) -> Path:
        return layout.dataset_dir(self.path)

    @property
    def merge_lock_path(self) -> Path:
        return self.path / layout.MERGE_LOCK

    @property
    def local_lock_path(self) -> Path:
        return self.path / layout.LOCAL_LOCK

    @property
    def submit_lock_path(self) -> Path:
        """Next to the run directory, so it exists before the run does."""
        return layout.submit_lock(self.path)

    @contextlib.contextmanager
    def submission_lock(self) -> Iterator[None]:
        """Hold the run's submission lock: one 2-submit at a time reads the queue, submits and records.

        A second 2-submit of the same run waits here, then plans with the first one's submissions recorded. The
        lock file is removed on release (a waiter that wakes on a removed file takes the new one), and so is a
        data root this call had to create, so a refused submission leaves nothing behind.
        """
        created = [p for p in (self.path.parent, *self.path.parent.parents) if not p.exists()]
        self.path.parent.mkdir(parents=True, exist_ok=True)

        def waiting(holder: str) -> None:
            print(f"waiting for another ./2-submit of run {self.name} (pid {holder})", file=sys.stderr)

        try:
            with waiting_lock(self.submit_lock_path, waiting):
                yield
        finally:
            for directory in created:
                with contextlib.suppress(OSError):
                    directory.rmdir()  # only while still empty

    @property
    def config_path(self) -> Path:
        return self.path / layout.CONFIG

    @property
    def slurm_dir(self) -> Path:
        return self.path / layout.SLURM

    @property
    def logs_dir(self) -> Path:
        return self.path / layout.LOGS

    @property
    def submissions_path(self) -> Path:
        return self.path / layout.SUBMISSIONS

    def exists(self) -> bool:
        return (self.path / layout.RUN_MANIFEST).is_file()

    def manifest(self) -> dict[str, Any]:
        if not self.exists():
            raise RunError(f"{self.path} is not a bpgen run (no run.yaml); start it with ./2-submit --run NAME")
        data = yaml.safe_load((self.path / layout.RUN_MANIFEST).read_text())
        assert isinstance(data, dict)
        return data

    @property
    def shard_count(self) -> int:
        """The shard count of run.yaml; for a run rendered without 2-submit, one past the highest shard found."""
        if self.exists():
            return int(self.manifest()["shards"])
        found = layout.shard_ids_present(self.path)
        return max(found) + 1 if found else 0

    @property
    def images_per_shard(self) -> int:
        return int(self.manifest()["images_per_shard"])

    def check_request(self, spec: RunSpec, force_new_config: bool) -> str:
        """'new', 'same' or 'changed' (only with force_new_config); RunError when the request conflicts."""
        if not self.exists():
            return "new"
        manifest = self.manifest()
        if self.config_path.read_text() != spec.config_text:
            if force_new_config:
                return "changed"
            raise RunError(
                f"run {self.name} exists with a different config or --images-per-shard (see {self.config_path}); "
                "use another --run NAME, or --force-new-config to set old shards aside and start over"
            )
        if spec.shards < int(manifest["shards"]):
            raise RunError(
                f"run {self.name} has {manifest['shards']} shards; --shards can only grow it (use --shards "
                f"{manifest['shards']} or more)"
            )
        return "same"

    def freeze(self, spec: RunSpec, site_values: dict[str, str]) -> None:
        """Write run.yaml, config.yaml and the environment copy (each atomically)."""
        created = self.manifest()["created"] if self.exists() else utc_now()
        self.path.mkdir(parents=True, exist_ok=True)
        if not self.config_path.is_file() or self.config_path.read_text() != spec.config_text:
            atomic_write_text(self.config_path, spec.config_text)
        manifest = {
            "name": spec.name,
            "shards": spec.shards,
            "images_per_shard": spec.images_per_shard,
            "overrides": list(spec.overrides),
            "created": created,
        }
        atomic_write_text(self.path / layout.RUN_MANIFEST, yaml.safe_dump(manifest, sort_keys=False))
        lines = [f"# environment.sh values used by the latest ./2-submit of this run ({utc_now()})"]
        lines += [f"{name}=${{{name}:-{value}}}" for name, value in site_values.items()]
        atomic_write_text(self.path / layout.ENVIRONMENT_COPY, "\n".join(lines) + "\n")

    def supersede(self) -> Path:
        """Move the shards and config of an earlier config to superseded/<time>/ (never deleted here)."""
        target = self.path / layout.SUPERSEDED / time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        target.mkdir(parents=True)
        for name in (layout.SHARDS, layout.CONFIG, layout.RUN_MANIFEST, layout.SUBMISSIONS):
            if (self.path / name).exists():
                (self.path / name).rename(target / name)
        return target

    def done_shards(self, count: int) -> set[int]:
        return {k for k in range(count) if layout.is_done(self.path, k)}

    def partial_images(self, shard: int) -> int:
        """Images already rendered in an unfinished shard's temp dir."""
        images = layout.temp_dir(self.path, shard) / layout.IMAGES
        return sum(1 for _ in images.iterdir()) if images.is_dir() else 0

    def done_records(self, done: set[int]) -> dict[int, dict[str, Any]]:
        records = {}
        for k in done:
            try:
                records[k] = json.loads((layout.shard_dir(self.path, k) / layout.DONE).read_text())
            except (OSError, ValueError):
                continue
        return records

    def submissions(self) -> list[dict[str, Any]]:
        if not self.submissions_path.is_file():
            return []
        return [json.loads(line) for line in self.submissions_path.read_text().splitlines() if line.strip()]

    def record_submission(self, record: dict[str, Any]) -> None:
        """Append one line under an exclusive lock (two 2-submit at once must not drop each other's records)."""
        line = json.dumps(dict(record, time=utc_now()), separators=(",", ":")) + "\n"
        with open(self.submissions_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def undo_freeze(self, created_dir: bool) -> None:
        """Take back what ``freeze`` wrote for a new run when nothing could be submitted into it."""
        if self.submissions_path.exists() or self.shards_dir.exists():
            return
        for name in (layout.RUN_MANIFEST, layout.CONFIG, layout.ENVIRONMENT_COPY):
            (self.path / name).unlink(missing_ok=True)
        if created_dir:
            shutil.rmtree(self.path, ignore_errors=True)


def is_run_dir(path: Path) -> bool:
    return (path / layout.RUN_MANIFEST).is_file() or layout.shards_dir(path).is_dir()
