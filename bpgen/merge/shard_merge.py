"""Merge one shard into the dataset being built (runs in a worker process, one shard in memory at a time).

Reads and checks the shard (coco.json, frames.jsonl, DONE counts, every image present), then writes its share:
images linked into ``images/<split>/``, its COCO images/annotations as JSON fragments under ``parts/<split>/``
(the main process concatenates them in shard order), and with BOP its chunk(s) under ``<split>_pbr/``. Returns
counts, histograms and the sampled contact-sheet records; a broken shard raises ``ShardError`` before writing.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from bpgen.errors import UserError
from bpgen.geometry.labels import pycocotools_rle
from bpgen.merge.plan import ShardPlan
from bpgen.merge.stats import DatasetStats, StatsBuilder
from bpgen.run import layout
from bpgen.run.layout import COCO, DONE, FRAMES, IMAGES, bop_chunk_dir, depth_file


class ShardError(UserError, ValueError):
    """A shard is corrupt or inconsistent; the message names the shard and what is wrong."""


@dataclass(frozen=True)
class ShardTask:
    shard_dir: Path
    plan: ShardPlan
    out_dir: Path
    image_mode: str
    min_visible_area: int
    min_visible_keypoints: int
    bad_frames: frozenset[int]
    bop: bool
    bop_chunk_size: int
    sample_positions: frozenset[int]  # global image positions (0-based) drawn for the contact sheet
    expected_counts: tuple[int, int]  # images, annotations of its DONE.json (read once, by the main process)


@dataclass
class ShardResult:
    shard: int
    split: str
    categories: list[dict[str, Any]]
    images: int = 0
    annotations: int = 0
    images_in_shard: int = 0
    annotations_in_shard: int = 0
    removed: dict[str, int] = field(default_factory=dict)
    stats: DatasetStats = field(default_factory=DatasetStats)
    samples: list[dict[str, Any]] = field(default_factory=list)


_PERSON_SCALARS = re.compile(rb'"(visib_fract|truncation|extremeness)":(-?[0-9.eE+-]+)')


def load_shard(shard_dir: Path, expected_counts: tuple[int, int]) -> dict[str, Any]:
    """coco.json of a shard, checked against its DONE counts and the images on disk (frames.jsonl is streamed by
    ``iter_frames``; its line count is checked as it is read)."""
    name = shard_dir.name
    try:
        coco = orjson.loads((shard_dir / COCO).read_bytes())
        if not (shard_dir / FRAMES).is_file():
            raise FileNotFoundError(2, "missing", str(shard_dir / FRAMES))
        present = set(os.listdir(shard_dir / IMAGES))
    except FileNotFoundError as exc:
        raise ShardError(f"{name}: {Path(exc.filename).name} is missing") from None
    except orjson.JSONDecodeError as exc:
        raise ShardError(f"{name}: corrupt JSON ({exc})") from None
    images, annotations = coco.get("images"), coco.get("annotations")
    if not isinstance(images, list) or not isinstance(annotations, list) or not coco.get("categories"):
        raise ShardError(f"{name}: {COCO} lacks images, annotations or categories")
    if (len(images), len(annotations)) != expected_counts:
        raise ShardError(
            f"{name}: {COCO} has {len(images)} images / {len(annotations)} annotations but {DONE} says "
            f"{expected_counts[0]} / {expected_counts[1]}"
        )
    for image in images:
        if image["file_name"].split("/", 1)[-1] not in present:
            raise ShardError(f"{name}: image {image['file_name']} is missing")
    return coco


def iter_frames(shard_dir: Path, full: bool) -> Iterator[dict[str, Any]]:
    """frames.jsonl line by line: parsed in full (BOP needs cameras and poses), or, for statistics only, just each
    person's visib_fract, truncation and extremeness, read from the line without parsing its arrays (10x faster).
    Who the persons are (age, sex, hair, garments...) is counted from the COCO annotations, parsed anyway."""
    name = shard_dir.name
    with open(shard_dir / FRAMES, "rb") as handle:
        for number, line in enumerate((raw for raw in handle if raw.strip()), start=1):
            if full:
                try:
                    yield orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise ShardError(f"{name}: {FRAMES} line {number} is corrupt ({exc})") from None
                continue
            if not line.rstrip().endswith(b"}"):
                raise ShardError(f"{name}: {FRAMES} line {number} is truncated")
            values: dict[bytes, list[float]] = {b"visib_fract": [], b"truncation": [], b"extremeness": []}
            for key, value in _PERSON_SCALARS.findall(line):
                values[key].append(float(value))
            yield {
                "persons": [
                    {"visib_fract": v, "truncation": t, "extremeness": e}
                    for v, t, e in zip(
                        values[b"visib_fract"], values[b"truncation"], values[b"extremeness"], strict=True
                    )
                ]
            }


def _checked(pairs: Iterator[tuple[Any, Any]], name: str) -> Iterator[tuple[Any, Any]]:
    """Turn zip(strict=True)'s length mismatch into a ShardError naming the shard."""
    try:
        yield from pairs
    except ValueError as exc:
        if "zip()" not in str(exc):
            raise
        raise ShardError(f"{name}: {FRAMES} and {COCO} list a different number of images") from None


def place_file(source: str | Path, target: str | Path, mode: str) -> None:
    """Hardlink (copy when the file systems differ or links are not allowed), copy, or symlink."""
    if mode == "hardlink":
        try:
            os.link(source, target)
            return
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                raise
        mode = "copy"
    if mode == "copy":
        shutil.copyfile(source, target)
    else:
        os.symlink(os.path.relpath(os.path.realpath(source), os.path.dirname(os.path.realpath(target))), target)


def keep_annotation(annotation: dict[str, Any], task: ShardTask) -> str | None:
    """None to keep, else the filter that drops it."""
    if annotation["area"] < task.min_visible_area:
        return "min_visible_area"
    if sum(1 for v in annotation["keypoints"][2::3] if v == 2) < task.min_visible_keypoints:
        return "min_visible_keypoints"
    return None


def merge_shard(task: ShardTask) -> ShardResult:
    coco = load_shard(task.shard_dir, task.expected_counts)
    plan = task.plan
    result = ShardResult(plan.shard, plan.split, coco["categories"])
    result.images_in_shard, result.annotations_in_shard = len(coco["images"]), len(coco["annotations"])
    result.removed = {"badlist_images": 0, "badlist_annotations": 0, "min_visible_area": 0, "min_visible_keypoints": 0}
    by_image: dict[int, list[dict[str, Any]]] = {}
    for annotation in coco["annotations"]:
        by_image.setdefault(annotation["image_id"], []).append(annotation)
    images_dir = str(layout.dataset_images_dir(task.out_dir, plan.split))
    shard_dir = str(task.shard_dir)
    parts = layout.merge_parts_dir(task.out_dir, plan.split)
    merged_images: list[dict[str, Any]] = []
    merged_annotations: list[dict[str, Any]] = []
    bop = _BopChunks(task, task.shard_dir) if task.bop else None
    stats = StatsBuilder()
    frames = iter_frames(task.shard_dir, full=bop is not None)
    pairs = zip(coco["images"], frames, strict=True)
    for position, (image, frame_record) in enumerate(_checked(pairs, task.shard_dir.name)):
        stem, suffix = os.path.splitext(os.path.basename(image["file_name"]))
        frame = int(stem)
        annotations = by_image.get(image["id"], [])
        if frame in task.bad_frames:
            result.removed["badlist_images"] += 1
            result.removed["badlist_annotations"] += len(annotations)
            continue
        name = layout.merged_image_name(plan.shard, frame, suffix)
        place_file(os.path.join(shard_dir, image["file_name"]), os.path.join(images_dir, name), task.image_mode)
        image_id = plan.image_offset + image["id"]
        merged_image = {
            "id": image_id,
            "file_name": name,
            "width": image["width"],
            "height": image["height"],
            "shard": plan.shard,
            "frame": frame,
            "scene": image.get("scene"),
            "viewpoint": image.get("viewpoint"),
            "mode": image.get("mode"),
            "layout": image.get("layout"),
        }
        merged_images.append(merged_image)
        kept = []
        for annotation in annotations:
            reason = keep_annotation(annotation, task)
            if reason:
                result.removed[reason] += 1
                continue
            kept.append(dict(annotation, id=plan.annotation_offset + annotation["id"], image_id=image_id))
        merged_annotations.extend(kept)
        result.images += 1
        result.annotations += len(kept)
        stats.add_image(kept, frame_record["persons"], image["height"])
        if plan.image_offset + position in task.sample_positions:
            result.samples.append({"path": os.path.join(images_dir, name), "image": merged_image, "annotations": kept})
        if bop is not None:
            bop.add(frame, image, frame_record, annotations)
    parts.mkdir(parents=True, exist_ok=True)
    for key, items in (("images", merged_images), ("annotations", merged_annotations)):
        layout.merge_part(parts, plan.shard, key).write_bytes(
            orjson.dumps(items)[1:-1]
        )  # the list's items, no brackets
    if bop is not None:
        bop.finish()
    result.stats = stats.build()
    return result


class _BopChunks:
    """BOP-style ``<split>_pbr/<chunk>/`` (``bop_chunk_dir``): rgb/, depth/ (if rendered), mask/ (amodal),
    mask_visib/ (visible), scene_gt.json, scene_gt_info.json, scene_camera.json; im_id = frame within its chunk,
    gt = person index."""

    def __init__(self, task: ShardTask, shard_dir: Path) -> None:
        self.task, self.shard_dir = task, shard_dir
        self.scene: dict[int, dict[str, dict[str, Any]]] = {}

    def _chunk(self, frame: int) -> tuple[Path, int, dict[str, dict[str, Any]]]:
        index = frame // self.task.bop_chunk_size
        chunk = self._chunk_dir(index)
        if index not in self.scene:
            for sub in ("rgb", "mask", "mask_visib"):
                (chunk / sub).mkdir(parents=True, exist_ok=True)
            self.scene[index] = {"scene_gt": {}, "scene_gt_info": {}, "scene_camera": {}}
        return chunk, frame % self.task.bop_chunk_size, self.scene[index]

    def _chunk_dir(self, index: int) -> Path:
        return bop_chunk_dir(self.task.out_dir, self.task.plan.split, self.task.plan.first_chunk + index)

    def add(self, frame: int, image: dict[str, Any], record: dict[str, Any], annotations: list[dict[str, Any]]) -> None:
        import cv2
        from pycocotools import mask as mask_utils

        chunk, im_id, scene = self._chunk(frame)
        suffix = Path(image["file_name"]).suffix
        place_file(self.shard_dir / image["file_name"], chunk / "rgb" / f"{im_id:06d}{suffix}", self.task.image_mode)
        depth = self.shard_dir / depth_file(frame)
        if depth.is_file():
            (chunk / "depth").mkdir(exist_ok=True)
            place_file(depth, chunk / "depth" / f"{im_id:06d}.png", self.task.image_mode)
        visible = {a["id"]: a["segmentation"] for a in annotations}
        height, width = image["height"], image["width"]
        gts, infos = [], []
        for gt_id, person in enumerate(record["persons"]):
            amodal = mask_utils.decode(pycocotools_rle(person["segmentation_amodal"]))
            rle = visible.get(person.get("annotation_id"))
            visib = mask_utils.decode(pycocotools_rle(rle)) if rle is not None else np.zeros((height, width), np.uint8)
            cv2.imwrite(str(chunk / "mask" / f"{im_id:06d}_{gt_id:06d}.png"), amodal * 255)
            cv2.imwrite(str(chunk / "mask_visib" / f"{im_id:06d}_{gt_id:06d}.png"), visib * 255)
            gts.append({"cam_R_m2c": _flat(person["cam_R_m2c"]), "cam_t_m2c": person["cam_t_m2c"], "obj_id": 1})
            infos.append(
                {
                    "bbox_obj": person["bbox_obj"],
                    "bbox_visib": person["bbox_visib"],
                    "px_count_all": person["px_count_all"],
                    "px_count_valid": person["px_count_all"],  # synthetic depth is valid everywhere
                    "px_count_visib": person["px_count_visib"],
                    "visib_fract": person["visib_fract"],
                }
            )
        key = str(im_id)
        scene["scene_gt"][key] = gts
        scene["scene_gt_info"][key] = infos
        scene["scene_camera"][key] = {
            "cam_K": _flat(record["cam_K"]),
            "cam_R_w2c": _flat(record["cam_R_w2c"]),
            "cam_t_w2c": record["cam_t_w2c"],
            "depth_scale": record.get("depth_scale", 1.0),
        }

    def finish(self) -> None:
        for index, scene in self.scene.items():
            chunk = self._chunk_dir(index)
            for name, data in scene.items():
                (chunk / f"{name}.json").write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))


def _flat(matrix: list[list[float]]) -> list[float]:
    return [float(v) for row in matrix for v in row]
