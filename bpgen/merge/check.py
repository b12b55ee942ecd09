"""``--check``: validate a merged dataset against COCO's rules, the BOP layout and the shards' manifests."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from pycocotools import mask as mask_utils

from bpgen.geometry.labels import pycocotools_rle
from bpgen.merge.stats import DatasetStats, StatsBuilder
from bpgen.run import layout
from bpgen.run.layout import DONE, SPLITS, bop_split_dir, shard_dir

MAX_REPORTED = 20


class Problems:
    """Collects problems; only the first few of each kind are kept verbatim."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.count = 0

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.lines) < MAX_REPORTED:
            self.lines.append(message)


def _load_coco(path: Path, problems: Problems) -> Any:
    from pycocotools.coco import COCO

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return COCO(str(path))
    except Exception as exc:  # pycocotools raises anything from json to assertion errors
        problems.add(f"{path.name}: pycocotools cannot load it ({exc})")
        return None


def _check_annotation(ann: dict[str, Any], image: dict[str, Any] | None, problems: Problems, where: str) -> None:
    if image is None:
        problems.add(f"{where}: annotation {ann['id']} points to missing image {ann['image_id']}")
        return
    rle = pycocotools_rle(ann["segmentation"])
    if list(rle["size"]) != [image["height"], image["width"]]:
        problems.add(f"{where}: annotation {ann['id']} mask size {rle['size']} is not its image's")
    if int(mask_utils.area(rle)) != ann["area"]:
        problems.add(f"{where}: annotation {ann['id']} area {ann['area']} != its mask's {int(mask_utils.area(rle))}")
    if not np.allclose(mask_utils.toBbox(rle), ann["bbox"], atol=1e-3):
        problems.add(f"{where}: annotation {ann['id']} bbox {ann['bbox']} != its mask's bounds")
    keypoints = np.asarray(ann["keypoints"], dtype=float).reshape(-1, 3)
    if len(keypoints) != 17:
        problems.add(f"{where}: annotation {ann['id']} has {len(keypoints)} keypoints, not 17")
        return
    labelled = keypoints[:, 2] > 0
    if int(labelled.sum()) != ann["num_keypoints"]:
        problems.add(f"{where}: annotation {ann['id']} num_keypoints {ann['num_keypoints']} != {int(labelled.sum())}")
    xy = keypoints[labelled, :2]
    if len(xy) and (xy.min() < 0 or (xy[:, 0] > image["width"]).any() or (xy[:, 1] > image["height"]).any()):
        problems.add(f"{where}: annotation {ann['id']} has a labelled keypoint outside its image")


def _check_bop(dataset: Path, problems: Problems) -> int:
    chunks = 0
    for chunk in sorted(p for split in SPLITS for p in bop_split_dir(dataset, split).glob("*") if p.is_dir()):
        chunks += 1
        try:
            names = ("scene_gt", "scene_gt_info", "scene_camera")
            scene = {n: orjson.loads((chunk / f"{n}.json").read_bytes()) for n in names}
        except (OSError, orjson.JSONDecodeError) as exc:
            problems.add(f"{chunk.name}: unreadable BOP json ({exc})")
            continue
        if not (scene["scene_gt"].keys() == scene["scene_gt_info"].keys() == scene["scene_camera"].keys()):
            problems.add(f"{chunk}: scene_gt, scene_gt_info and scene_camera list different images")
        rgb = {p.stem for p in (chunk / "rgb").iterdir()}
        for key, gts in scene["scene_gt"].items():
            im_id = int(key)
            if f"{im_id:06d}" not in rgb:
                problems.add(f"{chunk}: rgb of image {im_id} is missing")
            if len(gts) != len(scene["scene_gt_info"].get(key, [])):
                problems.add(f"{chunk}: image {im_id} has {len(gts)} gt but a different number of gt_info")
            for gt_id, gt in enumerate(gts):
                if len(gt["cam_R_m2c"]) != 9 or len(gt["cam_t_m2c"]) != 3:
                    problems.add(f"{chunk}: image {im_id} gt {gt_id}: cam_R_m2c/cam_t_m2c are not 9/3 numbers")
                for sub in ("mask", "mask_visib"):
                    if not (chunk / sub / f"{im_id:06d}_{gt_id:06d}.png").is_file():
                        problems.add(f"{chunk}: {sub}/{im_id:06d}_{gt_id:06d}.png is missing")
    return chunks


def check_dataset(dataset: Path) -> tuple[list[str], int, dict[str, Any]]:
    """Returns (first problems, number of problems, summary counts); no problems means the dataset is valid."""
    problems = Problems()
    stats_path = dataset / layout.DATASET_STATS
    if not stats_path.is_file():
        problems.add(f"{dataset} has no stats.json: it is not a finished bpgen merge (run python -m bpgen.merge)")
        return problems.lines, problems.count, {}
    stats = json.loads(stats_path.read_text())
    people = DatasetStats()  # who the annotated persons are, counted again from the COCO files
    image_ids: set[int] = set()
    annotation_ids: set[int] = set()
    summary: dict[str, Any] = {"images": {}, "annotations": {}}
    shard_counts: dict[int, dict[str, int]] = {}
    for split in SPLITS:
        path = layout.instances_file(dataset, split)
        coco = _load_coco(path, problems)
        if coco is None:
            continue
        images, annotations = coco.dataset["images"], coco.dataset["annotations"]
        summary["images"][split], summary["annotations"][split] = len(images), len(annotations)
        for meta in coco.dataset["info"].get("shards", []):
            shard_counts[meta["shard"]] = meta["counts"]
        for image in images:
            if image["id"] in image_ids:
                problems.add(f"{path.name}: image id {image['id']} is used twice")
            image_ids.add(image["id"])
            if not (layout.dataset_images_dir(dataset, split) / image["file_name"]).is_file():
                problems.add(f"{path.name}: image file images/{split}/{image['file_name']} is missing")
        category_ids = {c["id"] for c in coco.dataset["categories"]}
        split_people = StatsBuilder()
        for ann in annotations:
            if ann["id"] in annotation_ids:
                problems.add(f"{path.name}: annotation id {ann['id']} is used twice")
            annotation_ids.add(ann["id"])
            if ann["category_id"] not in category_ids:
                problems.add(f"{path.name}: annotation {ann['id']} has unknown category {ann['category_id']}")
            _check_annotation(ann, coco.imgs.get(ann["image_id"]), problems, path.name)
            split_people.add_person(ann)
        people.merge(split_people.build())
        in_stats = (stats["counts"]["images"][split], stats["counts"]["annotations"][split])
        if (len(images), len(annotations)) != in_stats:
            problems.add(f"{path.name}: {len(images)} images / {len(annotations)} annotations; stats.json: {in_stats}")
    histograms = stats.get("histograms", {})
    for key, counted in people.persons_dict().items():
        if key in histograms and histograms[key] != counted:  # a dataset merged before these labels lacks them
            problems.add(f"stats.json: histogram {key} does not match the annotations of the COCO files")
    counts = stats["counts"]
    removed = counts["removed"]
    expected_images = sum(c["images"] for c in shard_counts.values()) - removed.get("badlist_images", 0)
    dropped = sum(removed.get(k, 0) for k in ("badlist_annotations", "min_visible_area", "min_visible_keypoints"))
    expected_annotations = sum(c["annotations"] for c in shard_counts.values()) - dropped
    if len(image_ids) != expected_images:
        problems.add(f"{len(image_ids)} images, but the shards' manifests minus the badlist give {expected_images}")
    if len(annotation_ids) != expected_annotations:
        problems.add(
            f"{len(annotation_ids)} annotations, but the shards' manifests minus filters give {expected_annotations}"
        )
    run_dir = dataset.parent
    for shard, recorded in sorted(shard_counts.items()):
        done_path = shard_dir(run_dir, shard) / DONE
        if done_path.is_file() and json.loads(done_path.read_text())["counts"] != recorded:
            problems.add(f"shard {shard}: its {DONE} counts changed since the merge; merge again")
    summary["bop_chunks"] = _check_bop(dataset, problems)
    return problems.lines, problems.count, summary
