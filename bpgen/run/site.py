"""Site configuration: environment.sh values checked and typed (paths, per-stage Slurm resources, images).

``load_site_config()`` reads environment.sh (the environment wins over its defaults) and returns a frozen
``SiteConfig``; a missing, empty or malformed value is a ``SiteConfigError`` naming the variable and the fix.
Relative paths are relative to the project directory (where environment.sh lives), not the caller's cwd.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bpgen.errors import UserError
from bpgen.settings import ENV_FILE, read_env_file

_MEM = re.compile(r"^[1-9][0-9]*[KMGT]?$")
_TIME = re.compile(r"^(?:(?P<days>\d+)-)?(?P<a>\d+)(?::(?P<b>\d+))?(?::(?P<c>\d+))?$")


class SiteConfigError(UserError, ValueError):
    """An environment.sh value is missing or malformed; the message names the variable and the fix."""


def slurm_time_minutes(value: str) -> int:
    """Minutes in a Slurm time limit: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S (seconds round up)."""
    match = _TIME.match(value.strip())
    if not match:
        raise ValueError(f"not a Slurm time limit: {value!r}")
    days, a, b, c = (match[k] for k in ("days", "a", "b", "c"))
    if days is None:
        if b is None:  # minutes
            seconds = int(a) * 60
        elif c is None:  # minutes:seconds
            seconds = int(a) * 60 + int(b)
        else:  # hours:minutes:seconds
            seconds = int(a) * 3600 + int(b) * 60 + int(c)
    else:  # days-hours[:minutes[:seconds]]
        seconds = int(days) * 86400 + int(a) * 3600 + int(b or 0) * 60 + int(c or 0)
    if seconds <= 0:
        raise ValueError(f"time limit must be positive: {value!r}")
    return -(-seconds // 60)


@dataclass(frozen=True)
class StageResources:
    """What one task of a stage asks Slurm for; empty partition/account/qos mean the cluster's defaults."""

    partition: str
    account: str
    qos: str
    time: str
    cpus: int
    mem: str
    gpus: int
    nodes: int = 1

    @property
    def time_minutes(self) -> int:
        return slurm_time_minutes(self.time)


@dataclass(frozen=True)
class SiteConfig:
    project_dir: Path
    data_root: Path
    scratch: Path
    venv: Path
    render: StageResources
    merge: StageResources
    train: StageResources
    array_throttle: int
    render_image: Path | None
    train_image: Path | None
    weights_dir: Path
    image_dir: Path
    apptainer_cachedir: Path
    apptainer_tmpdir: Path
    assets_dir: Path | None  # asset library (HDRIs, PBR texture sets) on shared storage; None = procedural only
    values: dict[str, str]  # every environment.sh value as read, frozen with each run

    @property
    def venv_python(self) -> Path:
        return self.venv / "bin" / "python"


class _Reader:
    def __init__(self, values: dict[str, str], source: Path) -> None:
        self.values = values
        self.source = source

    def text(self, name: str, required: bool = True) -> str:
        if name not in self.values:
            raise SiteConfigError(f"{self.source} has no {name} line; add {name}=${{{name}:-...}} (see the README)")
        value = self.values[name].strip()
        if required and not value:
            raise SiteConfigError(f"{name} is empty; set it in {self.source} or export {name}=...")
        return value

    def integer(self, name: str, minimum: int) -> int:
        value = self.text(name)
        if not value.isdigit() or int(value) < minimum:
            raise SiteConfigError(f"{name}={value!r} must be an integer >= {minimum}; fix it in {self.source}")
        return int(value)

    def path(self, name: str, project_dir: Path, required: bool = True) -> Path | None:
        value = self.text(name, required)
        if not value:
            return None
        path = Path(value).expanduser()
        return path if path.is_absolute() else (project_dir / path)

    def stage(self, stage: str, gpus: bool, nodes: bool = False) -> StageResources:
        prefix = f"BPGEN_{stage.upper()}_"
        time = self.text(prefix + "TIME")
        try:
            slurm_time_minutes(time)
        except ValueError:
            raise SiteConfigError(
                f"{prefix}TIME={time!r} is not a Slurm time limit; use e.g. 04:00:00 or 1-00:00:00 in {self.source}"
            ) from None
        mem = self.text(prefix + "MEM")
        if not _MEM.match(mem):
            raise SiteConfigError(f"{prefix}MEM={mem!r} must look like 16G, 8000M or 8000; fix it in {self.source}")
        return StageResources(
            partition=self.text(prefix + "PARTITION", required=False),
            account=self.text(prefix + "ACCOUNT", required=False),
            qos=self.text(prefix + "QOS", required=False),
            time=time,
            cpus=self.integer(prefix + "CPUS", 1),
            mem=mem,
            gpus=self.integer(prefix + "GPUS", 0) if gpus else 0,
            nodes=self.integer(prefix + "NODES", 1) if nodes else 1,
        )


def load_site_config(path: Path = ENV_FILE, environ: dict[str, str] | None = None) -> SiteConfig:
    """Read and check environment.sh; relative paths resolve against the directory holding it."""
    path = Path(path).resolve()
    if not path.is_file():
        raise SiteConfigError(f"{path} not found; restore environment.sh from the repository")
    project_dir = path.parent
    values = read_env_file(path, environ)
    read = _Reader(values, path)
    data_root = read.path("BPGEN_DATA_ROOT", project_dir)
    scratch = read.path("BPGEN_SCRATCH", project_dir)
    venv = read.path("BPGEN_VENV", project_dir)
    assert data_root and scratch and venv
    return SiteConfig(
        project_dir=project_dir,
        data_root=data_root,
        scratch=scratch,
        venv=venv,
        render=read.stage("render", gpus=True),
        merge=read.stage("merge", gpus=False),
        train=read.stage("train", gpus=True, nodes=True),
        array_throttle=read.integer("BPGEN_ARRAY_THROTTLE", 1),
        render_image=read.path("BPGEN_RENDER_IMAGE", project_dir, required=False),
        train_image=read.path("BPGEN_TRAIN_IMAGE", project_dir, required=False),
        weights_dir=read.path("BPGEN_WEIGHTS_DIR", project_dir) or project_dir / "weights",
        image_dir=read.path("BPGEN_IMAGE_DIR", project_dir) or project_dir / "images",
        apptainer_cachedir=read.path("BPGEN_APPTAINER_CACHEDIR", project_dir) or Path("/tmp"),
        apptainer_tmpdir=read.path("BPGEN_APPTAINER_TMPDIR", project_dir) or Path("/tmp"),
        assets_dir=read.path("BPGEN_ASSETS_DIR", project_dir, required=False),
        values=values,
    )
