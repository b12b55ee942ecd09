"""``./2-submit``: render a run's shards as Slurm array jobs (submitit), or on this machine without Slurm.

  ./2-submit --shards N [--images-per-shard M] [--run NAME] [--then merge|train] [overrides...]
  ./2-submit --status RUN

The render config is composed once and frozen into RUN/config.yaml; every task renders it. Re-running the
same command submits only the shards that are neither DONE nor queued. Exit status: 0 submitted (or, locally,
all shards DONE), 2 refused before anything was submitted (one ``error:`` line naming the fix), 1 failure.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from bpgen.atomic import unwritable_reason
from bpgen.errors import UserError, report
from bpgen.hostinfo import usable_cpus
from bpgen.ops.local import LocalRunBusy, default_workers, local_lock, run_local, running_locally
from bpgen.ops.slurm import cluster
from bpgen.ops.slurm.arrays import ArrayChunk, plan_arrays
from bpgen.ops.slurm.params import (
    afterok,
    container_runtime,
    job_name,
    render_array_parameters,
    resource_options,
    sbatch_text,
    stage_job_argv,
    stage_script,
    task_python,
)
from bpgen.ops.status import collect_status, format_status, queued_shards, show_status, wait_for_run
from bpgen.progress import compact_ranges, log
from bpgen.render.config import RenderConfig, compose_render_config, config_text
from bpgen.run import layout
from bpgen.run.directory import Run, RunError, RunSpec, check_run_name
from bpgen.run.site import SiteConfig, load_site_config

DEFAULT_IMAGES_PER_SHARD = 100
STAGES_AFTER = {"merge": ("merge",), "train": ("merge", "train")}


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}; see ./2-submit --help\n")


def _count(flag: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} must be a positive integer, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{flag} must be a positive integer, got {text!r}")
        return value

    return parse


@dataclass(frozen=True)
class SubmitOptions:
    """The command line of a submission, parsed and checked."""

    run: str
    shards: int
    images_per_shard: int
    overrides: tuple[str, ...]
    then: str | None
    local: bool
    workers: int | None
    force_new_config: bool
    force: bool
    hold: bool
    wait: bool
    dry_run: bool

    @property
    def stages(self) -> tuple[str, ...]:
        """The jobs that follow the shards (``--then``): merge, and train after it."""
        return STAGES_AFTER.get(self.then or "", ())


@dataclass(frozen=True)
class StatusRequest:
    """``--status RUN``: show a run's shard table (RUN is a name or a path)."""

    run: str


def parse_args(argv: list[str] | None = None) -> SubmitOptions | StatusRequest:
    parser = _OneLineParser(
        prog="./2-submit",
        description="Render a run of N shards: one Slurm array job (split at MaxArraySize), or locally without "
        "Slurm. Resources come from environment.sh; overrides use Hydra syntax on configs/render.yaml.",
        epilog="Re-running the same command submits only shards that are not DONE and not queued. "
        "Example: ./2-submit --shards 64 --images-per-shard 200 --run acro mode=occlusion --then merge",
    )
    parser.add_argument("--shards", type=_count("--shards"), help="number of shards in the run")
    parser.add_argument(
        "--images-per-shard",
        type=_count("--images-per-shard"),
        default=DEFAULT_IMAGES_PER_SHARD,
        help=f"images per shard (default {DEFAULT_IMAGES_PER_SHARD})",
    )
    parser.add_argument("--run", default="default", help="run name: RUN = BPGEN_DATA_ROOT/NAME (default: default)")
    parser.add_argument("--then", choices=("merge", "train"), help="also submit merge (and train) after the shards")
    parser.add_argument("--local", action="store_true", help="render on this machine even where sbatch exists")
    parser.add_argument("--workers", type=_count("--workers"), help="local render processes (default: cores/CPUS)")
    parser.add_argument("--force-new-config", action="store_true", help="start the run over with a new config")
    parser.add_argument("--force", action="store_true", help="submit more shards than the cluster's MaxJobCount")
    parser.add_argument("--hold", action="store_true", help="submit held (release with scontrol release JOBID)")
    parser.add_argument("--wait", action="store_true", help="wait until the run's jobs have left the queue")
    parser.add_argument("--dry-run", action="store_true", help="show what would be submitted; write nothing")
    parser.add_argument("--status", metavar="RUN", help="show the shard table of a run (name or path) and exit")
    parser.add_argument("overrides", nargs="*", help="render config overrides, e.g. mode=occlusion samples=32")
    args = parser.parse_args(argv)
    if args.status is None and args.shards is None:
        parser.error("--shards is required (or --status RUN)")
    if args.images_per_shard > layout.MAX_IMAGES_PER_SHARD:
        parser.error(
            f"--images-per-shard {args.images_per_shard} is more than a shard can name "
            f"({layout.MAX_IMAGES_PER_SHARD:,}: 6-digit image names); use more --shards"
        )
    if args.shards is not None and args.shards > layout.MAX_SHARDS:
        parser.error(f"--shards {args.shards} is more than a run can name ({layout.MAX_SHARDS}: 6-digit shard ids)")
    if args.status is not None:
        return StatusRequest(args.status)
    return SubmitOptions(
        run=args.run,
        shards=args.shards,
        images_per_shard=args.images_per_shard,
        overrides=tuple(args.overrides),
        then=args.then,
        local=args.local,
        workers=args.workers,
        force_new_config=args.force_new_config,
        force=args.force,
        hold=args.hold,
        wait=args.wait,
        dry_run=args.dry_run,
    )


@dataclass
class Plan:
    """What this invocation will do, decided before anything is written or submitted."""

    run: Run
    spec: RunSpec
    state: str  # new / same / changed
    done: set[int]
    queued: dict[int, cluster.QueuedJob]
    to_submit: list[int]
    local: bool


def check_device(config: RenderConfig, site: SiteConfig, local: bool) -> None:
    if not local and config.device in ("cuda", "optix") and site.render.gpus == 0:
        raise RunError(
            f"device={config.device} needs a GPU but BPGEN_RENDER_GPUS=0; set BPGEN_RENDER_GPUS in environment.sh "
            "or use device=auto"
        )


def make_plan(site: SiteConfig, options: SubmitOptions, locks: contextlib.ExitStack) -> Plan:
    """Decide what to submit. Unless it is a dry run, the run's submission lock is entered into ``locks`` before
    the queue is read, so a concurrent 2-submit of the same run plans after this one has recorded its jobs."""
    name = check_run_name(options.run)
    config, resolved = compose_render_config(options.overrides, assets_dir=site.assets_dir)  # freezes the library
    local = options.local or not cluster.slurm_available()
    check_device(config, site, local)
    text = config_text(resolved, options.images_per_shard)
    spec = RunSpec(name, options.shards, options.images_per_shard, options.overrides, text)
    run = Run.named(name, site.data_root)
    problem = unwritable_reason(run.path)
    if problem:
        raise RunError(f"run directory {run.path} cannot be written ({problem}); set BPGEN_DATA_ROOT to a writable dir")
    if not options.dry_run:
        locks.enter_context(run.submission_lock())
    state = run.check_request(spec, options.force_new_config)
    submissions = run.submissions() if state != "new" else []
    jobs = read_queue(run, submissions, local)
    queued = queued_shards(submissions, jobs, job_name("render", name))
    if state == "changed" and (queued or (run.exists() and running_locally(run))):
        raise RunError(f"run {name} still has shards queued or rendering; scancel them before --force-new-config")
    if run.exists() and running_locally(run):
        raise LocalRunBusy(f"run {name} is already rendering on this machine; wait for it or use another --run")
    done = run.done_shards(spec.shards) if state == "same" else set()
    to_submit = [k for k in range(spec.shards) if k not in done and k not in queued]
    return Plan(run, spec, state, done, queued, to_submit, local)


def read_queue(run: Run, submissions: list[dict[str, Any]], local: bool) -> list[cluster.QueuedJob]:
    """The queue, where it matters: always for a Slurm submission; for a local run only when the run has Slurm
    render submissions whose tasks may still render its shards (a local run must not race them)."""
    if not cluster.slurm_available():
        return []
    has_slurm_tasks = any(s.get("kind") == "render" for s in submissions)
    if local and not has_slurm_tasks:
        return []
    try:
        return cluster.queued_jobs()
    except cluster.SlurmError as exc:
        if not local:
            raise
        raise RunError(
            f"run {run.name} has Slurm submissions whose tasks may still render its shards, and the queue cannot "
            f"be read ({exc}); retry when slurmctld answers"
        ) from None


def describe_plan(plan: Plan) -> str:
    spec = plan.spec
    head = f"run {spec.name} ({plan.run.path}): {spec.shards} shards x {spec.images_per_shard} images"
    if plan.state == "new":
        return f"{head}, new"
    if plan.state == "changed":
        return f"{head}: config changed (--force-new-config), starting over"
    parts = [f"{len(plan.done)} DONE"]
    if plan.queued:
        parts.append(f"{len(plan.queued)} queued ({compact_ranges(plan.queued)}, not submitted again)")
    if plan.to_submit:
        parts.append(f"submitting {len(plan.to_submit)} not DONE: {compact_ranges(plan.to_submit)}")
    return f"{head}: " + ", ".join(parts)


def check_container(site: SiteConfig) -> None:
    if site.render_image is not None and not site.render_image.is_file():
        raise RunError(
            f"BPGEN_RENDER_IMAGE={site.render_image} does not exist; build it with ./1-build render or empty it"
        )


def submit_slurm(site: SiteConfig, plan: Plan, options: SubmitOptions, release_submission: Callable[[], None]) -> int:
    run = plan.run
    limits = cluster.job_limits()
    if len(plan.to_submit) > limits.max_job_count and not options.force:
        raise RunError(
            f"{len(plan.to_submit)} shards would be {len(plan.to_submit)} jobs in the queue, more than the "
            f"cluster's MaxJobCount={limits.max_job_count} (scontrol show config): sbatch starts refusing and the "
            "controller slows for everyone; submit fewer --shards now and grow the run later with the same "
            "command, or add --force"
        )
    chunks = plan_arrays(plan.to_submit, limits.max_array_size, site.array_throttle)
    stages = options.stages
    python = task_python(site, container_runtime())
    if options.dry_run:
        return print_dry_run(site, plan, chunks, stages, python)
    if chunks:
        check_container(site)
        cluster.test_submit(resource_options(site.render), "render")
    for stage in stages:
        cluster.test_submit(resource_options(site.merge if stage == "merge" else site.train), stage)
    if plan.state == "changed":
        log(f"set the old shards aside in {run.supersede()}")
    created_dir = not run.path.exists()
    run.freeze(plan.spec, site.values)
    print(describe_plan(plan))
    waiting_on: list[str] = [job.job_id for job in plan.queued.values()]
    submitted: list[str] = []
    for chunk in chunks:
        try:
            job_id = submit_chunk(site, plan, chunk, python, options.hold)
        except cluster.SlurmError as exc:
            if not submitted:
                if plan.state == "new":
                    run.undo_freeze(created_dir)
                raise
            failed = compact_ranges(chunk.shards)
            print(f"error: submitting shards {failed} failed ({exc}); rerun to submit the rest", file=sys.stderr)
            return 1
        submitted.append(job_id)
        spec = f"array {job_id}, tasks 0-{len(chunk.shards) - 1}" if len(chunk.shards) > 1 else f"job {job_id}"
        print(f"  {spec}: shards {compact_ranges(chunk.shards)} (at most {chunk.throttle} at once)")
    if not chunks:
        print("  nothing to submit: every shard is DONE or queued")
    dependency = afterok(submitted + waiting_on)
    try:
        for stage in stages:
            argv = stage_job_argv(stage, site, run.name, run.path, run.logs_dir, dependency)
            if options.hold:
                argv.insert(0, "--hold")
            run.logs_dir.mkdir(exist_ok=True)
            job_id = cluster.sbatch(argv)
            run.record_submission({"kind": stage, "job_id": job_id, "dependency": dependency})
            print(f"  {stage} job {job_id}" + (f" after {dependency}" if dependency else ""))
            dependency = afterok([job_id])
        stem = None if not submitted else f"{submitted[0]}_0" if len(chunks[0].shards) > 1 else submitted[0]
        print_next_steps(run, plan.spec, stem, stages)
        release_submission()
        return wait_for_run(run) if options.wait else 0
    except cluster.SlurmError as exc:  # the shards are submitted: not a refusal (2) but a partial failure
        print(f"error: {exc}; the render arrays {', '.join(submitted) or '(none)'} are submitted", file=sys.stderr)
        return 1


def submit_chunk(site: SiteConfig, plan: Plan, chunk: ArrayChunk, python: str, hold: bool) -> str:
    import submitit

    from bpgen.ops.task import RenderShardTask

    executor = submitit.SlurmExecutor(folder=plan.run.slurm_dir, python=python)
    parameters = render_array_parameters(site, plan.run.name, chunk)
    if hold:
        parameters["additional_parameters"]["hold"] = True
    executor.update_parameters(**parameters)
    run_dir, images, gpus, scratch = str(plan.run.path), plan.spec.images_per_shard, site.render.gpus, str(site.scratch)
    try:
        with executor.batch():
            jobs = [executor.submit(RenderShardTask(run_dir, k, images, gpus, scratch)) for k in chunk.shards]
    except Exception as exc:  # submitit raises its own error types around sbatch's message
        message = " ".join(str(exc).split())
        raise cluster.SlurmError(f"sbatch failed: {message}") from None
    job_id = jobs[0].job_id.split("_")[0]
    plan.run.record_submission(
        {"kind": "render", "job_id": job_id, "array": len(chunk.shards) > 1, "shards": list(chunk.shards)}
    )
    return job_id


def print_dry_run(site: SiteConfig, plan: Plan, chunks: list[ArrayChunk], stages: tuple[str, ...], python: str) -> int:
    print(describe_plan(plan) + " (dry run: nothing written or submitted)")
    for chunk in chunks:
        print(f"\n# shards {compact_ranges(chunk.shards)}: task i renders shard number i of this list")
        print(sbatch_text(site, plan.run.name, chunk, python, plan.run.slurm_dir))
    dependency = "afterok:<render arrays>" if chunks else ""
    for stage in stages:
        argv = stage_job_argv(stage, site, plan.run.name, plan.run.path, plan.run.logs_dir, dependency)
        print("sbatch --parsable " + " ".join(argv))
        dependency = f"afterok:<{stage} job>"
    return 0


def print_next_steps(run: Run, spec: RunSpec, log_stem: str | None, stages: tuple[str, ...]) -> None:
    """``log_stem``: the first submitted task's (``<array>_0``, or ``<job>`` for a one-shard job), if any."""
    if log_stem:
        pattern = layout.task_log(run.slurm_dir, "<array job>_<task>")
        print(f"logs: {pattern} (e.g. {layout.task_log(run.slurm_dir, log_stem)}); merge/train: {run.logs_dir}")
    print("next:")
    print(f"  ./2-submit --status {spec.name}        shard table and ETA")
    print(f"  ./2-submit --shards {spec.shards} --run {spec.name} ...   (the same command) resubmits unfinished shards")
    if "merge" not in stages:
        print(f"  sbatch jobs/merge.sbatch {run.path}   once all shards are DONE")


def run_locally(site: SiteConfig, plan: Plan, options: SubmitOptions, release_submission: Callable[[], None]) -> int:
    run, spec = plan.run, plan.spec
    stages = options.stages
    workers = options.workers or default_workers(usable_cpus(), site.render.cpus)
    if options.dry_run:
        print(describe_plan(plan) + " (dry run: nothing written)")
        print(f"would render shards {compact_ranges(plan.to_submit) or '(none)'} locally with {workers} process(es)")
        return 0
    if plan.state == "changed":
        log(f"set the old shards aside in {run.supersede()}")
    run.freeze(spec, site.values)
    print(describe_plan(plan) + (" (--local)" if options.local else " (no sbatch on this machine: rendering locally)"))
    with local_lock(run):
        failed: list[int] = []
        if plan.to_submit:
            run.record_submission({"kind": "local", "shards": plan.to_submit})
        release_submission()  # the local lock now keeps other submissions of this run out
        if plan.to_submit:
            failed = run_local(run, plan.to_submit, spec.images_per_shard, workers, scratch=str(site.scratch))
    print(format_status(collect_status(run, [], local=False), merging_next=bool(stages)))
    if failed:
        print(f"error: shards {compact_ranges(failed)} failed; rerun the same command to resume them", file=sys.stderr)
        return 1
    for stage in stages:
        script = stage_script(site, stage)
        log(f"running {stage}: bash {script} {run.path}")
        status = subprocess.run(["bash", str(script), str(run.path)], check=False).returncode
        if status != 0:
            print(f"error: {stage} failed (exit {status})", file=sys.stderr)
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    request = parse_args(argv)
    try:
        site = load_site_config()
        if isinstance(request, StatusRequest):
            return show_status(site, request.run)
        with contextlib.ExitStack() as locks:
            plan = make_plan(site, request, locks)
            if plan.local:
                return run_locally(site, plan, request, release_submission=locks.close)
            return submit_slurm(site, plan, request, release_submission=locks.close)
    except UserError as exc:
        return report(exc)
    except KeyboardInterrupt:
        print("interrupted: unfinished shards resume when you rerun the same command", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
