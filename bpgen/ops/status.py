"""Shard states of a run from DONE markers and the queue (never sacct), the table ``--status`` prints, and
``--wait`` (until none of the run's jobs is queued)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bpgen.ops.local import running_locally
from bpgen.ops.slurm import cluster
from bpgen.ops.slurm.cluster import QueuedJob
from bpgen.ops.slurm.params import job_name
from bpgen.progress import compact_ranges, log
from bpgen.run.directory import Run
from bpgen.run.layout import task_log
from bpgen.run.site import SiteConfig

STATES = ("done", "running", "pending", "failed", "not submitted")


def queued_shards(
    submissions: Iterable[Mapping[str, Any]], jobs: Iterable[QueuedJob], job_name: str | None = None
) -> dict[int, QueuedJob]:
    """Shard -> its queued (pending or running) array task, matching array job ids recorded at submission (and the
    run's job name, so a reused job id of another job never counts)."""
    by_array = {str(s["job_id"]): list(s["shards"]) for s in submissions if s.get("kind") == "render"}
    queued: dict[int, QueuedJob] = {}
    for job in jobs:
        task_shards = by_array.get(job.array_job_id)
        if task_shards is None or (job_name is not None and job.name != job_name):
            continue
        if job.task_id is None:  # an unexpanded array line: all its tasks are queued
            queued.update({k: job for k in task_shards if k not in queued})
        elif job.task_id < len(task_shards):
            queued[task_shards[job.task_id]] = job
    return queued


def submitted_shards(submissions: Iterable[Mapping[str, Any]]) -> set[int]:
    return {k for s in submissions if s.get("kind") in ("render", "local") for k in s["shards"]}


def last_attempt_logs(submissions: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """Shard -> ``<array job>_<task>`` (or ``<job>`` for a one-shard job) of the latest task that rendered it: the
    stem of its log file (``layout.task_log``)."""
    attempts: dict[int, str] = {}
    for s in submissions:
        if s.get("kind") == "render":
            array = s.get("array", True)
            attempts.update({k: f"{s['job_id']}_{i}" if array else str(s["job_id"]) for i, k in enumerate(s["shards"])})
    return attempts


def shard_states(
    count: int, done: set[int], queued: Mapping[int, QueuedJob], submitted: set[int], running_locally: bool = False
) -> dict[int, str]:
    states = {}
    for k in range(count):
        if k in done:
            states[k] = "done"
        elif k in queued:
            states[k] = "running" if queued[k].running else "pending"
        elif running_locally:
            states[k] = "running"
        elif k in submitted:
            states[k] = "failed"
        else:
            states[k] = "not submitted"
    return states


@dataclass
class RunStatus:
    name: str
    path: str
    images_per_shard: int
    states: dict[int, str]
    done_images: int = 0
    partial_images: int = 0
    done_wall_seconds: list[float] = field(default_factory=list)
    failed_logs: dict[int, str] = field(default_factory=dict)

    def ids(self, state: str) -> list[int]:
        return [k for k, s in self.states.items() if s == state]

    def eta_seconds(self) -> float | None:
        """Mean DONE-shard wall time x queued shards / shards running at once; None when unknown or idle."""
        queued = len(self.ids("running")) + len(self.ids("pending"))
        if not queued or not self.done_wall_seconds:
            return None
        mean = sum(self.done_wall_seconds) / len(self.done_wall_seconds)
        return mean * queued / max(1, len(self.ids("running")))


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def format_status(status: RunStatus, merging_next: bool = False) -> str:
    """The shard table; ``merging_next`` when this command merges the run itself (``--then merge``)."""
    total = len(status.states)
    shards = "shard" if total == 1 else "shards"
    lines = [f"run {status.name} ({status.path}): {total} {shards} x {status.images_per_shard} images", ""]
    lines.append(f"{'state':<14} {'shards':>6}  ids")
    for state in STATES:
        ids = status.ids(state)
        lines.append(f"{state:<14} {len(ids):>6}  {compact_ranges(ids)}".rstrip())
    lines.append("")
    images_total = total * status.images_per_shard
    lines.append(
        f"images: {status.done_images + status.partial_images} of {images_total} "
        f"({status.done_images} in done shards, {status.partial_images} in unfinished shards)"
    )
    eta = status.eta_seconds()
    if eta is not None:
        mean = sum(status.done_wall_seconds) / len(status.done_wall_seconds)
        lines.append(
            f"ETA: {format_duration(eta)} (mean shard {format_duration(mean)}, {len(status.ids('running'))} running)"
        )
    elif status.ids("running") or status.ids("pending"):
        lines.append("ETA: unknown until the first shard is DONE")
    elif len(status.ids("done")) == total:
        lines.append(
            "all shards DONE: merging next (--then merge)"
            if merging_next
            else f"all shards DONE: next, sbatch jobs/merge.sbatch {status.path}"
        )
    failed = status.ids("failed") + status.ids("not submitted")
    if failed and not (status.ids("running") or status.ids("pending")):
        lines.append("rerun the same ./2-submit command to submit the shards that are not DONE")
    for k in status.ids("failed")[:5]:
        if k in status.failed_logs:
            lines.append(f"  shard {k}: last log {status.failed_logs[k]}")
    return "\n".join(lines)


def collect_status(run: Run, jobs: list[QueuedJob], local: bool) -> RunStatus:
    manifest = run.manifest()
    count, images = int(manifest["shards"]), int(manifest["images_per_shard"])
    submissions = run.submissions()
    done = run.done_shards(count)
    queued = queued_shards(submissions, jobs, job_name("render", run.name))
    states = shard_states(count, done, queued, submitted_shards(submissions), running_locally=local)
    records = run.done_records(done)
    stems = last_attempt_logs(submissions)
    return RunStatus(
        name=run.name,
        path=str(run.path),
        images_per_shard=images,
        states=states,
        done_images=sum(int(r["counts"]["images"]) for r in records.values()),
        partial_images=sum(run.partial_images(k) for k in range(count) if k not in done),
        done_wall_seconds=[float(r["wall_seconds"]) for r in records.values() if "wall_seconds" in r],
        failed_logs={k: str(task_log(run.slurm_dir, stem)) for k, stem in stems.items()},
    )


def stage_jobs(run: Run, jobs: list[QueuedJob]) -> list[str]:
    ids = {str(s["job_id"]): s["kind"] for s in run.submissions() if s.get("kind") in ("merge", "train")}
    return [f"{ids[j.job_id]} job {j.job_id}: {j.state} ({j.reason})" for j in jobs if j.job_id in ids]


def show_status(site: SiteConfig, name: str) -> int:
    run = Run.find(name, site.data_root)
    jobs: list[QueuedJob] = []
    warning = ""
    if cluster.slurm_available():
        try:
            jobs = cluster.queued_jobs()
        except cluster.SlurmError as exc:
            warning = f"warning: queue unknown ({exc}); queued shards show as failed"
    print(format_status(collect_status(run, jobs, local=running_locally(run))))
    for line in stage_jobs(run, jobs):
        print(line)
    if warning:
        print(warning)
    return 0


def wait_for_run(run: Run, poll_seconds: float = 3.0) -> int:
    """Block until none of the run's jobs is queued; 0 when every shard is DONE."""
    ids = {str(s["job_id"]) for s in run.submissions() if "job_id" in s}
    count = run.shard_count
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=count, desc=f"run {run.name}", unit="shard", file=sys.stderr)
    last = -1
    while True:
        jobs = [j for j in cluster.queued_jobs() if j.array_job_id in ids or j.job_id in ids]
        done = len(run.done_shards(count))
        if bar is not None:
            bar.update(done - bar.n)
        elif done != last:
            log(f"run {run.name}: {done}/{count} shards DONE, {len(jobs)} job(s) queued")
        last = done
        if not jobs:
            break
        time.sleep(poll_seconds)
    if bar is not None:
        bar.close()
    print(format_status(collect_status(run, [], local=False)))
    return 0 if len(run.done_shards(count)) == count else 1
