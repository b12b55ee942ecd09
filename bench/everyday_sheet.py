"""Contact sheets of every everyday pose template: raw images and the same images with their labels.

  .venv/bin/python bench/everyday_sheet.py [--out bench/out/everyday] [--publish] [--set body=mannequin]

Renders one shard per template of ``bpgen.poses.everyday.TEMPLATES`` (``pose=everyday`` with
``pose.everyday_templates=[<template>]``, one person, one image, no distractors; 320x240, 32 samples), then writes
OUT/everyday_raw.jpg (the images as rendered, captioned with the template) and OUT/everyday_labelled.jpg (mask
outline, box and COCO skeleton drawn by bpgen.preview). ``--publish`` copies both to bench/sheets/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MAX_SHEET_BYTES = 1_500_000


def render(out: Path, index: int, template: str, args: argparse.Namespace) -> Path:
    run = out / "runs" / "everyday"
    command = [
        sys.executable, "-m", "bpgen.render", "--run-dir", str(run), "--shard", str(index), "--images", "1",
        "pose=everyday", f"pose.everyday_templates=[{template}]", "mode.people=[1,1]", "scene.distractors=[0,0]",
        f"resolution=[{args.width},{args.height}]", f"samples={args.samples}", "frames_per_scene=1",
        f"seed={args.seed}", *args.set,
    ]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"error: rendering {template} failed:\n{result.stderr[-2000:]}")
    return run / "shards" / f"shard_{index:06d}"


def tiles(shard: Path, template: str, labelled: bool, width: int) -> np.ndarray:
    from bpgen.preview.sheet import draw_annotations

    coco = json.loads((shard / "coco.json").read_text())
    image = coco["images"][0]
    pixels = cv2.imread(str(shard / image["file_name"]))
    scale = width / image["width"]
    if labelled:
        tile = draw_annotations(pixels, coco["annotations"], scale)
    else:
        tile = cv2.resize(pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    caption = np.zeros((16, tile.shape[1], 3), np.uint8)
    cv2.putText(caption, template, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 255), 1, cv2.LINE_AA)
    return np.vstack([tile, caption])


def sheet(items: list[np.ndarray], columns: int) -> np.ndarray:
    height, width = items[0].shape[:2]
    blank = np.zeros((height, width, 3), np.uint8)
    rows = [
        np.hstack(items[i : i + columns] + [blank] * (columns - len(items[i : i + columns])))
        for i in range(0, len(items), columns)
    ]
    return np.vstack(rows)


def write_jpeg(path: Path, image: np.ndarray) -> int:
    quality = 90
    while True:
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError(f"could not encode {path}")
        if encoded.nbytes <= MAX_SHEET_BYTES or quality <= 50:
            tmp = path.with_suffix(".tmp.jpg")
            tmp.write_bytes(encoded.tobytes())
            tmp.replace(path)
            return int(encoded.nbytes)
        quality -= 10


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "everyday")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--columns", type=int, default=8)
    parser.add_argument("--tile-width", type=int, default=240)
    parser.add_argument("--only", default="", help="comma list of templates (default: all)")
    parser.add_argument("--set", action="append", default=[], help="extra render override, e.g. --set body=mannequin")
    parser.add_argument("--publish", action="store_true", help="copy the sheets to bench/sheets/")
    args = parser.parse_args(argv)
    from bpgen.poses.everyday import TEMPLATES

    chosen = [t for t in TEMPLATES if not args.only or t in args.only.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    shards = []
    started = time.perf_counter()
    for template in chosen:
        shards.append(render(args.out, TEMPLATES.index(template), template, args))
        print(
            f"[everyday-sheet] {len(shards)}/{len(chosen)} {template} ({time.perf_counter() - started:.0f}s)",
            flush=True,
        )
    for name, labelled in (("everyday_raw.jpg", False), ("everyday_labelled.jpg", True)):
        image = sheet(
            [tiles(s, t, labelled, args.tile_width) for s, t in zip(shards, chosen, strict=True)], args.columns
        )
        path = args.out / name
        size = write_jpeg(path, image)
        print(f"[everyday-sheet] wrote {path} ({size / 1e6:.2f} MB)")
        if args.publish:
            shutil.copyfile(path, ROOT / "bench" / "sheets" / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
