"""Who the annotated people are in merge statistics: age, height, BMI, skin tone histograms and counts of body
model, sex, hair and garments. Unit tests of the histograms, then real merges (no Blender) of fabricated shards
written by the shard writer itself (``assemble_shard``/``finalize``), carrying the person-attribute fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from helpers import load, merge

from bpgen.geometry.labels import encode_rle, rle_area_bbox
from bpgen.merge.shard_merge import iter_frames
from bpgen.merge.stats import GARMENTS, PERSON_NAMES, PERSON_NUMBERS, DatasetStats, StatsBuilder, write_plots
from bpgen.render.lifecycle import assemble_shard, finalize
from bpgen.run import layout

ATTRIBUTE_KEYS = (*PERSON_NUMBERS, *PERSON_NAMES, "muscle")


def anny(age: float, sex: str, height: float, bmi: float, tone: float, hair: tuple[str, str], garments: list[str]):
    return {
        "body_model": "anny",
        "age_years": age,
        "sex": sex,
        "height_m": height,
        "bmi": bmi,
        "muscle": 0.5,
        "skin_tone": tone,
        "hair_style": hair[0],
        "hair_color": hair[1],
        "garments": garments,
    }


MANNEQUIN = {"body_model": "mannequin"}
OLD: dict[str, Any] = {}  # a shard rendered before person attributes


def annotation(attributes: dict[str, Any], area: int = 100) -> dict[str, Any]:
    return {"area": area, "keypoints": [1.0, 1.0, 2] * 17} | attributes


# --- histograms --------------------------------------------------------------------------------------------------


def test_person_histograms_bin_values_and_count_unknowns():
    stats = DatasetStats()
    stats.add_image(
        [
            annotation(anny(7.5, "female", 1.27, 16.5, 0.05, ("long", "blond"), ["short_sleeve", "shorts", "shoes"])),
            annotation(anny(72.0, "male", 1.72, 27.5, 0.95, ("bald", "grey"), ["long_sleeve", "trousers", "socks"])),
            annotation(anny(95.0, "male", 2.5, 55.0, 1.0, ("short", "teal"), ["sleeveless", "skirt", "cape"])),
            annotation(MANNEQUIN),
            annotation(OLD),
            annotation({"body_model": "smplx", "age_years": None, "sex": None, "height_m": "tall", "garments": []}),
        ],
        [],
    )
    h = stats.as_dict()
    age = h["age_years"]
    assert age["bin_edges"][:3] == [0.0, 5.0, 10.0] and age["bin_edges"][-1] == 90.0 and len(age["counts"]) == 18
    assert [i for i, c in enumerate(age["counts"]) for _ in range(c)] == [1, 14, 17]  # 95 years: in the last bin
    assert age["unknown"] == 3
    height = h["height_m"]
    assert height["bin_edges"][0] == 0.4 and height["bin_edges"][-1] == 2.2
    assert [height["bin_edges"][i] for i, c in enumerate(height["counts"]) for _ in range(c)] == [1.25, 1.7, 2.15]
    assert height["unknown"] == 3  # "tall" is no number
    bmi = h["bmi"]
    assert [bmi["bin_edges"][i] for i, c in enumerate(bmi["counts"]) for _ in range(c)] == [16.0, 27.0, 49.0]
    assert h["skin_tone"]["counts"] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 2] and h["skin_tone"]["unknown"] == 3
    assert len(h["skin_tone"]["bin_edges"]) == 11  # one bin per Monk band
    assert h["sex"] == {"female": 1, "male": 2, "other": 0, "unknown": 3}
    assert h["body_model"] == {"anny": 3, "mannequin": 1, "other": 1, "unknown": 1}
    assert h["hair_style"] == {"bald": 1, "buzz": 0, "short": 1, "medium": 0, "long": 1, "tied": 0} | {
        "other": 0,
        "unknown": 3,
    }
    assert h["hair_color"]["grey"] == 1 and h["hair_color"]["other"] == 1 and h["hair_color"]["unknown"] == 3
    worn = {"short_sleeve", "shorts", "shoes", "long_sleeve", "trousers", "socks", "sleeveless", "skirt"}
    assert h["garments"] == {g: int(g in worn) for g in GARMENTS} | {"other": 1, "unknown": 2}  # [] is known


def test_height_fraction_is_box_height_over_image_height():
    stats = DatasetStats()
    boxes = [[0, 0, 10, 24], [5, 5, 30, 240], [0, 0, 50, 470], [0, 0, 9, 480]]  # x, y, w, h in a 480-high image
    stats.add_image([annotation(OLD) | {"bbox": b} for b in boxes], [], image_height=480)
    stats.add_image([annotation(OLD) | {"bbox": [0, 0, 5, 5]}], [])  # no height given: not counted
    h = stats.as_dict()["height_fraction"]
    assert len(h["counts"]) == 20 and sum(h["counts"]) == 4
    assert [i for i, c in enumerate(h["counts"]) for _ in range(c)] == [1, 10, 19, 19]  # 0.05, 0.5, 0.98, 1.0


def test_pose_strategy_and_template_shares_are_counted():
    stats = DatasetStats()
    poses = [("everyday", "sit_seat/phone"), ("everyday", "walk/relaxed"), ("everyday", "walk/relaxed"),
             ("bridge", None), ("extreme", None), ("everyday", "dance/solo")]  # fmt: skip
    stats.add_image([annotation({"pose_strategy": s, "pose_template": t}) for s, t in poses] + [annotation(OLD)], [])
    h = stats.as_dict()
    assert h["pose_strategy"]["everyday"] == 4 and h["pose_strategy"]["bridge"] == 1
    assert h["pose_strategy"]["extreme"] == 1 and h["pose_strategy"]["unknown"] == 1
    assert h["pose_template"]["walk/relaxed"] == 2 and h["pose_template"]["sit_seat/phone"] == 1
    assert h["pose_template"]["other"] == 1  # a template this version does not know
    assert h["pose_template"]["unknown"] == 3  # other strategies, and a shard from before templates


def test_person_histograms_have_a_fixed_size_and_an_empty_shard_counts_nothing():
    empty = DatasetStats().as_dict()
    built = StatsBuilder().build().as_dict()
    assert json.dumps(built) == json.dumps(empty)
    for key in PERSON_NUMBERS:
        assert len(empty[key]["counts"]) == len(empty[key]["bin_edges"]) - 1 and empty[key]["unknown"] == 0
    for key, vocabulary in PERSON_NAMES.items():
        assert list(empty[key]) == [*vocabulary, "other", "unknown"] and not any(empty[key].values())
    assert list(empty["garments"])[:11] == [
        "sleeveless",
        "short_sleeve",
        "long_sleeve",
        "leotard",
        "trousers",
        "shorts",
        "leggings",
        "skirt",
        "dress",
        "socks",
        "shoes",
    ]


def test_person_histograms_of_two_shards_merge_in_any_order():
    rng = np.random.default_rng(1)
    styles, colors = PERSON_NAMES["hair_style"], PERSON_NAMES["hair_color"]

    def person() -> dict[str, Any]:
        kind = rng.integers(0, 4)
        if kind == 0:
            return MANNEQUIN
        if kind == 1:
            return OLD
        return anny(
            float(rng.uniform(0, 100)),
            str(rng.choice(["female", "male"])),
            float(rng.uniform(0.3, 2.3)),
            float(rng.uniform(8, 60)),
            float(rng.uniform()),
            (str(rng.choice(styles)), str(rng.choice(colors))),
            [str(g) for g in rng.choice(GARMENTS, int(rng.integers(0, 4)), replace=False)],
        )

    images = [[annotation(person()) for _ in range(k % 4)] for k in range(60)]
    shards = [StatsBuilder(), StatsBuilder()]
    whole = StatsBuilder()
    for k, image in enumerate(images):
        shards[k < 23].add_image(image, [])
        whole.add_image(image, [])
    a, b = shards[0].build(), shards[1].build()
    ab, ba = DatasetStats(), DatasetStats()
    ab.merge(a)
    ab.merge(b)
    ba.merge(b)
    ba.merge(a)
    expected = json.dumps(whole.build().as_dict())
    assert json.dumps(ab.as_dict()) == json.dumps(ba.as_dict()) == expected
    persons = sum(len(image) for image in images)
    h = ab.as_dict()
    assert sum(h["body_model"].values()) == sum(h["sex"].values()) == persons
    assert sum(h["age_years"]["counts"]) + h["age_years"]["unknown"] == persons


def test_each_person_histogram_has_a_plot(tmp_path: Path):
    stats = DatasetStats()
    stats.add_image([annotation(anny(30.0, "male", 1.8, 24.0, 0.4, ("short", "black"), ["shoes"]))], [])
    per_shard = [{"shard": 0, "images": 1, "annotations": 1, "render_seconds": 1.0}]
    names = {p.name for p in write_plots(stats, per_shard, tmp_path)}
    assert {f"{key}.png" for key in (*PERSON_NUMBERS, *PERSON_NAMES)} <= names
    for name in ("age_years.png", "skin_tone.png", "garments.png"):
        assert cv2.imread(str(tmp_path / name)) is not None


# --- real merges of fabricated shards ----------------------------------------------------------------------------

WIDTH, HEIGHT = 64, 48
TINY_MASK = 4  # px: below filters.min_visible_area=10
# shard -> frames -> people (attributes, visible area in px; 0: hidden, not annotated)
PEOPLE: list[list[list[tuple[dict[str, Any], int]]]] = [
    [
        [
            (anny(7.5, "female", 1.27, 16.5, 0.05, ("long", "blond"), ["short_sleeve", "shorts", "shoes"]), 200),
            (MANNEQUIN, 150),
        ],
        [
            (anny(72.0, "male", 1.72, 27.5, 0.95, ("bald", "grey"), ["long_sleeve", "trousers", "socks"]), 300),
            (anny(30.0, "female", 1.6, 21.0, 0.5, ("tied", "dyed"), ["leotard"]), TINY_MASK),
        ],
    ],
    [
        [
            (OLD, 120),
            (anny(95.0, "male", 1.97, 55.0, 1.0, ("short", "teal"), ["sleeveless", "skirt", "cape"]), 180),
            (anny(40.0, "female", 1.65, 22.0, 0.3, ("medium", "red"), ["dress"]), 0),
        ],
        [],
    ],
]
FEET = {
    "foot_keypoint_names": [
        "left_big_toe",
        "left_small_toe",
        "left_heel",
        "right_big_toe",
        "right_small_toe",
        "right_heel",
    ],
    "foot_keypoints_cam": [[0.1, 0.9, 3.0]] * 6,
    "foot_keypoints_2d": [[20.5, 40.25]] * 6,
    "foot_keypoints_visibility": [2, 1, 0, 2, 2, 1],
}


def fabricated_frame(frame: int, people: list[tuple[dict[str, Any], int]]) -> dict[str, Any]:
    """One frame the way render.py hands it to assemble_shard: image, annotations, record with every person."""
    annotations: list[dict[str, Any]] = []
    persons: list[dict[str, Any]] = []
    for index, (attributes, area) in enumerate(people):
        mask = np.zeros((HEIGHT, WIDTH), np.uint8)
        x0 = 2 + 20 * index
        if area:
            rows = max(1, area // 10) if area > TINY_MASK else 2
            mask[4 : 4 + rows, x0 : x0 + (10 if area > TINY_MASK else 2)] = 1
        rle = encode_rle(mask)
        visible, bbox = rle_area_bbox(rle)
        amodal = encode_rle(np.pad(mask[:, :-1], ((0, 0), (1, 0))) | mask)
        amodal_area, amodal_bbox = rle_area_bbox(amodal)
        annotated = visible > 0
        if annotated:
            keypoints = [v for k in range(17) for v in (bbox[0] + 0.5, bbox[1] + 0.25 * (k % 2), 2)]
            annotations.append(
                {
                    "segmentation": rle,
                    "area": visible,
                    "bbox": bbox,
                    "iscrowd": 0,
                    "category_id": 1,
                    "keypoints": keypoints,
                    "num_keypoints": 17,
                    "extremeness": 0.25 * index,
                    "person_index": len(persons),
                }
                | attributes
            )
        persons.append(
            {
                "name": f"person_{index}",
                "annotation_index": len(annotations) - 1 if annotated else None,
                "extremeness": 0.25 * index,
                "cam_R_m2c": np.eye(3).tolist(),
                "cam_t_m2c": [0.0, 100.0 * index, 3000.0],
                "keypoints_visibility": [2] * 17,
                "segmentation_amodal": amodal,
                "bbox_obj": amodal_bbox,
                "bbox_visib": bbox,
                "px_count_all": amodal_area,
                "px_count_visib": visible,
                "visib_fract": round(visible / max(amodal_area, 1), 4),
                "truncation": 0.0,
            }
            | attributes
            | (FEET if attributes.get("body_model") == "anny" else {})
        )
    record = {
        "viewpoint": "front",
        "cam_K": [[60.0, 0.0, 32.0], [0.0, 60.0, 24.0], [0.0, 0.0, 1.0]],
        "cam_R_w2c": np.eye(3).tolist(),
        "cam_t_w2c": [0.0, 0.0, 0.0],
        "depth_scale": 1.0,
        "persons": persons,
        "frame": frame,
        "scene": 0,
    }
    file_name = layout.image_file(frame, "jpg")
    image = {"file_name": file_name, "width": WIDTH, "height": HEIGHT, "scene": 0, "viewpoint": "front", "mode": "pose"}
    return {"image": image, "annotations": annotations, "record": record}


def fabricate_run(run_dir: Path) -> Path:
    for shard, frames in enumerate(PEOPLE):
        tmp = layout.temp_dir(run_dir, shard)
        (tmp / layout.IMAGES).mkdir(parents=True)
        (tmp / layout.SCENES).mkdir()
        (tmp / layout.CONFIG).write_text("# fabricated shard\nbody: {name: anny}\n")
        for frame in range(len(frames)):
            pixels = np.full((HEIGHT, WIDTH, 3), 60 * frame + 40 * shard, np.uint8)
            assert cv2.imwrite(str(tmp / layout.image_file(frame, "jpg")), pixels)
        scene = {"frames": [fabricated_frame(frame, people) for frame, people in enumerate(frames)]}
        counts = assemble_shard(tmp, [scene], {"description": f"fabricated shard {shard}"})
        done = {"shard": shard, "counts": counts, "mode": "pose", "end_time": "2025-01-01T00:00:00Z"}
        finalize(run_dir, shard, tmp, done | {"seconds": {"render": 1.0}, "wall_seconds": 1.0, "host": {}})
    return run_dir


@pytest.fixture
def fabricated_run(tmp_path: Path) -> Path:
    return fabricate_run(tmp_path / "r")


def kept_attributes(annotation: dict[str, Any]) -> dict[str, Any]:
    return {key: annotation[key] for key in ATTRIBUTE_KEYS if key in annotation}


def test_merge_counts_the_people_it_keeps_and_copies_their_fields(fabricated_run: Path):
    run = fabricated_run
    assert merge(run, "filters.min_visible_area=10", "workers=1").returncode == 0
    dataset = layout.dataset_dir(run)
    h = load(dataset / layout.DATASET_STATS)["histograms"]
    # kept: the girl, the mannequin, the old man, the old-shard person, the 95-year-old; the tiny one is filtered
    assert h["body_model"] == {"anny": 3, "mannequin": 1, "other": 0, "unknown": 1}
    assert h["sex"] == {"female": 1, "male": 2, "other": 0, "unknown": 2}
    assert [i for i, c in enumerate(h["age_years"]["counts"]) for _ in range(c)] == [1, 14, 17]
    assert h["age_years"]["unknown"] == 2
    assert h["skin_tone"]["counts"] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 2]
    assert sum(h["bmi"]["counts"]) == 3 and h["bmi"]["counts"][-1] == 1  # BMI 55: in the last bin
    assert h["hair_style"]["tied"] == 0 and h["hair_color"]["dyed"] == 0  # the filtered person is not counted
    assert h["hair_color"]["other"] == 1 and h["hair_color"]["unknown"] == 2
    assert h["garments"]["leotard"] == 0 and h["garments"]["dress"] == 0  # filtered / hidden
    assert h["garments"]["shoes"] == 1 and h["garments"]["other"] == 1 and h["garments"]["unknown"] == 2
    for key in (*PERSON_NUMBERS, *PERSON_NAMES):
        assert (dataset / "plots" / f"{key}.png").is_file()

    merged = [
        (image, a)
        for split in ("train", "val")
        for coco in [load(layout.instances_file(dataset, split))]
        for images in [{i["id"]: i for i in coco["images"]}]
        for a in coco["annotations"]
        for image in [images[a["image_id"]]]
    ]
    assert len(merged) == 5
    for image, merged_annotation in merged:
        source = load(layout.shard_dir(run, image["shard"]) / layout.COCO)
        frame_image = layout.image_file(image["frame"], "jpg")
        source_image = next(i for i in source["images"] if i["file_name"].endswith(frame_image))
        original = next(
            a
            for a in source["annotations"]
            if a["image_id"] == source_image["id"] and a["person_index"] == merged_annotation["person_index"]
        )
        ignored = ("id", "image_id")
        assert {k: v for k, v in merged_annotation.items() if k not in ignored} == {
            k: v for k, v in original.items() if k not in ignored
        }
    assert {a.get("body_model") for _, a in merged} == {"anny", "mannequin", None}
    girl = next(a for _, a in merged if a.get("age_years") == 7.5)
    assert kept_attributes(girl) == PEOPLE[0][0][0][0]

    # BOP gains nothing new; --check passes and recounts the people from the COCO files
    for info in load(layout.bop_chunk_dir(dataset, "train", 0) / "scene_gt_info.json").values():  # BOP's name
        for gt in info:
            assert set(gt) == {"bbox_obj", "bbox_visib", "px_count_all", "px_count_valid", "px_count_visib"} | {
                "visib_fract"
            }
    result = merge(run, "--check")
    assert result.returncode == 0 and "valid" in result.stdout

    stats_path = dataset / layout.DATASET_STATS
    stats = load(stats_path)
    stats["histograms"]["sex"]["female"] += 1
    stats_path.write_text(json.dumps(stats))
    result = merge(run, "--check")
    assert result.returncode == 1 and "histogram sex does not match" in result.stdout


def test_the_fast_path_without_bop_gives_the_same_statistics(fabricated_run: Path):
    run = fabricated_run
    shard = layout.shard_dir(run, 0)
    line = (shard / layout.FRAMES).read_bytes().splitlines()[0]
    assert b'"foot_keypoints_cam"' in line and b'"skin_tone"' in line  # the records carry the new fields
    fast = list(iter_frames(shard, full=False))
    full = list(iter_frames(shard, full=True))
    scalars = ("visib_fract", "truncation", "extremeness")
    assert [[{k: p[k] for k in scalars} for p in f["persons"]] for f in full] == [f["persons"] for f in fast]

    assert merge(run, "workers=1").returncode == 0
    stats = layout.dataset_dir(run) / layout.DATASET_STATS
    with_bop = load(stats)["histograms"]
    assert merge(run, "workers=1", "bop.enabled=false").returncode == 0
    assert not layout.bop_split_dir(layout.dataset_dir(run), "train").exists()
    assert load(stats)["histograms"] == with_bop
    assert with_bop["hair_style"]["tied"] == 1  # no filter this time: the tiny person counts
    assert merge(run, "--check").returncode == 0


def test_a_dataset_from_shards_without_person_fields_counts_them_unknown(fabricated_run: Path):
    run = fabricated_run
    for shard in (0, 1):
        directory = layout.shard_dir(run, shard)
        coco = load(directory / layout.COCO)
        for a in coco["annotations"]:
            for key in ATTRIBUTE_KEYS:
                a.pop(key, None)
        (directory / layout.COCO).write_text(json.dumps(coco))
    assert merge(run, "workers=1", "bop.enabled=false").returncode == 0
    h = load(layout.dataset_dir(run) / layout.DATASET_STATS)["histograms"]
    annotations = 6
    assert h["body_model"] == {"anny": 0, "mannequin": 0, "other": 0, "unknown": annotations}
    assert h["garments"]["unknown"] == annotations and sum(h["garments"].values()) == annotations
    assert sum(h["age_years"]["counts"]) == 0 and h["age_years"]["unknown"] == annotations
    assert merge(run, "--check").returncode == 0
