"""Contact sheet of a shard: ``python -m bpgen.preview SHARD_DIR [--output PNG] [--max-images N]``.

Draws every person's mask outline, box and COCO skeleton (visible keypoints filled, occluded ones hollow)
on its image, so a person sees at a glance that the labels sit on the bodies.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from bpgen.atomic import atomic_write_image
from bpgen.geometry.keypoints import COCO_SKELETON
from bpgen.geometry.labels import pycocotools_rle
from bpgen.run import layout


def _color(index: int) -> tuple[int, int, int]:
    hue = (index * 47) % 180
    bgr = cv2.cvtColor(np.array([[[hue, 220, 255]]], dtype=np.uint8), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def draw_annotations(image: np.ndarray, annotations: list[dict[str, Any]], scale: float) -> np.ndarray:
    out = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    thickness = max(1, int(round(scale / 2)))
    for i, ann in enumerate(annotations):
        color = _color(i)
        rle = pycocotools_rle(ann["segmentation"])
        mask = cv2.resize(mask_utils.decode(rle), None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, contours, -1, color, thickness)
        x, y, w, h = (v * scale for v in ann["bbox"])
        cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), color, thickness)
        kps = np.array(ann["keypoints"], dtype=float).reshape(-1, 3)
        for a, b in COCO_SKELETON:
            if kps[a - 1, 2] > 0 and kps[b - 1, 2] > 0:
                pa, pb = (kps[a - 1, :2] * scale).astype(int), (kps[b - 1, :2] * scale).astype(int)
                cv2.line(out, tuple(pa), tuple(pb), color, thickness)
        for x_k, y_k, v in kps:
            if v > 0:
                center = (int(x_k * scale), int(y_k * scale))
                cv2.circle(out, center, thickness + 2, (0, 255, 0) if v == 2 else (0, 0, 255), -1 if v == 2 else 1)
    return out


def contact_sheet(shard_dir: Path, max_images: int = 16, tile_width: int = 320, columns: int = 4) -> np.ndarray:
    coco = json.loads((shard_dir / layout.COCO).read_text())
    by_image: dict[int, list[dict[str, Any]]] = {}
    for ann in coco["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    items = [
        {"path": str(shard_dir / image["file_name"]), "image": image, "annotations": by_image.get(image["id"], [])}
        for image in coco["images"][:max_images]
    ]
    if not items:
        raise ValueError(f"{shard_dir} has no images")
    return sheet_of(items, tile_width, columns)


def sheet_of(items: list[dict[str, Any]], tile_width: int = 320, columns: int = 4) -> np.ndarray:
    """Tiles of images with their annotations drawn; items: {"path", "image" (COCO image), "annotations"}."""
    tiles = []
    for item in items:
        image = item["image"]
        pixels = cv2.imread(item["path"])
        if pixels is None:
            raise FileNotFoundError(f"missing image {item['path']}")
        scale = tile_width / image["width"]
        tile = draw_annotations(pixels, item["annotations"], scale)
        cv2.putText(
            tile,
            f"{image['id']} {image.get('viewpoint', '')}",
            (4, 14),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
        tiles.append(tile)
    height = max(t.shape[0] for t in tiles)
    tiles = [cv2.copyMakeBorder(t, 0, height - t.shape[0], 0, 0, cv2.BORDER_CONSTANT) for t in tiles]
    while len(tiles) % columns and len(tiles) > columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpgen.preview", description=__doc__.splitlines()[0])
    parser.add_argument("shard_dir", type=Path, help="a shard directory (RUN/shards/shard_<K>)")
    parser.add_argument("--output", type=Path, help="PNG to write (default: SHARD_DIR/preview.png)")
    parser.add_argument("--max-images", type=int, default=16)
    parser.add_argument("--tile-width", type=int, default=320)
    args = parser.parse_args(argv)
    if not (args.shard_dir / layout.COCO).is_file():
        print(f"error: {args.shard_dir} has no coco.json; pass a rendered shard directory", file=sys.stderr)
        return 2
    sheet = contact_sheet(args.shard_dir, args.max_images, args.tile_width)
    output = args.output or args.shard_dir / layout.PREVIEW
    atomic_write_image(output, sheet)
    print(output)
    return 0
