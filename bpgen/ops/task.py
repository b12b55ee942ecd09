"""What runs for one shard on a compute node (Slurm array task) or in the local pool.

The shard renders in a child process (``python -m bpgen.render``) so Blender's teardown crash cannot fail a
finished task and a signal to the task does not depend on Blender. Under Slurm the task is a submitit
``Checkpointable``: on the time-limit or preemption signal (USR2) it requeues itself, and the requeued task
resumes the shard at its first unfinished scene. The render process ends with the task process
(``bpgen.run.procs``), also where no Slurm process tracking would end it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from submitit.helpers import Checkpointable

from bpgen.hostinfo import slurm_cpus
from bpgen.run import layout
from bpgen.run.procs import die_with_parent_preexec

GPU_VISIBILITY = ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class ShardFailed(RuntimeError):
    """The render process of a shard exited with an error."""


def render_command(run_dir: Path, shard: int, images: int, python: str = sys.executable) -> list[str]:
    """The render CLI for one shard, on the run's frozen config (never re-composed on the node)."""
    return [
        python,
        "-m",
        "bpgen.render",
        "--run-dir",
        str(run_dir),
        "--shard",
        str(shard),
        "--images",
        str(images),
        "--config",
        str(Path(run_dir) / layout.CONFIG),
    ]


def child_environment(
    environ: Mapping[str, str], gpus: int | None, threads: int | None = None, scratch: str | None = None
) -> dict[str, str]:
    """The render process's environment: only the GPUs Slurm gave the task, threads = the CPUs it was given.

    With ``gpus == 0`` every GPU is hidden (a node's GPUs belong to the jobs that asked for them); ``None`` (local
    runs) leaves GPU visibility alone. With GPUs, Slurm's own CUDA_VISIBLE_DEVICES (numbered within the task's
    cgroup) is kept as it is. ``threads`` (local pool) or SLURM_CPUS_PER_TASK also caps OpenMP/BLAS thread pools.
    ``scratch`` is where Blender's temp files go (BPGEN_SCRATCH).
    """
    env = dict(environ)
    if scratch:
        env["BPGEN_SCRATCH"] = scratch
    if gpus == 0:
        env.update({name: "" for name in GPU_VISIBILITY})
    count = threads or slurm_cpus(env)
    if count:
        env["BPGEN_RENDER_THREADS"] = str(count)
        env.update({name: str(count) for name in THREAD_VARIABLES})
    return env


def _ignore_usr2() -> None:
    # The task's parent handles USR2 (checkpoint + requeue); the renderer keeps going until Slurm stops it.
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)


def run_render(command: list[str], env: dict[str, str]) -> None:
    """Run a render process to completion (output into the task's log); ShardFailed names its exit status."""
    preexec = die_with_parent_preexec(then=_ignore_usr2)
    status = subprocess.run(command, env=env, preexec_fn=preexec, check=False).returncode
    if status != 0:
        raise ShardFailed(f"`{' '.join(command[2:7])}` exited with status {status}")


class RenderShardTask(Checkpointable):
    """One Slurm array task: render (or resume) one shard of a run."""

    def __init__(self, run_dir: str, shard: int, images: int, gpus: int, scratch: str) -> None:
        self.run_dir = run_dir
        self.shard = shard
        self.images = images
        self.gpus = gpus
        self.scratch = scratch

    def __call__(self) -> str:
        command = render_command(Path(self.run_dir), self.shard, self.images)
        run_render(command, child_environment(os.environ, self.gpus, scratch=self.scratch))
        return str(layout.shard_dir(Path(self.run_dir), self.shard))
