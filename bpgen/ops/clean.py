"""``./00-clean [RUN] [--older-than DAYS] [--dry-run] [--all [--yes]]``: remove what is safe to remove.

Safe (older than DAYS, default 7): Blender temp dirs in BPGEN_SCRATCH (bpgen_bproc_*), incomplete shard temp
dirs (shards/.shard_*.tmp), leftovers of interrupted merges (.dataset.tmp, .dataset.old), submitit pickles,
sbatch scripts and task logs (slurm/), merge/train/local logs (logs/). Never DONE shards, merged datasets, the
run's config or superseded shards, unless ``--all``, which removes whole runs after a typed confirmation (or
``--yes``). Symlinks are removed as links, never followed; nothing outside the data root and scratch is touched.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bpgen.errors import UserError, report
from bpgen.ops.locks import lock_held
from bpgen.ops.run import Run
from bpgen.ops.site import load_site_config

DAY = 86400.0


@dataclass(frozen=True)
class Removal:
    path: Path
    reason: str
    size: int


def tree_size(path: Path) -> int:
    """Bytes under ``path`` without following symlinks."""
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    total = 0
    for root, _dirs, files in os.walk(path, followlinks=False):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _age_days(path: Path, now: float) -> float:
    """Days since anything under ``path`` last changed (a rendering shard writes into subdirectories)."""
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for root, dirs, files in os.walk(path, followlinks=False):
            for name in dirs + files:
                try:
                    newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
                except OSError:
                    pass
    return (now - newest) / DAY


def _inside(path: Path, roots: list[Path]) -> bool:
    """The path itself (not what a symlink points to) lies under one of the roots."""
    parent = path.parent.resolve()
    return any(parent == root or root in parent.parents for root in roots)


def _runs(data_root: Path, run: Path | None) -> list[Path]:
    if run is not None:
        return [run]
    if not data_root.is_dir():
        return []
    return sorted(p for p in data_root.iterdir() if p.is_dir() and not p.is_symlink() and (p / "shards").is_dir())


def plan_removals(
    data_root: Path,
    scratch: Path,
    run: Path | None,
    older_than_days: float,
    everything: bool,
    now: float,
    queued_job_ids: frozenset[str] = frozenset(),
) -> list[Removal]:
    """What 00-clean would remove (pure apart from reading the tree). Runs that a local render or a merge is
    working on keep their temp dirs; files of jobs still in the queue (``queued_job_ids``) are kept."""
    roots = [data_root.resolve()] + ([scratch.resolve()] if scratch.is_dir() else [])
    found: list[tuple[Path, str]] = []
    if scratch.is_dir():
        temps = scratch.glob("bpgen_bproc_*")
        found += [(p, "Blender temp dir") for p in temps if _age_days(p, now) >= older_than_days]
    for run_dir in _runs(data_root, run):
        busy = lock_held(Run(run_dir).local_lock_path) or lock_held(Run(run_dir).merge_lock_path)
        if everything:
            if not busy:
                found.append((run_dir, "whole run (--all)"))
            continue
        queued_run = any(
            str(s.get("job_id")) in queued_job_ids for s in _submissions(run_dir) if s.get("kind") == "render"
        )
        if not busy and not queued_run:  # a queued task may resume its shard's temp dir
            found += [
                (p, "incomplete shard temp dir")
                for p in (run_dir / "shards").glob(".shard_*.tmp")
                if _age_days(p, now) >= older_than_days
            ]
        if not busy:
            merges = (run_dir / ".dataset.tmp", run_dir / ".dataset.old")
            found += [(p, "interrupted merge") for p in merges if p.exists()]
        for folder, reason in (("slurm", "submitit pickle/script/log"), ("logs", "job log")):
            directory = run_dir / folder
            if directory.is_dir() and not directory.is_symlink():
                found += [
                    (p, reason)
                    for p in sorted(directory.iterdir())
                    if (p.is_file() or p.is_symlink())
                    and p.name.split("_", 1)[0] not in queued_job_ids  # pickles a pending task still needs
                    and _age_days(p, now) >= older_than_days
                ]
    return [Removal(p, reason, tree_size(p)) for p, reason in found if _inside(p, roots)]


def _submissions(run_dir: Path) -> list[dict[str, object]]:
    path = run_dir / "submissions.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def queued_job_ids() -> frozenset[str]:
    """Job ids (array job ids included) of this user's queued jobs; empty without Slurm."""
    from bpgen.ops.slurm import cluster

    if not cluster.slurm_available():
        return frozenset()
    return frozenset(i for job in cluster.queued_jobs() for i in (job.array_job_id, job.job_id.split("_")[0]))


def remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    else:
        shutil.rmtree(path)  # does not follow symlinks inside the tree


def human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./00-clean", description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", help="only this run (name under BPGEN_DATA_ROOT, or its directory)")
    parser.add_argument("--older-than", type=float, default=7.0, metavar="DAYS", help="age of what is removed (7)")
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed and the space freed")
    parser.add_argument("--all", action="store_true", help="remove whole runs: DONE shards and datasets too")
    parser.add_argument("--yes", action="store_true", help="with --all: do not ask for confirmation")
    args = parser.parse_args(argv)
    try:
        site = load_site_config()
    except UserError as exc:
        return report(exc)
    data_root = site.data_root.resolve()
    run = None
    if args.run:
        candidate = Path(args.run) if Path(args.run).is_dir() else data_root / args.run
        if not (candidate / "shards").is_dir() or candidate.is_symlink():
            print(f"error: {args.run} is not a run under {data_root}; give a run name or directory", file=sys.stderr)
            return 2
        run = candidate.resolve()
        if data_root not in run.parents:
            print(f"error: {run} is outside BPGEN_DATA_ROOT={data_root}; give a run inside it", file=sys.stderr)
            return 2
    try:
        queued = queued_job_ids()
    except RuntimeError as exc:
        print(
            f"error: cannot read the queue ({exc}); 00-clean will not guess which files jobs still need",
            file=sys.stderr,
        )
        return 2
    removals = plan_removals(data_root, site.scratch, run, args.older_than, args.all, time.time(), queued)
    total = sum(r.size for r in removals)
    for removal in removals:
        verb = "would remove" if args.dry_run else "remove"
        print(f"{verb} {removal.path}  ({removal.reason}, {human(removal.size)})")
    print(f"{len(removals)} path(s), {human(total)}" + (" would be freed (dry run)" if args.dry_run else ""))
    if args.dry_run or not removals:
        return 0
    if args.all and not args.yes:
        if not sys.stdin.isatty():
            print("error: --all removes DONE shards and datasets; confirm with --yes (no terminal)", file=sys.stderr)
            return 2
        answer = input(f"remove {len(removals)} whole run(s), {human(total)}, including DONE shards? type 'yes': ")
        if answer.strip() != "yes":
            print("nothing removed")
            return 1
    for removal in removals:
        remove(removal.path)
    print(f"freed {human(total)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
