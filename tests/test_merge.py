"""Merge stage: pure planning, and real merges of tiny rendered shards (COCO, BOP, stats, check, failures)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import ROOT, assert_one_line_error, load, merge, submit_local, tiny
from pycocotools import mask as mask_utils

from bpgen.merge.build import merge_lock, sample_positions
from bpgen.merge.config import compose_merge_config
from bpgen.merge.plan import parse_badlist, plan_shards, split_shards
from bpgen.merge.stats import PERSON_NAMES, PERSON_NUMBERS, DatasetStats
from bpgen.run import layout

# body=mannequin: fast; tests/test_merge_body_stats.py merges shards of anny people's fields
TINY = tiny(distractors=(0, 1), write_depth=True, body="mannequin")

# --- pure parts --------------------------------------------------------------------------------------------------


def test_split_by_shard_is_deterministic_and_keeps_both_splits():
    splits = split_shards(range(10), 0.2, seed=3)
    assert sorted(splits.values()).count("val") == 2
    assert split_shards(range(10), 0.2, seed=3) == splits
    assert split_shards(range(10), 0.2, seed=4) != splits
    assert list(split_shards([5, 9], 0.01, 0).values()).count("val") == 1  # at least one val shard
    assert set(split_shards([5], 0.5, 0).values()) == {"train"}  # but never all of them
    assert set(split_shards(range(4), 0.0, 0).values()) == {"train"}


def test_ids_are_global_offsets_and_chunks_are_numbered_per_split():
    plans = plan_shards([(0, 5, 9), (1, 2500, 7000), (2, 3, 4)], {0: "train", 1: "train", 2: "val"}, chunk_size=1000)
    assert (plans[0].image_offset, plans[0].annotation_offset, plans[0].first_chunk, plans[0].chunks) == (0, 0, 0, 1)
    assert (plans[1].image_offset, plans[1].annotation_offset, plans[1].first_chunk, plans[1].chunks) == (5, 9, 1, 3)
    assert (plans[2].image_offset, plans[2].annotation_offset, plans[2].first_chunk) == (2505, 7009, 0)


def test_badlist_accepts_merged_and_shard_names():
    # literal: the names as a user writes them in a badlist (tests/test_run_layout.py pins layout's spellings)
    lines = [
        "# comment",
        "000003_000012.jpg",
        "images/train/000004_000001.png  # why",
        "",
        "shard_000007/images/000002.jpg",
    ]
    assert parse_badlist(lines) == {(3, 12), (4, 1), (7, 2)}
    with pytest.raises(ValueError, match="line 1"):
        parse_badlist(["cat.jpg"])


def test_contact_sheet_samples_spread_over_the_dataset():
    assert sample_positions(100, 5) == frozenset({0, 25, 50, 74, 99})
    assert sample_positions(3, 24) == frozenset({0, 1, 2}) and sample_positions(0, 5) == frozenset()


def test_stats_of_halves_merge_to_the_stats_of_all():
    rng = np.random.default_rng(0)

    def person() -> dict:
        return {"visib_fract": rng.random(), "truncation": rng.random(), "extremeness": rng.random()}

    def annotation() -> dict:
        visibility = rng.integers(0, 3, 17)
        return {"area": int(rng.integers(1, 10**5)), "keypoints": [x for v in visibility for x in (1.0, 1.0, int(v))]}

    images = [([annotation() for _ in range(k % 4)], [person() for _ in range(k % 5)]) for k in range(40)]
    whole, first, second = DatasetStats(), DatasetStats(), DatasetStats()
    for k, (anns, persons) in enumerate(images):
        whole.add_image(anns, persons)
        (first if k < 17 else second).add_image(anns, persons)
    first.merge(second)
    assert json.dumps(first.as_dict()) == json.dumps(whole.as_dict())
    assert sum(whole.as_dict()["annotations_per_image"]["counts"]) == 40


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("split.val_ratio=1.5", "split.val_ratio must be in"),
        ("images=move", "images='move' is not valid"),
        ("filters.badlist=/no/such/file", "does not exist"),
        ("filters.min_visible_area=-3", "filters.min_visible_area must be an integer >= 0"),
        ("no_such=1", "bad config override (Could not override 'no_such'"),
    ],
)
def test_bad_merge_config(override: str, message: str):
    assert_one_line_error(compose_merge_config, [override], message)


# --- real merges -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 shards x 3 tiny images with depth, rendered by ./2-submit --local."""
    return submit_local(tmp_path_factory.mktemp("merge"), "r", 3, 3, *TINY)


@pytest.fixture
def run_copy(rendered_run: Path, tmp_path: Path) -> Path:
    """A private copy of the rendered run that a test may damage."""
    target = tmp_path / "r"
    shutil.copytree(
        rendered_run, target, symlinks=True, ignore=shutil.ignore_patterns(layout.DATASET, layout.MERGE_LOCK)
    )
    return target


def shard_coco(run_dir: Path, shard: int) -> dict:
    return load(layout.shard_dir(run_dir, shard) / layout.COCO)


pytestmark = pytest.mark.blender


def test_merge_sbatch_writes_the_dataset_and_check_passes(run_copy: Path):
    result = subprocess.run(
        ["bash", str(ROOT / "jobs" / "merge.sbatch"), str(run_copy), "split.val_ratio=0.34"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout
    dataset = layout.dataset_dir(run_copy)
    train, val = (load(layout.instances_file(dataset, s)) for s in ("train", "val"))
    assert len(val["images"]) == 3 and len(train["images"]) == 6  # one of three shards is val
    ids = sorted(i["id"] for i in train["images"] + val["images"])
    assert ids == list(range(1, 10))
    ann_ids = [a["id"] for a in train["annotations"] + val["annotations"]]
    assert len(ann_ids) == len(set(ann_ids)) and min(ann_ids) == 1
    assert len(ann_ids) == sum(len(shard_coco(run_copy, k)["annotations"]) for k in range(3))
    category = train["categories"][0]
    assert category["name"] == "person" and len(category["keypoints"]) == 17 and category["skeleton"]
    assert train["info"]["render_config"]["resolution"] == [64, 48] and train["info"]["modes"] == ["pose"]
    assert {s["shard"] for s in train["info"]["shards"]} | {s["shard"] for s in val["info"]["shards"]} == {0, 1, 2}
    image = train["images"][0]
    source = layout.shard_dir(run_copy, image["shard"]) / layout.image_file(image["frame"], "jpg")
    merged = layout.dataset_images_dir(dataset, "train") / image["file_name"]
    assert os.stat(merged).st_ino == os.stat(source).st_ino  # hardlink
    stats = load(dataset / layout.DATASET_STATS)
    assert stats["counts"]["images"] == {"train": 6, "val": 3}
    assert sum(stats["histograms"]["annotations_per_image"]["counts"]) == 9
    assert len(list((dataset / "plots").glob("*.png"))) == 9 + len(PERSON_NUMBERS) + len(PERSON_NAMES)
    annotations = len(ann_ids)
    assert stats["histograms"]["body_model"] == {"anny": 0, "mannequin": annotations, "other": 0, "unknown": 0}
    assert stats["histograms"]["age_years"]["unknown"] == annotations  # a mannequin has no age
    assert all(a["body_model"] == "mannequin" for a in train["annotations"] + val["annotations"])
    sheet = cv2.imread(str(dataset / "contact_sheet.png"))
    assert sheet is not None and sheet.shape[1] >= 4 * 300


def test_ground_truth_evaluated_against_itself_gives_ap_1(run_copy: Path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    assert merge(run_copy, "split.val_ratio=0").returncode == 0
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(layout.instances_file(layout.dataset_dir(run_copy), "train")))
        detections = gt.loadRes([dict(a, score=1.0) for a in gt.dataset["annotations"]])
        ap = {}
        for iou_type in ("bbox", "segm", "keypoints"):
            evaluation = COCOeval(gt, detections, iou_type)
            evaluation.evaluate()
            evaluation.accumulate()
            evaluation.summarize()
            ap[iou_type] = evaluation.stats[0]
    assert ap == {"bbox": 1.0, "segm": 1.0, "keypoints": 1.0}


@pytest.mark.detectron2
def test_detectron2_load_coco_json_reads_masks_and_keypoints(run_copy: Path):
    from detectron2.data.datasets import load_coco_json

    assert merge(run_copy).returncode == 0
    dataset = layout.dataset_dir(run_copy)
    images = layout.dataset_images_dir(dataset, "train")
    records = load_coco_json(str(layout.instances_file(dataset, "train")), str(images))
    assert records and all(Path(r["file_name"]).is_file() for r in records)
    first = next(r for r in records if r["annotations"])
    assert "segmentation" in first["annotations"][0] and len(first["annotations"][0]["keypoints"]) == 51


def test_bop_chunks_match_the_shards(run_copy: Path):
    assert merge(run_copy, "split.val_ratio=0").returncode == 0
    dataset = layout.dataset_dir(run_copy)
    chunks = sorted(layout.bop_split_dir(dataset, "train").iterdir())
    assert chunks == [layout.bop_chunk_dir(dataset, "train", k) for k in range(3)]
    for shard, chunk in enumerate(chunks):  # the names inside a chunk are BOP's own, not the run layout
        # read the way bop_toolkit's inout.load_scene_gt / load_scene_camera do: int keys, 3x3 rotations
        scene_gt = {int(k): v for k, v in load(chunk / "scene_gt.json").items()}
        scene_camera = {int(k): v for k, v in load(chunk / "scene_camera.json").items()}
        info = {int(k): v for k, v in load(chunk / "scene_gt_info.json").items()}
        frames = [json.loads(line) for line in (layout.shard_dir(run_copy, shard) / layout.FRAMES).open()]
        coco = shard_coco(run_copy, shard)
        segmentations = {a["id"]: a["segmentation"] for a in coco["annotations"]}
        assert sorted(scene_gt) == list(range(3)) == sorted(scene_camera) == sorted(info)
        for im_id, frame in enumerate(frames):
            assert np.allclose(np.reshape(scene_camera[im_id]["cam_K"], (3, 3)), frame["cam_K"])
            assert (chunk / "depth" / f"{im_id:06d}.png").is_file() and (chunk / "rgb" / f"{im_id:06d}.jpg").is_file()
            assert len(scene_gt[im_id]) == len(frame["persons"]) == len(info[im_id])
            for gt_id, (gt, person) in enumerate(zip(scene_gt[im_id], frame["persons"], strict=True)):
                assert np.allclose(np.reshape(gt["cam_R_m2c"], (3, 3)), person["cam_R_m2c"])
                assert gt["obj_id"] == 1 and info[im_id][gt_id]["visib_fract"] == person["visib_fract"]
                visib = cv2.imread(str(chunk / "mask_visib" / f"{im_id:06d}_{gt_id:06d}.png"), cv2.IMREAD_GRAYSCALE)
                amodal = cv2.imread(str(chunk / "mask" / f"{im_id:06d}_{gt_id:06d}.png"), cv2.IMREAD_GRAYSCALE)
                assert int((amodal > 0).sum()) == person["px_count_all"]
                assert int((visib > 0).sum()) == person["px_count_visib"]
                if person["annotation_id"] is not None:
                    rle = segmentations[person["annotation_id"]]
                    expected = mask_utils.decode(dict(rle, counts=rle["counts"].encode()))
                    assert np.array_equal(visib > 0, expected > 0)


def test_merging_again_gives_identical_files(run_copy: Path):
    def snapshot() -> dict[str, bytes]:
        dataset = layout.dataset_dir(run_copy)
        return {str(p.relative_to(dataset)): p.read_bytes() for p in sorted(dataset.rglob("*")) if p.is_file()}

    assert merge(run_copy).returncode == 0
    first = snapshot()
    assert merge(run_copy).returncode == 0
    assert snapshot() == first
    assert not any(p.name.startswith(f".{layout.DATASET}") for p in run_copy.iterdir())  # .dataset.tmp, .old


def test_a_second_merge_at_the_same_time_is_refused(run_copy: Path):
    with merge_lock(run_copy):
        result = merge(run_copy)
    assert result.returncode == 2 and "another merge" in result.stderr and not layout.dataset_dir(run_copy).exists()


def test_missing_shard_stops_the_merge_unless_allow_partial(run_copy: Path):
    (layout.shard_dir(run_copy, 1) / layout.DONE).unlink()
    result = merge(run_copy)
    assert (
        result.returncode == 2
        and "1 of 3 shards are not DONE (1)" in result.stderr
        and "--allow-partial" in result.stderr
    )
    assert not layout.dataset_dir(run_copy).exists()
    assert merge(run_copy, "--allow-partial").returncode == 0
    assert load(layout.dataset_dir(run_copy) / layout.DATASET_STATS)["counts"]["shards_merged"] == 2
    assert merge(run_copy, "--check").returncode == 0


def test_corrupt_shard_is_named_and_skipped_only_when_asked(run_copy: Path):
    assert merge(run_copy).returncode == 0
    stats = layout.dataset_dir(run_copy) / layout.DATASET_STATS
    before = stats.read_bytes()
    coco = layout.shard_dir(run_copy, 2) / layout.COCO
    coco.write_bytes(coco.read_bytes()[:100])  # truncated
    result = merge(run_copy)
    corrupt = f"{layout.shard_name(2)}: corrupt JSON"
    assert result.returncode == 2 and corrupt in result.stderr and "--skip-bad" in result.stderr
    assert stats.read_bytes() == before  # the previous dataset is untouched
    assert merge(run_copy, "--skip-bad").returncode == 0
    assert load(stats)["counts"]["shards_skipped"] == [2]
    image = layout.image_file(1, "jpg")
    (layout.shard_dir(run_copy, 1) / image).unlink()
    result = merge(run_copy, "--skip-bad")
    assert result.returncode == 0 and f"{layout.shard_name(1)}: image {image} is missing" in result.stderr
    assert merge(run_copy, "--check").returncode == 0


def test_shards_disagreeing_on_config_or_categories_stop_the_merge(run_copy: Path):
    config = layout.shard_dir(run_copy, 1) / layout.CONFIG
    config.write_text(config.read_text().replace("samples: 4", "samples: 5"))
    result = merge(run_copy)
    assert result.returncode == 2 and "shards 1 were rendered with another config" in result.stderr
    config.write_text(config.read_text().replace("samples: 5", "samples: 4"))
    coco_path = layout.shard_dir(run_copy, 2) / layout.COCO
    coco = load(coco_path)
    coco["categories"][0]["keypoints"][0] = "snout"
    coco_path.write_text(json.dumps(coco))
    result = merge(run_copy)
    assert result.returncode == 2 and "shards 2 have other categories" in result.stderr


def test_shards_of_two_body_model_exports_stop_the_merge(run_copy: Path):
    for k, stamp in ((0, "anny 0.6.2 data v14 sha256:aaaa export schema 1"), (2, "anny 0.6.2 data v15 sha256:bbbb")):
        path = layout.shard_dir(run_copy, k) / layout.DONE
        done = load(path)
        done["body"] = dict(done.get("body") or {}, model_stamp=stamp)
        path.write_text(json.dumps(done))
    result = merge(run_copy)
    assert result.returncode == 2 and "shards 2 were rendered with another body model export than shard 0" in (
        result.stderr
    )


def test_filters_and_badlist(run_copy: Path, tmp_path: Path):
    shard0 = shard_coco(run_copy, 0)
    areas = [a["area"] for k in range(3) for a in shard_coco(run_copy, k)["annotations"]]
    threshold = int(np.median(areas))
    in_bad_image = sum(1 for a in shard0["annotations"] if a["image_id"] == 2)
    badlist = tmp_path / "bad.txt"
    bad = layout.merged_image_name(0, 1, ".jpg")
    badlist.write_text(f"# blurry\n{bad}\n")
    result = merge(run_copy, f"filters.min_visible_area={threshold}", f"filters.badlist={badlist}", "split.val_ratio=0")
    assert result.returncode == 0, result.stderr
    removed = load(layout.dataset_dir(run_copy) / layout.DATASET_STATS)["counts"]["removed"]
    assert removed["badlist_images"] == 1 and removed["badlist_annotations"] == in_bad_image
    small_elsewhere = sum(
        1
        for k in range(3)
        for a in shard_coco(run_copy, k)["annotations"]
        if a["area"] < threshold and not (k == 0 and a["image_id"] == 2)
    )
    assert removed["min_visible_area"] == small_elsewhere > 0
    dataset = layout.dataset_dir(run_copy)
    train = load(layout.instances_file(dataset, "train"))
    assert bad not in {i["file_name"] for i in train["images"]}
    assert all(a["area"] >= threshold for a in train["annotations"])
    assert not (layout.bop_chunk_dir(dataset, "train", 0) / "rgb" / "000001.jpg").exists()  # rgb/: BOP's name
    assert merge(run_copy, "--check").returncode == 0


def test_check_finds_a_broken_dataset(run_copy: Path):
    assert merge(run_copy, "split.val_ratio=0").returncode == 0
    path = layout.instances_file(layout.dataset_dir(run_copy), "train")
    coco = load(path)
    coco["annotations"][0]["area"] += 1
    coco["annotations"][1]["id"] = coco["annotations"][2]["id"]
    path.write_text(json.dumps(coco))
    result = merge(run_copy, "--check")
    assert result.returncode == 1 and "INVALID" in result.stdout
    assert "area" in result.stdout and "used twice" in result.stdout
