"""``./00-clean [RUN] [--older-than DAYS] [--dry-run] [--all [--yes]]``: remove what is safe to remove.

Safe (older than DAYS, default 7): Blender temp dirs in BPGEN_SCRATCH (bpgen_bproc_*), incomplete shard temp
dirs (shards/.shard_*.tmp), leftovers of interrupted merges (.dataset.tmp, .dataset.old), submitit pickles,
sbatch scripts and task logs (slurm/), merge/train/local logs (logs/). Never DONE shards, merged datasets, the
run's config or superseded shards, unless ``--all``, which removes whole runs after a typed confirmation (or
``--yes``). Symlinks are removed as links, never followed; nothing outside the data root and scratch is touched.
Without the queue (slurmctld unreachable) it removes nothing; ``--dry-run`` still lists, marking what a queued job
might need.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bpgen.errors import UserError, report
from bpgen.run import layout
from bpgen.run.directory import Run, RunError
from bpgen.run.locks import lock_held
from bpgen.run.site import load_site_config

DAY = 86400.0
QUEUE_UNKNOWN = "unless a queued job still needs it: queue unknown"


@dataclass(frozen=True)
class Removal:
    path: Path
    reason: str
    size: int
    queue_unknown: bool = False  # kept if a queued job needs it, but the queue could not be read


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
    return sorted(p for p in data_root.iterdir() if p.is_dir() and not p.is_symlink() and layout.shards_dir(p).is_dir())


def plan_removals(
    data_root: Path,
    scratch: Path,
    run: Path | None,
    older_than_days: float,
    everything: bool,
    now: float,
    queued_job_ids: frozenset[str] | None = frozenset(),
) -> list[Removal]:
    """What 00-clean would remove (pure apart from reading the tree). Runs that a local render or a merge is
    working on keep their temp dirs; files of jobs still in the queue (``queued_job_ids``) are kept. With
    ``queued_job_ids=None`` (queue unknown) the queue is taken as empty and what a queued job could still need
    is marked ``queue_unknown``."""
    unknown = queued_job_ids is None
    queued = queued_job_ids or frozenset()
    roots = [data_root.resolve()] + ([scratch.resolve()] if scratch.is_dir() else [])
    found: list[tuple[Path, str, bool]] = []
    if scratch.is_dir():
        temps = scratch.glob(f"{layout.SCRATCH_PREFIX}*")
        found += [(p, "Blender temp dir", False) for p in temps if _age_days(p, now) >= older_than_days]
    for run_dir in _runs(data_root, run):
        this = Run(run_dir)
        busy = lock_held(this.local_lock_path) or lock_held(this.merge_lock_path)
        submissions = this.submissions()
        if everything:  # never a run whose render, merge or train jobs are still queued
            jobs = {str(s.get("job_id")) for s in submissions if s.get("job_id")}
            if not busy and not jobs & queued:
                found.append((run_dir, "whole run (--all)", unknown and bool(jobs)))
            continue
        render_jobs = {str(s.get("job_id")) for s in submissions if s.get("kind") == "render"}
        if not busy and not render_jobs & queued:  # a queued task may resume its shard's temp dir
            found += [
                (p, "incomplete shard temp dir", unknown and bool(render_jobs))
                for p in layout.temp_dirs(run_dir)
                if _age_days(p, now) >= older_than_days
            ]
        if not busy:
            merges = [layout.dataset_temp_dir(run_dir)]
            if this.dataset_dir.exists():  # else .dataset.old is the only copy; the next merge puts it back
                merges.append(layout.dataset_old_dir(run_dir))
            found += [(p, "interrupted merge", False) for p in merges if p.exists()]
        for directory, reason in ((this.slurm_dir, "submitit pickle/script/log"), (this.logs_dir, "job log")):
            if directory.is_dir() and not directory.is_symlink():
                for p in sorted(directory.iterdir()):
                    job = layout.job_of_file(p.name)  # pickles a pending task still needs, a queued job's log
                    if (p.is_file() or p.is_symlink()) and job not in queued and _age_days(p, now) >= older_than_days:
                        found.append((p, reason, unknown and job is not None))
    return [Removal(p, reason, tree_size(p), doubt) for p, reason, doubt in found if _inside(p, roots)]


def queued_job_ids() -> frozenset[str]:
    """Job ids (array job ids included) of this user's queued jobs; empty without Slurm. SlurmError when Slurm
    is installed but the queue cannot be read (slurmctld unreachable)."""
    from bpgen.ops.slurm import cluster

    if not cluster.slurm_available():
        return frozenset()
    return frozenset(i for job in cluster.queued_jobs() for i in (job.array_job_id, job.job_id.split("_")[0]))


def given_run(name_or_path: str, data_root: Path) -> Path:
    """The run the command line names (``Run.find``), refused unless it lies inside the data root and is not
    reached through a symlink: 00-clean deletes only under BPGEN_DATA_ROOT."""
    run = Run.find(name_or_path, data_root).path
    given = next(p for p in (Path(name_or_path), data_root / name_or_path) if p.exists() and p.resolve() == run)
    if given.is_symlink():
        raise RunError(f"{given} is a symlink; give the run directory itself (00-clean never follows links)")
    if data_root not in run.parents:
        raise RunError(f"{run} is outside BPGEN_DATA_ROOT={data_root}; give a run inside it")
    return run


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
    try:
        run = given_run(args.run, data_root) if args.run else None
    except RunError as exc:
        return report(exc)
    queued: frozenset[str] | None
    try:
        queued = queued_job_ids()
    except UserError as exc:  # SlurmError: sbatch is installed but slurmctld does not answer
        if not args.dry_run:
            print(
                f"error: cannot read the queue ({exc}); 00-clean will not guess which files jobs still need "
                "(./00-clean --dry-run lists them)",
                file=sys.stderr,
            )
            return 2
        print(f"warning: cannot read the queue ({exc}); listing as if it were empty", file=sys.stderr)
        queued = None
    removals = plan_removals(data_root, site.scratch, run, args.older_than, args.all, time.time(), queued)
    total = sum(r.size for r in removals)
    for removal in removals:
        verb = "would remove" if args.dry_run else "remove"
        doubt = f"; {QUEUE_UNKNOWN}" if removal.queue_unknown else ""
        print(f"{verb} {removal.path}  ({removal.reason}, {human(removal.size)}{doubt})")
    doubtful = sum(r.queue_unknown for r in removals)
    note = f"; {doubtful} kept if a queued job needs them: queue unknown" if doubtful else ""
    print(f"{len(removals)} path(s), {human(total)}" + (f" would be freed (dry run{note})" if args.dry_run else ""))
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
