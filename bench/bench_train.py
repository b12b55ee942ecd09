"""Training throughput: iterations/s, images/s and the data loader's share of each iteration.

  python bench/bench_train.py RUN [--config-name mask_rcnn_R_50_FPN] [--batch 16] [--iters 200] [--device cuda]

Trains ``--iters`` iterations of the config on RUN/dataset (from scratch: throughput does not depend on the
initial weights; small learning rate and clipping keep it finite) into a temporary output directory and reads
Detectron2's metrics.json: ``time`` (seconds per iteration) and ``data_time`` (seconds waiting for the data
loader), median over the logged iterations after a warm-up of 20. The issue's target: batch 16 on one GPU
with data_time under 5% of the iteration time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def train_command(
    config_name: str,
    dataset: list[str],
    output_dir: Path,
    device: str,
    batch: int,
    iters: int,
    workers: int,
    weights_dir: Path,
) -> list[str]:
    """``python -m bpgen_train.train_net`` training ``iters`` iterations from scratch, without evaluation, on
    ``dataset``: ``["--run", RUN]`` (RUN/dataset) or ``["dataset=DIR"]`` (a merged dataset's directory)."""
    return [
        sys.executable, "-m", "bpgen_train.train_net", "--config-name", config_name, *dataset,
        f"output_dir={output_dir}", f"device={device}", f"solver.ims_per_batch={batch}",
        f"solver.max_iter={iters}", "solver.steps=[]", f"solver.checkpoint_period={iters * 10}",
        f"dataloader.num_workers={workers}", "test.eval_period=0", "model.weights=scratch",
        # a small rate, clipping and no warm-up keep a from-scratch model finite
        "solver.base_lr=0.0001", "solver.clip_gradients.enabled=true", "solver.warmup_iters=0",
        "opts=[TEST.EVAL_PERIOD,0,DATASETS.TEST,[]]",
        "--weights-dir", str(weights_dir),
    ]  # fmt: skip


def throughput(metrics_json: Path, batch: int, warmup: int = 20) -> dict[str, float]:
    """it/s, images/s and data_time / time from Detectron2's metrics.json: medians over the logged iterations
    after ``warmup`` (all logged ones when none is later)."""
    lines = [json.loads(x) for x in metrics_json.read_text().splitlines() if x.strip()]
    logged = [m for m in lines if "time" in m and m.get("iteration", 0) >= warmup] or [m for m in lines if "time" in m]
    seconds = statistics.median(m["time"] for m in logged)
    data = statistics.median(m["data_time"] for m in logged)
    return {
        "iterations_per_second": 1 / seconds,
        "images_per_second": batch / seconds,
        "data_time_share": data / seconds,
        "logged_windows": len(logged),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a merged run (RUN/dataset)")
    parser.add_argument("--config-name", default="mask_rcnn_R_50_FPN")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--workers", type=int, default=8, help="data loader workers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bpgen-bench-train-") as tmp:
        command = train_command(
            args.config_name, ["--run", str(args.run)], Path(tmp) / "out", args.device, args.batch, args.iters,
            args.workers, Path(tmp) / "no-weights",
        )  # fmt: skip
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        result = throughput(Path(tmp) / "out" / "metrics.json", args.batch)
    print(f"| {args.config_name}, batch {args.batch}, {args.device} | it/s | images/s | data_time share |")
    print("|---|---:|---:|---:|")
    row = f"{result['iterations_per_second']:.3f} | {result['images_per_second']:.2f} | {result['data_time_share']:.1%}"
    print(f"| median of {result['logged_windows']} logged iterations | {row} |")


if __name__ == "__main__":
    main()
