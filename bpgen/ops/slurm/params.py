"""sbatch parameters derived from the site configuration (pure: golden-file tested).

``render_array_parameters`` feeds submitit's SlurmExecutor for the render arrays and ``sbatch_text`` shows the
script submitit writes from them; ``stage_job_argv`` builds the sbatch command line of jobs/merge.sbatch and
jobs/train.sbatch; ``task_python`` is the interpreter command each array task starts (the venv's python, or
python inside the render image through apptainer).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bpgen.ops.containers import find_runtime
from bpgen.ops.slurm.arrays import ArrayChunk
from bpgen.progress import compact_ranges
from bpgen.run.layout import stage_log_pattern
from bpgen.run.site import SiteConfig, StageResources

SIGNAL_DELAY_S = 120  # USR2 this long before the time limit: the task requeues itself; the shard resumes


def job_name(stage: str, run_name: str) -> str:
    return f"bpgen-{stage}-{run_name}"


def resource_options(resources: StageResources) -> list[str]:
    """sbatch options for a stage's resources; empty partition/account/qos are left to the cluster."""
    options = [f"--{key}={value}" for key, value in _named(resources).items() if value]
    options += [f"--time={resources.time}", f"--cpus-per-task={resources.cpus}", f"--mem={resources.mem}"]
    if resources.nodes > 1:
        options += [f"--nodes={resources.nodes}", "--ntasks-per-node=1"]
    if resources.gpus:
        options.append(f"--gres=gpu:{resources.gpus}")
    return options


def _named(resources: StageResources) -> dict[str, str]:
    return {"partition": resources.partition, "account": resources.account, "qos": resources.qos}


def render_array_parameters(site: SiteConfig, run_name: str, chunk: ArrayChunk) -> dict[str, Any]:
    """submitit SlurmExecutor parameters for one render array (map_count is set by submitit itself)."""
    resources = site.render
    parameters: dict[str, Any] = {key: value for key, value in _named(resources).items() if value}
    shards = compact_ranges(chunk.shards)
    parameters.update(
        job_name=job_name("render", run_name),
        comment=f"bpgen run {run_name}: shards {shards}, task i renders the i-th"[:250],  # squeue -o %k
        time=resources.time_minutes,
        cpus_per_task=resources.cpus,
        mem=resources.mem,
        array_parallelism=chunk.throttle,
        signal_delay_s=SIGNAL_DELAY_S,
        stderr_to_stdout=True,  # one log per task: <array job>_<task>_0_log.out
        # srun in Slurm 22.05 no longer inherits --cpus-per-task from the allocation: pass it on
        srun_args=[f"--cpus-per-task={resources.cpus}"],
        additional_parameters={"requeue": True},
        wckey=None,  # no --wckey line: sites that enforce wckeys reject unknown ones
    )
    if resources.gpus:
        parameters["gres"] = f"gpu:{resources.gpus}"
    return parameters


def sbatch_text(site: SiteConfig, run_name: str, chunk: ArrayChunk, python: str, slurm_dir: Path | str) -> str:
    """The sbatch script submitit writes for one render array (``2-submit --dry-run`` prints it), with
    ``python`` starting each task and ``slurm_dir`` submitit's folder."""
    from submitit.slurm.slurm import _make_sbatch_string  # submitit's own writer (private: its one caller)

    return _make_sbatch_string(
        command=f"{python} -u -m submitit.core._submit {slurm_dir}",
        folder=slurm_dir,
        map_count=len(chunk.shards) if len(chunk.shards) > 1 else None,
        **render_array_parameters(site, run_name, chunk),
    )


def container_runtime(available: Sequence[str] | None = None) -> str:
    """The runtime array tasks start: ``find_runtime``'s choice among ``available`` (default: on PATH), and
    apptainer when this (login) node has neither."""
    return find_runtime(available) or "apptainer"


def task_python(site: SiteConfig, runtime: str = "apptainer") -> str:
    """Shell command that starts Python for each array task."""
    if site.render_image is None:
        return shlex.quote(str(site.venv_python))
    mounts = (site.data_root, site.scratch, *([site.assets_dir] if site.assets_dir else []))
    binds = ",".join(str(p.resolve()) for p in mounts)  # the run paths (and world.assets_dir) are resolved too
    gpu = ["--nv"] if site.render.gpus else []
    argv = [runtime, "exec", *gpu, "--bind", binds, str(site.render_image), "python3"]
    return " ".join(shlex.quote(a) for a in argv)


def afterok(job_ids: Sequence[str]) -> str:
    """``afterok:`` on whole arrays ("123") and single array tasks ("120_7"); empty when nothing to wait for."""
    return "afterok:" + ":".join(job_ids) if job_ids else ""


def stage_job_argv(
    stage: str,
    site: SiteConfig,
    run_name: str,
    run_dir: Path,
    log_dir: Path,
    dependency: str,
) -> list[str]:
    """sbatch arguments (after ``sbatch --parsable``) that submit jobs/<stage>.sbatch for a run."""
    resources = site.merge if stage == "merge" else site.train
    argv = [f"--job-name={job_name(stage, run_name)}", f"--output={stage_log_pattern(log_dir, stage)}"]
    argv += ["--open-mode=append", *resource_options(resources)]
    if dependency:
        argv += [f"--dependency={dependency}", "--kill-on-invalid-dep=yes"]
    argv.append(f"--export=ALL,BPGEN_RUN={run_dir},BPGEN_HOME={site.project_dir}")
    argv += [str(stage_script(site, stage)), str(run_dir)]
    return argv


def stage_script(site: SiteConfig, stage: str) -> Path:
    """jobs/<stage>.sbatch of the project: the merge or train job (run with bash where there is no Slurm)."""
    return site.project_dir / "jobs" / f"{stage}.sbatch"
