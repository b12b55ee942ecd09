"""The merged dataset as Detectron2 datasets: ``register_bpgen(dataset_dir)`` by explicit call.

``dataset_spec`` (pure, no Detectron2) finds and checks the merge output: the COCO file and image root of each
split, the person category with its 17 keypoints, flip map and skeleton. ``register_bpgen`` registers
``<prefix>_train`` / ``<prefix>_val`` (masks as RLE and keypoints) with that metadata.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bpgen.errors import UserError
from bpgen.geometry.keypoints import COCO_FLIP_MAP, COCO_KEYPOINTS, COCO_SKELETON
from bpgen.run import layout


class DatasetError(UserError, ValueError):
    """The dataset is missing, not merged, or does not fit the model; the message names the fix."""


@dataclass(frozen=True)
class SplitSpec:
    name: str
    json_file: Path
    image_root: Path
    images: int
    annotations: int


@dataclass(frozen=True)
class DatasetSpec:
    root: Path
    splits: dict[str, SplitSpec]
    thing_classes: tuple[str, ...]
    keypoint_names: tuple[str, ...]
    keypoint_flip_map: tuple[tuple[str, str], ...]
    skeleton: tuple[tuple[int, int], ...]


def dataset_spec(dataset_dir: Path, prefix: str = "bpgen") -> DatasetSpec:
    """Check that ``dataset_dir`` is a finished merge (stats.json, one COCO file and image dir per split)."""
    dataset_dir = Path(dataset_dir)
    if not (dataset_dir / layout.DATASET_STATS).is_file():
        raise DatasetError(
            f"{dataset_dir} is not a merged bpgen dataset (no stats.json); merge the run first: "
            "sbatch jobs/merge.sbatch RUN"
        )
    stats = json.loads((dataset_dir / layout.DATASET_STATS).read_text())
    splits = {}
    categories: list[dict[str, Any]] | None = None
    for split in layout.SPLITS:
        json_file = layout.instances_file(dataset_dir, split)
        if not json_file.is_file():
            raise DatasetError(f"{json_file} is missing; merge the run again (sbatch jobs/merge.sbatch RUN)")
        if categories is None:
            categories = _categories(json_file)
        splits[split] = SplitSpec(
            name=f"{prefix}_{split}",
            json_file=json_file,
            image_root=layout.dataset_images_dir(dataset_dir, split),
            images=int(stats["counts"]["images"][split]),
            annotations=int(stats["counts"]["annotations"][split]),
        )
    assert categories is not None
    if [c["name"] for c in categories] != ["person"] or tuple(categories[0].get("keypoints", ())) != COCO_KEYPOINTS:
        raise DatasetError(
            f"{dataset_dir} has categories {[c['name'] for c in categories]}; bpgen models expect one 'person' "
            "category with COCO's 17 keypoints"
        )
    if splits["train"].images == 0:
        raise DatasetError(f"{dataset_dir} has no training images; merge a run with rendered shards")
    return DatasetSpec(
        root=dataset_dir,
        splits=splits,
        thing_classes=("person",),
        keypoint_names=COCO_KEYPOINTS,
        keypoint_flip_map=tuple(COCO_FLIP_MAP),
        skeleton=tuple(COCO_SKELETON),
    )


def _categories(json_file: Path) -> list[dict[str, Any]]:
    """The categories of a COCO file, read from its end (where bpgen's merge writes them) or its start, without
    loading its annotations."""
    with open(json_file, "rb") as handle:
        head = handle.read(1 << 20)
        handle.seek(max(0, handle.seek(0, 2) - (1 << 20)))
        tail = handle.read()
    key = b'"categories":'
    chunk = tail[tail.rfind(key) :] if key in tail else head[head.find(key) :] if key in head else b""
    if not chunk:
        raise DatasetError(f"{json_file} has no categories at its start or end; is it a bpgen merge?")
    decoder = json.JSONDecoder()
    rest = chunk[len(key) :].decode("utf-8", "replace").lstrip()
    try:
        categories, _ = decoder.raw_decode(rest)
    except json.JSONDecodeError:
        raise DatasetError(f"{json_file}: cannot read its categories; merge the run again") from None
    return list(categories)


def keypoint_metadata(
    names: Sequence[str], flip_map: Iterable[tuple[str, str]], skeleton: Iterable[tuple[int, int]]
) -> dict[str, Any]:
    """Detectron2's keypoint metadata (names, flip map, drawing rules) from COCO's 1-based skeleton."""
    return {
        "keypoint_names": list(names),
        "keypoint_flip_map": list(flip_map),
        "keypoint_connection_rules": [(names[a - 1], names[b - 1], (102, 204, 255)) for a, b in skeleton],
    }


def register_bpgen(spec: DatasetSpec) -> list[str]:
    """Register the splits with Detectron2's catalogs (idempotent); returns the dataset names."""
    from detectron2.data import DatasetCatalog, MetadataCatalog
    from detectron2.data.datasets import load_coco_json

    names = []
    for split in spec.splits.values():
        if split.name not in DatasetCatalog.list():
            DatasetCatalog.register(
                split.name,
                lambda s=split: load_coco_json(str(s.json_file), str(s.image_root), s.name, ["extremeness"]),
            )
        MetadataCatalog.get(split.name).set(
            json_file=str(split.json_file),
            image_root=str(split.image_root),
            evaluator_type="coco",
            thing_classes=list(spec.thing_classes),
            **keypoint_metadata(spec.keypoint_names, spec.keypoint_flip_map, spec.skeleton),
        )
        names.append(split.name)
    return names
