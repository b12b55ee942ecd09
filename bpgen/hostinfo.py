"""Who rendered a shard: host, CPU, GPU, OS, Slurm job, package versions."""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from importlib import metadata

import bpgen


def slurm_cpus(environ: Mapping[str, str] = os.environ) -> int | None:
    """SLURM_CPUS_PER_TASK when it is a positive integer (the CPUs Slurm gave the task), else None."""
    value = environ.get("SLURM_CPUS_PER_TASK", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def usable_cpus(environ: Mapping[str, str] = os.environ) -> int:
    """How many CPUs this process may use: the one home of that answer (render threads, merge workers, the
    local render pool). SLURM_CPUS_PER_TASK when Slurm set it, else the CPUs of this process's affinity mask."""
    return slurm_cpus(environ) or len(os.sched_getaffinity(0))


def usable_cpu_ids(environ: Mapping[str, str] = os.environ) -> list[int]:
    """The ids of the CPUs this process may use, sorted: its affinity mask, cut to SLURM_CPUS_PER_TASK when
    Slurm gave the task fewer CPUs than the mask holds (an allocation without CPU binding)."""
    ids = sorted(os.sched_getaffinity(0))
    return ids[: slurm_cpus(environ) or len(ids)]


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def gpu_names() -> list[str]:
    """GPUs visible to this process (nvidia-smi), empty when there are none."""
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def host_info() -> dict[str, object]:
    slurm = {
        k: v
        for k, v in os.environ.items()
        if k
        in (
            "SLURM_JOB_ID",
            "SLURM_ARRAY_JOB_ID",
            "SLURM_ARRAY_TASK_ID",
            "SLURM_CPUS_PER_TASK",
            "SLURM_JOB_PARTITION",
            "SLURM_NODELIST",
            "CUDA_VISIBLE_DEVICES",
        )
    }
    return {
        "hostname": socket.gethostname(),
        "cpu": cpu_model(),
        "cpus_available": len(os.sched_getaffinity(0)),
        "gpus": gpu_names(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "slurm": slurm,
    }


def package_versions() -> dict[str, str]:
    versions = {"bpgen": bpgen.__version__}
    for name in ("blenderproc", "bpy", "mannequin-x", "numpy", "pycocotools", "opencv-python-headless"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def utc_now() -> str:
    """The time as the run records write it (ISO 8601, UTC, seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
