"""Who rendered a shard: host, CPU, GPU, OS, Slurm job, package versions."""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
from importlib import metadata

import bpgen


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
