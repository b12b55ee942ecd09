"""The cluster's own commands (scontrol, squeue, sbatch): run them, parse their output.

Never ``sacct``: clusters often run without accounting. Every failure is a ``SlurmError`` whose message
carries Slurm's own words.
"""

from __future__ import annotations

import getpass
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from bpgen.errors import UserError

SQUEUE_FORMAT = "%F|%K|%i|%T|%r|%j"
ACTIVE_STATES = frozenset({"RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED", "STAGE_OUT", "SIGNALING"})


class SlurmError(UserError, RuntimeError):
    """A Slurm command failed; the message holds its own error text."""


@dataclass(frozen=True)
class QueuedJob:
    """One line of ``squeue -r``: a job, or one task of an array job."""

    job_id: str  # "123_4" for array tasks, "123" otherwise
    array_job_id: str
    task_id: int | None
    state: str
    reason: str
    name: str

    @property
    def running(self) -> bool:
        return self.state in ACTIVE_STATES


def slurm_available() -> bool:
    return shutil.which("sbatch") is not None


def parse_scontrol_config(text: str) -> dict[str, str]:
    """``scontrol show config`` lines ``Name = value`` as a dict."""
    config = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() and " " not in name.strip():
            config[name.strip()] = value.strip()
    return config


def parse_squeue(text: str) -> list[QueuedJob]:
    """Lines printed with ``squeue -h -r -o SQUEUE_FORMAT``."""
    jobs = []
    for line in text.splitlines():
        if not line.strip():
            continue
        array_job_id, task, job_id, state, reason, name = line.split("|", 5)
        jobs.append(QueuedJob(job_id, array_job_id, int(task) if task.isdigit() else None, state, reason, name))
    return jobs


def _run(argv: Sequence[str], what: str) -> str:
    try:
        result = subprocess.run(list(argv), capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SlurmError(f"{what}: `{' '.join(argv)}` could not run ({exc}); is Slurm up?") from None
    if result.returncode != 0:
        message = " ".join(line.strip() for line in result.stderr.strip().splitlines()) or "no message"
        raise SlurmError(f"{what}: {message}")
    return result.stdout


@dataclass(frozen=True)
class JobLimits:
    """What one submission may hold: tasks per array job, and jobs (array tasks included) in the system."""

    max_array_size: int
    max_job_count: int


def job_limits() -> JobLimits:
    """MaxArraySize and MaxJobCount of ``scontrol show config`` (Slurm's defaults when not shown)."""
    config = parse_scontrol_config(_run(["scontrol", "show", "config"], "reading the cluster's configuration"))
    array, jobs = config.get("MaxArraySize", "1001"), config.get("MaxJobCount", "10000")
    return JobLimits(int(array) if array.isdigit() else 1001, int(jobs) if jobs.isdigit() else 10000)


def queued_jobs() -> list[QueuedJob]:
    """This user's jobs in the queue, array tasks one per line (pending ones expanded)."""
    text = _run(["squeue", "-h", "-r", f"--user={getpass.getuser()}", "-o", SQUEUE_FORMAT], "listing the queue")
    return parse_squeue(text)


def test_submit(options: Sequence[str], stage: str) -> None:
    """Ask sbatch whether a job with these options would be accepted (``--test-only``; nothing is queued)."""
    what = f"sbatch refused the {stage} job ({' '.join(options)}); fix BPGEN_{stage.upper()}_* in environment.sh"
    _run(["sbatch", "--test-only", *options, "--wrap", "true"], what)


def sbatch(argv: Sequence[str]) -> str:
    """Submit with ``sbatch --parsable``; returns the job id."""
    out = _run(["sbatch", "--parsable", *argv], "sbatch failed")
    return out.strip().split(";")[0]
