"""Build RUN/dataset/ from a run's DONE shards: checks, a pool of shard workers, streamed COCO files, stats.

Memory stays bounded by one shard per worker: shards write JSON fragments that are concatenated in shard order,
statistics are fixed-bin histograms. Everything is built in RUN/.dataset.tmp/ and swapped into place at the end,
so a failed or interrupted merge leaves the previous dataset (if any) untouched; a second merge of the same run
at the same time is refused (lock file). The same inputs give byte-identical files.

A merge killed at any point, SIGKILL included, leaves the previous dataset whole and nothing that blocks the
next merge: the pool's workers die with the merge (``bpgen.run.procs``) and never hold its lock
(``bpgen.run.locks``); the next merge repairs or removes what the killed one left (``recover_interrupted``).
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import yaml

from bpgen.atomic import atomic_write_image, atomic_write_json, install_directory, recover_directory
from bpgen.compose import resolved_yaml
from bpgen.errors import UserError
from bpgen.hostinfo import usable_cpus
from bpgen.merge.coco_writer import SplitStream, finish_coco, open_streams
from bpgen.merge.config import MergeConfig
from bpgen.merge.plan import parse_badlist, plan_shards, split_shards
from bpgen.merge.shard_merge import ShardError, ShardResult, ShardTask, merge_shard
from bpgen.merge.stats import DatasetStats, write_plots
from bpgen.progress import compact_ranges, log
from bpgen.run import layout
from bpgen.run.directory import Run
from bpgen.run.layout import CONFIG, DONE, SPLITS, shard_dir, shard_name
from bpgen.run.locks import exclusive_lock
from bpgen.run.procs import process_pool


class MergeError(UserError, ValueError):
    """The run cannot be merged as asked; the message names the shards and the fix."""


def merge_lock(run_dir: Path) -> contextlib.AbstractContextManager[None]:
    def busy(holder: str) -> MergeError:
        return MergeError(f"another merge of {run_dir} is running (pid {holder}); wait for it to finish")

    return exclusive_lock(Run(run_dir).merge_lock_path, busy)


def check_configs(run_dir: Path, shards: list[int]) -> str:
    """The config text all shards share (the run's frozen config when there is one); MergeError names those that
    differ."""
    reference_path = Run(run_dir).config_path
    if not reference_path.is_file():
        reference_path = shard_dir(run_dir, shards[0]) / CONFIG
    reference = reference_path.read_text()

    def text(k: int) -> str | None:
        path = shard_dir(run_dir, k) / CONFIG
        return path.read_text() if path.is_file() else None

    differing = [k for k in shards if text(k) != reference]
    if differing:
        raise MergeError(
            f"shards {compact_ranges(differing)} were rendered with another config than {reference_path} (or lack "
            f"{CONFIG}); merge them as a separate run or re-render them"
        )
    return reference


def check_body_models(manifests: dict[int, dict[str, Any]]) -> None:
    """The shards' people all come from one body model export (DONE.json ``body.model_stamp``: anny's export is
    stamped at set-up); MergeError names the shards rendered with another one. Shards without a stamp (the
    mannequin, or rendered before stamps) are not compared."""
    stamps = {k: (done.get("body") or {}).get("model_stamp") for k, done in manifests.items()}
    stamped = {k: stamp for k, stamp in stamps.items() if stamp}
    if len(set(stamped.values())) <= 1:
        return
    first = min(stamped)
    differing = [k for k, stamp in stamped.items() if stamp != stamped[first]]
    raise MergeError(
        f"shards {compact_ranges(differing)} were rendered with another body model export than shard {first} "
        f"({stamped[first]}); re-render them with the same ./0-setup, or merge them as a separate run"
    )


def read_done(run_dir: Path, shard: int) -> dict[str, Any]:
    try:
        done = orjson.loads((shard_dir(run_dir, shard) / DONE).read_bytes())
        if not all(isinstance(done["counts"][key], int) for key in ("images", "annotations")):
            raise TypeError("counts are not integers")
        return done
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise ShardError(f"{shard_name(shard)}: {DONE} is unreadable ({exc})") from None


def sample_positions(total: int, count: int) -> frozenset[int]:
    if total == 0 or count == 0:
        return frozenset()
    return frozenset(int(p) for p in np.linspace(0, total - 1, min(count, total)).round())


def _run(task: ShardTask) -> ShardResult | ShardError:
    try:
        return merge_shard(task)
    except ShardError as exc:
        return exc


@dataclass
class MergeSummary:
    dataset: Path
    images: dict[str, int]
    annotations: dict[str, int]
    skipped: list[int]
    removed: dict[str, int]


def default_workers() -> int:
    """SLURM_CPUS_PER_TASK, else the CPUs this process may run on."""
    return usable_cpus()


def merge_run(
    run_dir: Path,
    config: MergeConfig,
    resolved: dict[str, Any],
    allow_partial: bool = False,
    skip_bad: bool = False,
) -> MergeSummary:
    run_dir = run_dir.resolve()
    if not Run(run_dir).shards_dir.is_dir():
        raise MergeError(f"{run_dir} has no shards/; render it first (./2-submit --run NAME)")
    with merge_lock(run_dir):
        return _merge_locked(run_dir, config, resolved, allow_partial, skip_bad)


def _merge_locked(
    run_dir: Path, config: MergeConfig, resolved: dict[str, Any], allow_partial: bool, skip_bad: bool
) -> MergeSummary:
    recover_interrupted(run_dir)
    expected = Run(run_dir).shard_count
    done_ids = [k for k in range(expected) if layout.is_done(run_dir, k)]
    missing = [k for k in range(expected) if k not in done_ids]
    if not done_ids:
        raise MergeError(f"{run_dir} has no DONE shard yet; render first (./2-submit --status shows progress)")
    if missing and not allow_partial:
        raise MergeError(
            f"{len(missing)} of {expected} shards are not DONE ({compact_ranges(missing)}); finish them by re-running "
            "the same ./2-submit command, or merge what is there with --allow-partial"
        )
    render_config_text = check_configs(run_dir, done_ids)
    manifests: dict[int, dict[str, Any]] = {}
    skipped: list[int] = []
    for k in done_ids:
        try:
            manifests[k] = read_done(run_dir, k)
        except ShardError as exc:
            if not skip_bad:
                raise MergeError(f"{exc}; re-render that shard or pass --skip-bad") from None
            log(f"skipping {exc}")
            skipped.append(k)
    shards = sorted(manifests)
    check_body_models(manifests)
    bad = parse_badlist(config.badlist.read_text().splitlines()) if config.badlist else set()
    splits = split_shards(shards, config.val_ratio, config.split_seed)
    counts = [(k, manifests[k]["counts"]["images"], manifests[k]["counts"]["annotations"]) for k in shards]
    plans = plan_shards(counts, splits, config.bop_chunk_size)
    samples = sample_positions(sum(c[1] for c in counts), config.contact_sheet_images)

    tmp = layout.dataset_temp_dir(run_dir)
    for split in SPLITS:
        layout.dataset_images_dir(tmp, split).mkdir(parents=True)
    tasks = [
        ShardTask(
            shard_dir=shard_dir(run_dir, k),
            plan=plans[k],
            out_dir=tmp,
            image_mode=config.images,
            min_visible_area=config.min_visible_area,
            min_visible_keypoints=config.min_visible_keypoints,
            bad_frames=frozenset(frame for shard, frame in bad if shard == k),
            bop=config.bop,
            bop_chunk_size=config.bop_chunk_size,
            sample_positions=samples,
            expected_counts=(manifests[k]["counts"]["images"], manifests[k]["counts"]["annotations"]),
        )
        for k in shards
    ]
    try:
        streams = open_streams(tmp, SPLITS)
        with process_pool(1) as figures:  # draws plots and contact sheet at the end
            figures.submit(_warm_up)  # imports matplotlib while the shards are merged
            results = _run_tasks(tasks, config.workers or default_workers(), skip_bad, skipped, tmp, streams)
            summary = _write_outputs(
                run_dir, tmp, results, manifests, render_config_text, resolved, skipped, config, streams, figures
            )
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    final = Run(run_dir).dataset_dir
    install_directory(new=tmp, final=final, old=layout.dataset_old_dir(run_dir))
    summary.dataset = final
    return summary


def recover_interrupted(run_dir: Path) -> None:
    """Repair what an interrupted merge of ``run_dir`` left (under the merge lock, before building): the dataset's
    directories given to ``bpgen.atomic.recover_directory``, which says what each leftover means."""
    final = layout.dataset_dir(run_dir)
    if recover_directory(new=layout.dataset_temp_dir(run_dir), final=final, old=layout.dataset_old_dir(run_dir)):
        log(f"put back {final}, which an interrupted merge had moved aside")


def _run_tasks(
    tasks: list[ShardTask], workers: int, skip_bad: bool, skipped: list[int], tmp: Path, streams: dict[str, SplitStream]
) -> list[ShardResult]:
    """Merge the shards in a process pool; each finished shard's COCO fragments go into its split's stream at once
    (in shard order), so the COCO files are written while the other shards are still being merged."""
    results: list[ShardResult] = []
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), desc="merge", unit="shard", file=sys.stderr)
    step = max(1, len(tasks) // 20)
    with process_pool(max(1, min(workers, len(tasks)))) as pool:
        for index, (task, outcome) in enumerate(zip(tasks, pool.map(_run, tasks, chunksize=1), strict=True)):
            if isinstance(outcome, ShardError):
                if not skip_bad:
                    pool.shutdown(cancel_futures=True)
                    raise MergeError(f"{outcome}; re-render that shard or pass --skip-bad to merge without it")
                log(f"skipping {outcome}")
                skipped.append(task.plan.shard)
                _remove_shard_outputs(tmp, task)
            else:
                results.append(outcome)
                streams[outcome.split].add(layout.merge_parts_dir(tmp, outcome.split), outcome.shard)
            if bar is not None:
                bar.update(1)
            elif (index + 1) % step == 0 or index + 1 == len(tasks):
                log(f"merged {index + 1}/{len(tasks)} shards")
    if bar is not None:
        bar.close()
    if not results:
        raise MergeError(f"no shard could be merged (skipped: {compact_ranges(skipped)}); re-render them")
    reference = results[0].categories
    differing = [r.shard for r in results if r.categories != reference]
    if differing:
        raise MergeError(
            f"shards {compact_ranges(differing)} have other categories than shard {results[0].shard}; "
            "merge them as a separate run"
        )
    return results


def _remove_shard_outputs(tmp: Path, task: ShardTask) -> None:
    """A skipped shard may have failed half-way: take back what it wrote (it checks before writing, but be sure)."""
    for path in layout.shard_merge_outputs(tmp, task.plan.split, task.plan.shard):
        path.unlink()
    for index in range(task.plan.chunks):
        shutil.rmtree(layout.bop_chunk_dir(tmp, task.plan.split, task.plan.first_chunk + index), ignore_errors=True)


def _write_outputs(
    run_dir: Path,
    tmp: Path,
    merged: list[ShardResult],
    manifests: dict[int, dict[str, Any]],
    render_config_text: str,
    resolved: dict[str, Any],
    skipped: list[int],
    config: MergeConfig,
    streams: dict[str, SplitStream],
    figures: ProcessPoolExecutor,
) -> MergeSummary:
    render_config = yaml.safe_load(render_config_text)
    stats = DatasetStats()
    removed: dict[str, int] = {}
    for r in merged:
        stats.merge(r.stats)
        for key, value in r.removed.items():
            removed[key] = removed.get(key, 0) + value
    per_shard = [
        {
            "shard": r.shard,
            "split": r.split,
            "images": r.images,
            "annotations": r.annotations,
            "render_seconds": manifests[r.shard].get("seconds", {}).get("render", 0.0),
            "wall_seconds": manifests[r.shard].get("wall_seconds", 0.0),
            "render_device": manifests[r.shard].get("host", {}).get("render_device"),
        }
        for r in merged
    ]
    samples = [s for r in merged for s in r.samples]
    drawn = figures.submit(_draw_figures, stats, per_shard, samples, tmp)  # while the COCO files are closed
    images, annotations = finish_coco(streams, merged, manifests, render_config, resolved, run_dir.name)
    drawn.result()
    shutil.rmtree(tmp / layout.PARTS, ignore_errors=True)
    stats_json = {
        "run": run_dir.name,
        "counts": {
            "shards_merged": len(merged),
            "shards_skipped": sorted(skipped),
            "images_in_shards": sum(r.images_in_shard for r in merged),
            "annotations_in_shards": sum(r.annotations_in_shard for r in merged),
            "removed": dict(sorted(removed.items())),
            "images": images,
            "annotations": annotations,
        },
        "filters": {
            "min_visible_area": config.min_visible_area,
            "min_visible_keypoints": config.min_visible_keypoints,
            "badlist": str(config.badlist) if config.badlist else None,
        },
        "histograms": stats.as_dict(),
        "per_shard": per_shard,
    }
    atomic_write_json(tmp / layout.DATASET_STATS, stats_json, indent=1)
    (tmp / layout.MERGE_CONFIG).write_text(resolved_yaml(resolved))
    return MergeSummary(tmp, images, annotations, sorted(skipped), removed)


def _warm_up() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    from bpgen import preview  # noqa: F401  (cv2, pycocotools)


def _draw_figures(
    stats: DatasetStats, per_shard: list[dict[str, Any]], samples: list[dict[str, Any]], tmp: Path
) -> None:
    write_plots(stats, per_shard, tmp / layout.PLOTS)
    if samples:
        from bpgen.preview.sheet import sheet_of

        atomic_write_image(tmp / layout.CONTACT_SHEET, sheet_of(samples))
