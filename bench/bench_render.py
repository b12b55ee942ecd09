"""Render throughput: bpgen's shard renderer vs. a plain BlenderProc baseline, side by side in one run.

  python bench/bench_render.py --images 8 [--resolution 640 480] [--samples 64] [--frames-per-scene 8]

bpgen renders N images in one process (frames_per_scene cameras per scene build); the baseline
(bench/baseline_bproc.py) starts one process per image and writes with BlenderProc's COCO writer. Both use
the same scene content (planner and builder), CPU Cycles, the same samples and denoiser. Prints a
markdown table for bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--resolution", type=int, nargs=2, default=(640, 480))
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--frames-per-scene", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    overrides = [
        f"frames_per_scene={args.frames_per_scene}",
        f"resolution=[{args.resolution[0]},{args.resolution[1]}]",
        f"samples={args.samples}",
        f"device={args.device}",
        "mode=pose",
    ]
    work = Path(tempfile.mkdtemp(prefix="bpgen_bench_"))
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bpgen.render",
            "--run-dir",
            str(work / "ours"),
            "--shard",
            "0",
            "--images",
            str(args.images),
            f"frames_per_scene={args.frames_per_scene}",
            *overrides,
        ],
        cwd=ROOT,
        check=True,
    )
    ours_wall = time.perf_counter() - t0
    done = json.loads((work / "ours" / "shards" / "shard_000000" / "DONE.json").read_text())
    stages = done["seconds"]
    rows = [(f"bpgen (frames_per_scene={args.frames_per_scene})", ours_wall, stages)]
    if not args.skip_baseline:
        totals = {"startup": 0.0, "build": 0.0, "render": 0.0, "write": 0.0}
        t0 = time.perf_counter()
        for index in range(args.images):
            result = subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "bench" / "baseline_bproc.py"),
                    "--out",
                    str(work / "baseline"),
                    "--index",
                    str(index),
                    *overrides,
                ],
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            )
            match = re.search(r"BASELINE (.*)", result.stderr)
            assert match, result.stderr[-2000:]
            for part in match.group(1).split():
                key, value = part.split("=")
                totals[key] += float(value)
        base_wall = time.perf_counter() - t0
        rows.append(
            (
                "BlenderProc baseline (1 process/image)",
                base_wall,
                {
                    "scene_build": totals["startup"] + totals["build"],
                    "render": totals["render"],
                    "labels_and_writing": totals["write"],
                },
            )
        )
    n = args.images
    print(f"\n{n} images, {args.resolution[0]}x{args.resolution[1]}, {args.samples} samples, device={args.device}\n")
    print(
        "| pipeline | wall s | s/image | images/hour | scene build s | render s | labels+writing s | "
        "labels+writing / render |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, wall, s in rows:
        print(
            f"| {name} | {wall:.1f} | {wall / n:.2f} | {3600 * n / wall:.0f} | {s['scene_build']:.1f} | "
            f"{s['render']:.1f} | {s['labels_and_writing']:.2f} | {100 * s['labels_and_writing'] / s['render']:.1f}% |"
        )
    if len(rows) == 2:
        print(f"\nspeed-up (images/hour): {rows[1][1] / rows[0][1]:.2f}x")
    print(f"outputs kept in {work}")


if __name__ == "__main__":
    main()
