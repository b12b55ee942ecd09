"""Baseline merge for bench_merge.py: the approach of BlenderProc's merge_coco_annotations.

  python bench/baseline_merge.py RUN_DIR OUTPUT.json

Loads every shard's coco.json with the standard json module, shifts image and annotation ids so they stay
unique, keeps everything in one dict and dumps it as one file at the end (no split, no filters, no BOP).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    run_dir, output = Path(sys.argv[1]), Path(sys.argv[2])
    merged: dict = {"images": [], "annotations": [], "categories": None}
    for shard in sorted((run_dir / "shards").glob("shard_*")):
        with open(shard / "coco.json") as handle:
            coco = json.load(handle)
        image_offset, annotation_offset = len(merged["images"]), len(merged["annotations"])
        for image in coco["images"]:
            image["id"] += image_offset
            image["file_name"] = f"{shard.name}/{image['file_name']}"
            merged["images"].append(image)
        for annotation in coco["annotations"]:
            annotation["id"] += annotation_offset
            annotation["image_id"] += image_offset
            merged["annotations"].append(annotation)
        merged["categories"] = merged["categories"] or coco["categories"]
    with open(output, "w") as handle:
        json.dump(merged, handle)
    print(len(merged["images"]), len(merged["annotations"]))


if __name__ == "__main__":
    main()
