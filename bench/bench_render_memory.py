"""Peak memory of one render process against the shard's image count (run by hand, not in tests).

  python bench/bench_render_memory.py [overrides...] [--images 8 32 128] [--source DIR]

Renders one shard per image count, each in its own ``python -m bpgen.render`` process at tiny settings
(``resolution=[64,48] samples=4 denoiser=none`` unless overridden; ``frames_per_scene`` as configured), and reads
the process's peak RSS from ``os.wait4`` (ru_maxrss of that child alone). Prints a markdown table and the slope
(bytes of peak RSS per image, least squares over the runs), plus the bytes per image and per annotation of the
shard's coco.json and frames.jsonl. ``--source DIR`` runs the renderer of another checkout (e.g. an older commit
exported with ``git archive``) for a before/after comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TINY = ["resolution=[64,48]", "samples=4", "denoiser=none"]
MiB = 1 << 20


def render(source: Path, run_dir: Path, images: int, overrides: list[str]) -> dict[str, float]:
    command = [sys.executable, "-m", "bpgen.render", "--run-dir", str(run_dir), "--shard", "0"]
    given = {o.split("=", 1)[0] for o in overrides}
    command += ["--images", str(images), *(t for t in TINY if t.split("=", 1)[0] not in given), *overrides]
    env = dict(os.environ, PYTHONPATH=str(source))
    log = run_dir.parent / f"render_{images}.log"
    start = time.perf_counter()
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=source, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own peak RSS
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        sys.exit(f"render of {images} images failed ({process.returncode}); see {log}")
    shard = run_dir / "shards" / "shard_000000"
    done = json.loads((shard / "DONE.json").read_text())
    return {
        "images": images,
        "scenes": done["counts"]["scenes"],
        "annotations": done["counts"]["annotations"],
        "wall": wall,
        "peak": usage.ru_maxrss * 1024,
        "coco": (shard / "coco.json").stat().st_size,
        "frames": (shard / "frames.jsonl").stat().st_size,
    }


def slope(xs: list[float], ys: list[float]) -> float:
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum((x - mean_x) ** 2 for x in xs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--source", type=Path, default=ROOT, help="checkout whose bpgen renders (default: this one)")
    parser.add_argument("overrides", nargs="*", help="render config overrides, e.g. frames_per_scene=4")
    args = parser.parse_args()
    if len(args.images) < 2:
        parser.error("give at least two image counts")
    work = Path(tempfile.mkdtemp(prefix="bpgen_bench_memory_"))
    rows = []
    for images in args.images:
        row = render(args.source.resolve(), work / f"run_{images}", images, args.overrides)
        rows.append(row)
        print(f"{images} images: peak RSS {row['peak'] / MiB:.1f} MiB, {row['wall']:.0f} s", file=sys.stderr)
    print(f"source: {args.source.resolve()}; overrides: {' '.join(TINY + args.overrides)}\n")
    print("| images | scenes | annotations | wall s | peak RSS MiB | coco.json bytes | frames.jsonl bytes |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['images']} | {r['scenes']} | {r['annotations']} | {r['wall']:.0f} | {r['peak'] / MiB:.1f} "
            f"| {r['coco']:,} | {r['frames']:,} |"
        )
    xs = [float(r["images"]) for r in rows]
    per_image = slope(xs, [float(r["peak"]) for r in rows])
    last, first = rows[-1], rows[0]
    print(
        f"\npeak RSS slope: {per_image:,.0f} bytes/image (least squares); "
        f"{(last['peak'] - first['peak']) / (last['images'] - first['images']):,.0f} bytes/image "
        f"from {first['images']} to {last['images']} images"
    )
    annotations = sum(r["annotations"] for r in rows)
    images = sum(r["images"] for r in rows)
    print(
        f"on disk: coco.json {sum(r['coco'] for r in rows) / images:,.0f} bytes/image = "
        f"{sum(r['coco'] for r in rows) / max(annotations, 1):,.0f} bytes/annotation; "
        f"frames.jsonl {sum(r['frames'] for r in rows) / images:,.0f} bytes/image "
        f"({annotations / images:.2f} annotations/image)"
    )
    print(f"shards in {work}", file=sys.stderr)


if __name__ == "__main__":
    main()
