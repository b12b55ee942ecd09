"""The pure parts of the realism benchmark (bench/realism_metrics.py, bench/blazepose_eval.py's per-person step,
bench/bench_realism.py's shard plan): no mediapipe, no rendering."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import realism_metrics as rm  # noqa: E402


def keypoints(points: dict[int, tuple[float, float, int]]) -> list[float]:
    flat = [0.0] * 51
    for index, (x, y, v) in points.items():
        flat[3 * index : 3 * index + 3] = [x, y, v]
    return flat


def test_oks_matches_hand_computed_value() -> None:
    # nose 5 px off (d^2 = 25), left hip exact, right ankle unlabelled (v=0) and far off: ignored.
    gt = keypoints({0: (10.0, 10.0, 2), 11: (50.0, 60.0, 1), 16: (5.0, 5.0, 0)})
    pred = np.zeros((17, 2))
    pred[0] = (13.0, 14.0)
    pred[11] = (50.0, 60.0)
    pred[16] = (500.0, 500.0)
    nose = math.exp(-25.0 / (2 * 10000.0 * (2 * 0.026) ** 2))  # 0.6298...
    assert rm.oks(pred, gt, area=10000.0) == pytest.approx((nose + 1.0) / 2)
    assert nose == pytest.approx(0.62985, abs=1e-5)


def test_oks_agrees_with_pycocotools() -> None:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(3)
    gt_xy = rng.uniform(100, 300, size=(17, 2))
    visibility = rng.integers(0, 3, size=17)
    visibility[0] = 2
    gt = np.concatenate([gt_xy, visibility[:, None]], axis=1).ravel().tolist()
    pred = gt_xy + rng.normal(0, 6, size=(17, 2))
    area = 5400.0
    coco = COCO()
    coco.dataset = {
        "info": {},
        "images": [{"id": 1, "width": 640, "height": 480}],
        "categories": [{"id": 1, "name": "person"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [90, 90, 220, 220], "area": area, "iscrowd": 0,
             "keypoints": gt, "num_keypoints": int((visibility > 0).sum())}
        ],
    }  # fmt: skip
    coco.createIndex()
    flat = np.concatenate([pred, np.ones((17, 1))], axis=1).ravel().tolist()
    dt = coco.loadRes([{"image_id": 1, "category_id": 1, "keypoints": flat, "score": 1.0}])
    evaluation = COCOeval(coco, dt, "keypoints")
    evaluation._prepare()
    expected = evaluation.computeOks(1, 1)[0, 0]
    assert rm.oks(pred, gt, area) == pytest.approx(expected)


def test_oks_is_none_without_labelled_keypoints() -> None:
    assert rm.oks(np.zeros((17, 2)), [0.0] * 51, area=100.0) is None


def test_blazepose_to_coco_mapping() -> None:
    landmarks = np.stack([np.arange(33.0), np.zeros(33), np.ones(33)], axis=1)
    coco = rm.blazepose_to_coco(landmarks)
    assert coco.shape == (17, 3)
    assert coco[:, 0].tolist() == [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]
    # COCO 5 left_shoulder = BlazePose 11 left_shoulder; COCO 16 right_ankle = BlazePose 28 right_ankle
    assert coco[5, 0] == 11 and coco[16, 0] == 28 and coco[1, 0] == 2 and coco[2, 0] == 5
    with pytest.raises(ValueError, match="33 landmarks"):
        rm.blazepose_to_coco(np.zeros((17, 2)))


def test_crop_box_is_square_enlarged_and_clipped() -> None:
    assert rm.crop_box([100, 50, 40, 80], 640, 480) == (70, 40, 170, 140)  # side 80 * 1.25 = 100
    assert rm.crop_box([0, 0, 20, 40], 640, 480) == (0, 0, 35, 45)  # clipped at the top-left corner
    assert rm.crop_box([630, 470, 10, 10], 640, 480) == (627, 467, 640, 480)  # min side 16, clipped
    assert rm.crop_box([10, 10, 2, 2], 640, 480) == (3, 3, 19, 19)


def test_crop_coordinates_map_back_to_the_image() -> None:
    box = (70, 40, 170, 140)
    normalized = np.array([[0.0, 0.0], [1.0, 1.0], [0.5, 0.25]])
    assert rm.to_image_coordinates(normalized, box).tolist() == [[70, 40], [170, 140], [120, 65]]
    clipped = (0, 0, 35, 45)  # not square: x and y scale by the crop's own width and height
    assert rm.to_image_coordinates(np.array([[0.5, 0.5, 0.9]]), clipped).tolist() == [[17.5, 22.5]]


def test_centroid_inside() -> None:
    assert rm.centroid_inside(np.array([[0.0, 0.0], [20.0, 20.0]]), [5, 5, 10, 10])
    assert not rm.centroid_inside(np.array([[0.0, 0.0], [2.0, 2.0]]), [5, 5, 10, 10])


def test_summarize_and_aggregate() -> None:
    records = [
        {"run": "anny", "mode": "pose", "found": True, "oks": 0.8},
        {"run": "anny", "mode": "pose", "found": True, "oks": None},  # found, no labelled keypoints
        {"run": "anny", "mode": "occlusion", "found": False, "oks": 0.9},  # a miss counts 0 in mean_oks_all
        {"run": "mannequin", "mode": "pose", "found": False, "oks": None},
    ]
    groups = rm.aggregate(records, lambda r: r["run"])
    assert list(groups) == ["anny", "mannequin"]
    anny = groups["anny"]
    assert anny["people"] == 3 and anny["found"] == 2 and anny["found_share"] == pytest.approx(0.6667)
    assert anny["mean_oks_found"] == pytest.approx(0.8) and anny["oks_people"] == 1
    assert anny["mean_oks_all"] == pytest.approx(0.4)
    assert anny["oks50_share"] == pytest.approx(0.5)  # of the two with labelled keypoints, the found 0.8 one
    assert groups["mannequin"] == {
        "people": 1,
        "found": 0,
        "found_share": 0.0,
        "oks_people": 0,
        "mean_oks_found": None,
        "mean_oks_all": None,
        "oks50_share": None,
        "mean_seg_iou": None,
    }
    assert rm.summarize([])["found_share"] is None
    by_mode = rm.aggregate(records, lambda r: (r["mode"], r["run"]))
    table = rm.comparison_table("mode", {"pose": {"anny": by_mode[("pose", "anny")]}}, ["anny", "mannequin"])
    assert "| pose | 2 | 100% | 0.800 | - | - | - |" in table


def test_intervals_bootstrap_over_scenes() -> None:
    """Scenes are resampled whole: a group whose scenes all agree has a zero-width interval however many people
    it holds; the interval of a mixed group holds its value and narrows with more scenes."""
    same = [{"found": True, "oks": 0.9, "seg_iou": 0.8, "scene": i // 3} for i in range(30)]
    summary = rm.with_intervals(same, lambda r: r["scene"], np.random.default_rng(0))
    assert summary["clusters"] == 10 and summary["found_share_ci"] == [1.0, 1.0]
    assert summary["mean_seg_iou"] == pytest.approx(0.8) and summary["oks50_share_ci"] == [1.0, 1.0]

    def mixed(scenes: int) -> dict:
        records = [{"found": s % 2 == 0, "oks": 0.7, "scene": s} for s in range(scenes) for _ in range(2)]
        return rm.with_intervals(records, lambda r: r["scene"], np.random.default_rng(1))

    small, large = mixed(20), mixed(400)
    for summary in (small, large):
        low, high = summary["found_share_ci"]
        assert summary["found_share"] == pytest.approx(0.5) and low <= 0.5 <= high
    assert (
        large["found_share_ci"][1] - large["found_share_ci"][0]
        < small["found_share_ci"][1] - small["found_share_ci"][0]
    )
    assert rm.with_intervals([], lambda r: 0, np.random.default_rng(0))["found_share_ci"] is None
    few = rm.with_intervals(same[:12], lambda r: r["scene"], np.random.default_rng(0))  # 4 scenes: no interval
    assert few["clusters"] == 4 and few["found_share_ci"] is None and few["found_share"] == 1.0


def test_mask_iou_and_bands() -> None:
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2] = True
    b[1:3] = True
    assert rm.mask_iou(a, b) == pytest.approx(4 / 12, abs=1e-4)
    assert rm.mask_iou(np.zeros((2, 2), bool), np.zeros((2, 2), bool)) is None
    with pytest.raises(ValueError):
        rm.mask_iou(a, np.zeros((3, 3), bool))
    assert [rm.band(h, rm.HEIGHT_BANDS) for h in (10, 95.9, 96, 191, 192, 480)] == [
        "<96 px", "<96 px", "96-192 px", "96-192 px", ">=192 px", ">=192 px"
    ]  # fmt: skip
    assert rm.band(None, rm.EXTREMENESS_BANDS) == "unknown" and rm.band(1.0, rm.EXTREMENESS_BANDS) == "0.45-1"


def test_cost_summary_and_table() -> None:
    def done(images: int, scenes: int, build: float, render: float) -> dict:
        return {
            "counts": {"images": images, "scenes": scenes},
            "seconds": {"scene_build": build, "render": render, "labels_and_writing": 1.0},
        }

    anny = rm.cost_summary([done(8, 2, 4.0, 160.0), done(4, 1, 2.0, 80.0)])
    assert anny["images"] == 12 and anny["s_per_image"] == pytest.approx(246.0 / 12, abs=1e-3)
    assert anny["build_share"] == pytest.approx(6.0 / 240.0)
    # 2 s per scene against 8 frames of 20 s
    assert anny["build_share_at_reference"] == pytest.approx(2.0 / 160.0)
    mannequin = rm.cost_summary([done(12, 3, 3.0, 120.0)])
    table = rm.cost_table({"anny": anny, "mannequin": mannequin}, reference="mannequin")
    assert f"| {anny['s_per_image'] / mannequin['s_per_image']:.2f}x |" in table
    with pytest.raises(ValueError):
        rm.cost_summary([])


def test_evaluate_person_maps_a_crop_result_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """blazepose_eval's per-person step with a stand-in for BlazePose: crop, back-mapping, found, OKS."""
    import blazepose_eval

    image = np.zeros((480, 640, 3), dtype=np.uint8)
    ann = {"bbox": [100, 50, 40, 80], "area": 2000.0, "keypoints": keypoints({0: (120.0, 60.0, 2)})}
    seen = {}

    class FakePose:
        def __init__(self, x: float, y: float) -> None:
            self.x, self.y = x, y

        def process(self, crop: np.ndarray):
            seen["shape"] = crop.shape
            points = [SimpleNamespace(x=self.x, y=self.y, visibility=0.9) for _ in range(33)]
            return SimpleNamespace(pose_landmarks=SimpleNamespace(landmark=points))

    # crop (70, 40, 170, 140): normalised (0.5, 0.2) is pixel (120, 60), the labelled nose
    record = blazepose_eval.evaluate_person(FakePose(0.5, 0.2), image, ann)
    assert seen["shape"] == (100, 100, 3)
    assert record["crop"] == [70, 40, 170, 140] and record["detected"] and record["found"]
    assert record["oks"] == pytest.approx(1.0) and record["predicted"][0] == [120.0, 60.0, 0.9]
    outside = blazepose_eval.evaluate_person(FakePose(0.01, 0.01), image, ann)  # centroid (71, 41): not in box
    assert outside["detected"] and not outside["found"]
    nobody = SimpleNamespace(process=lambda crop: SimpleNamespace(pose_landmarks=None))
    missed = blazepose_eval.evaluate_person(nobody, image, ann | {"keypoints": [0.0] * 51})
    assert missed == {"crop": [70, 40, 170, 140], "labelled_keypoints": 0, "detected": False, "found": False,
                      "oks": None, "seg_iou": None, "predicted": None}  # fmt: skip


def test_arms_interleave_their_shards_and_families_render_only_that_family() -> None:
    import bench_realism

    from bpgen.render.config import compose_render_config

    args = bench_realism.parse_args(["--arm", "control:40:pose=everyday,mode=pose", "--arm", "default:20:mode=pose",
                                     "--shard-images", "16", "--families", "bridge"])  # fmt: skip
    shards = bench_realism.plan_shards(args)
    assert [(s["arm"], s["shard"], s["images"]) for s in shards] == [
        ("control", 0, 16), ("default", 0, 16), ("family_bridge", 0, 8), ("control", 1, 16), ("default", 1, 4),
        ("control", 2, 8),
    ]  # fmt: skip
    control = compose_render_config(shards[0]["overrides"])[0]
    assert control.pose.strategy_mix == {"everyday": 1.0} and control.mode.name == "pose"
    bridge = compose_render_config(shards[2]["overrides"])[0]
    assert bridge.pose.strategy_mix == {"bridge": 1.0}
    default = bench_realism.parse_args([])
    assert {"control", "default"} <= set(default.arms) and default.arms["control"][0] >= 100


def test_sheet_png_is_shrunk_below_the_limit(tmp_path: Path) -> None:
    import bench_realism

    noise = np.random.default_rng(0).integers(0, 255, size=(300, 400, 3), dtype=np.uint8)
    size = bench_realism.write_png(tmp_path / "sheet.png", noise, max_bytes=100_000)
    assert size <= 100_000 and (tmp_path / "sheet.png").stat().st_size == size
    import cv2

    assert cv2.imread(str(tmp_path / "sheet.png")).shape[1] < 400
