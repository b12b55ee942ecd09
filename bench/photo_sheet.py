"""Contact sheets of rendered shards grouped by world layout, camera class and person size: raw images (as written,
no overlay) next to the same images with their labels, so a person can judge whether they pass for photographs.

  .venv/bin/python bench/photo_sheet.py RUN_DIR [RUN_DIR ...] [--out bench/out/photo] [--per-group 4] [--publish]

Reads every shard's coco.json and frames.jsonl under the run directories (e.g. the realism bench's
``runs/default``), groups the images by ``layout`` (room, outdoor, random, backplate), by the frame's camera class
and by the size of its largest annotated person (box height / image height: < 0.2, 0.2-0.45, >= 0.45), and writes
OUT/photo_<grouping>_raw.jpg and OUT/photo_<grouping>_labelled.jpg (a row per group, the first ``--per-group``
images of each, captioned). ``--publish`` copies them to bench/sheets/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from everyday_sheet import sheet, write_jpeg  # noqa: E402

SIZE_BANDS = ((0.0, 0.2, "person < 0.2 of the height"), (0.2, 0.45, "person 0.2-0.45"), (0.45, 9.0, "person >= 0.45"))


def images_of(run_dirs: list[Path]) -> list[dict[str, Any]]:
    """Every image of the runs' shards with its annotations, frame record and path."""
    items = []
    for run in run_dirs:
        for shard in sorted(run.glob("shards/shard_*")):
            coco = json.loads((shard / "coco.json").read_text())
            records = [json.loads(line) for line in (shard / "frames.jsonl").read_text().splitlines() if line]
            by_image = defaultdict(list)
            for annotation in coco["annotations"]:
                by_image[annotation["image_id"]].append(annotation)
            for image, record in zip(coco["images"], records, strict=True):
                items.append({"path": shard / image["file_name"], "image": image, "record": record,
                              "annotations": by_image[image["id"]]})  # fmt: skip
    return items


def size_band(item: dict[str, Any]) -> str:
    largest = max((a["bbox"][3] for a in item["annotations"]), default=0.0) / item["image"]["height"]
    return next(label for low, high, label in SIZE_BANDS if low <= largest < high)


GROUPINGS = {
    "layout": lambda item: item["image"].get("layout") or "unknown",
    "camera": lambda item: item["record"]["photo"].get("camera", "unknown"),
    "size": size_band,
}


def caption(item: dict[str, Any]) -> str:
    photo = item["record"]["photo"]
    exposure = photo.get("exposure", {})
    return (
        f"{item['image'].get('layout')} {photo.get('camera')} {photo.get('equivalent_focal_length_mm', 0):.0f}mm "
        f"ISO {photo.get('iso')} EV {exposure.get('applied_ev')}"
    )


def tile(item: dict[str, Any], labelled: bool, width: int) -> np.ndarray:
    from bpgen.preview.sheet import draw_annotations

    pixels = cv2.imread(str(item["path"]))
    scale = width / item["image"]["width"]
    if labelled:
        out = draw_annotations(pixels, item["annotations"], scale)
    else:
        out = cv2.resize(pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    strip = np.zeros((16, out.shape[1], 3), np.uint8)
    cv2.putText(strip, caption(item), (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (255, 255, 255), 1, cv2.LINE_AA)
    return np.vstack([out, strip])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="run directories (holding shards/)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "photo")
    parser.add_argument("--per-group", type=int, default=4)
    parser.add_argument("--tile-width", type=int, default=320)
    parser.add_argument("--publish", action="store_true", help="copy the sheets to bench/sheets/")
    args = parser.parse_args(argv)
    items = images_of(args.runs)
    if not items:
        raise SystemExit(f"error: no shard with images under {', '.join(map(str, args.runs))}; render one first")
    args.out.mkdir(parents=True, exist_ok=True)
    for grouping, key in GROUPINGS.items():
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in items:
            groups[key(item)].append(item)
        chosen = [item for name in sorted(groups) for item in groups[name][: args.per_group]]
        for kind, labelled in (("raw", False), ("labelled", True)):
            path = args.out / f"photo_{grouping}_{kind}.jpg"
            size = write_jpeg(path, sheet([tile(i, labelled, args.tile_width) for i in chosen], args.per_group))
            print(f"[photo-sheet] {path}: {', '.join(f'{n} {len(g)}' for n, g in sorted(groups.items()))} "
                  f"({size / 1e6:.2f} MB)")  # fmt: skip
            if args.publish:
                shutil.copyfile(path, ROOT / "bench" / "sheets" / path.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
