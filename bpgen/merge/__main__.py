"""``python -m bpgen.merge RUN [--allow-partial] [--skip-bad] [--check] [overrides...]``.

Merges RUN's DONE shards into RUN/dataset/ (COCO + BOP-style, stats, plots, contact sheet); ``--check`` validates
an existing RUN/dataset/ instead. RUN is a run directory or a run name under BPGEN_DATA_ROOT. Overrides use Hydra
syntax on configs/merge.yaml, e.g. ``split.val_ratio=0.2 filters.min_visible_area=64``.
Exit status: 0 done (or valid), 2 refused (one ``error:`` line naming the fix; nothing written), 1 invalid dataset.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bpgen.compose import resolved_yaml
from bpgen.errors import UserError, report
from bpgen.merge.build import MergeError, merge_run
from bpgen.merge.check import check_dataset
from bpgen.merge.config import compose_merge_config
from bpgen.progress import log
from bpgen.run.directory import Run


def resolve_run_dir(run: str) -> Path:
    from bpgen.run.site import load_site_config

    return Run.find(run, load_site_config().data_root).path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpgen.merge", description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", help="run directory or run name")
    parser.add_argument("--allow-partial", action="store_true", help="merge even when some shards are not DONE")
    parser.add_argument("--skip-bad", action="store_true", help="skip corrupt shards (named in the log)")
    parser.add_argument("--check", action="store_true", help="validate RUN/dataset/ and exit")
    parser.add_argument("--print-config", action="store_true", help="print the resolved merge config and exit")
    parser.add_argument("overrides", nargs="*", help="merge config overrides, e.g. split.val_ratio=0.2")
    args = parser.parse_args(argv)
    try:
        config, resolved = compose_merge_config(args.overrides)
        if args.print_config:
            print(resolved_yaml(resolved), end="")
            return 0
        if not args.run:
            raise MergeError("give the run to merge: python -m bpgen.merge RUN (a run directory or name)")
        run_dir = resolve_run_dir(args.run)
        if args.check:
            return check(Run(run_dir).dataset_dir)
        start = time.perf_counter()
        summary = merge_run(run_dir, config, resolved, args.allow_partial, args.skip_bad)
    except UserError as exc:
        return report(exc)
    removed = ", ".join(f"{k} {v}" for k, v in summary.removed.items() if v) or "nothing"
    log(
        f"merged {run_dir.name} in {time.perf_counter() - start:.1f}s: train {summary.images['train']} images / "
        f"{summary.annotations['train']} annotations, val {summary.images['val']} / {summary.annotations['val']}; "
        f"removed: {removed}" + (f"; skipped shards {summary.skipped}" if summary.skipped else "")
    )
    print(summary.dataset)
    return 0


def check(dataset: Path) -> int:
    if not dataset.is_dir():
        print(f"error: {dataset} does not exist; merge first: python -m bpgen.merge {dataset.parent}", file=sys.stderr)
        return 2
    problems, count, summary = check_dataset(dataset)
    for line in problems:
        print(f"problem: {line}")
    if count:
        print(f"{dataset}: INVALID, {count} problem(s)" + (" (first ones above)" if count > len(problems) else ""))
        return 1
    print(
        f"{dataset}: valid (images {summary['images']}, annotations {summary['annotations']}, "
        f"BOP chunks {summary['bop_chunks']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
