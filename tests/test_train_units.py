"""Train stage without Detectron2: config composition, dataset checks, weights, devices, multi-node launch values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bpgen.geometry.keypoints import PERSON_CATEGORY
from bpgen.run import layout
from bpgen_train.config import (
    TrainConfigError,
    available_configs,
    check_device,
    compose_train_config,
    parse_extra_eval,
    resolve_weights,
)
from bpgen_train.data import DatasetError, dataset_spec
from bpgen_train.launch import LaunchPlan, expand_hostlist, launch_plan


def test_the_three_configs_compose():
    assert available_configs() == ["cpu_smoke", "keypoint_rcnn_R_50_FPN", "mask_rcnn_R_50_FPN"]
    mask, _ = compose_train_config("mask_rcnn_R_50_FPN")
    keypoint, _ = compose_train_config("keypoint_rcnn_R_50_FPN")
    smoke, resolved = compose_train_config("cpu_smoke", ["solver.max_iter=30"])
    assert (mask.mask, mask.keypoints, mask.device, mask.weights) == (True, False, "cuda", "R-50.pkl")
    assert (keypoint.mask, keypoint.keypoints) == (False, True)
    assert keypoint.zoo_config == "COCO-Keypoints/keypoint_rcnn_R_50_FPN_3x.yaml"
    assert (smoke.device, smoke.from_scratch, smoke.norm, smoke.max_iter) == ("cpu", True, "GN", 30)
    assert smoke.mask and smoke.keypoints and resolved["solver"]["max_iter"] == 30


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        ("nope", [], "no train config 'nope'"),
        ("cpu_smoke", ["solver.nope=1"], "bad config override"),
        ("cpu_smoke", ["solver.steps=[50]"], "must be below solver.max_iter"),
        ("cpu_smoke", ["model.norm=LN"], "model.norm='LN'"),
        ("cpu_smoke", ["model.mask=false", "model.keypoints=false"], "enable at least one head"),
        ("cpu_smoke", ["opts=[MODEL.RPN.POST_NMS_TOPK_TRAIN]"], "KEY, VALUE pairs"),
    ],
)
def test_bad_train_configs(name: str, overrides: list[str], message: str):
    with pytest.raises(TrainConfigError, match=message):
        compose_train_config(name, overrides)


def test_weights_come_from_the_weights_dir_or_scratch(tmp_path: Path):
    config, _ = compose_train_config("mask_rcnn_R_50_FPN")
    with pytest.raises(TrainConfigError, match="model.weights=scratch"):
        resolve_weights(config, tmp_path)
    (tmp_path / "R-50.pkl").write_bytes(b"weights")
    assert resolve_weights(config, tmp_path) == tmp_path / "R-50.pkl"
    smoke, _ = compose_train_config("cpu_smoke")
    assert resolve_weights(smoke, tmp_path / "missing") is None


def test_gpu_config_without_gpu_is_refused():
    config, _ = compose_train_config("mask_rcnn_R_50_FPN")
    with pytest.raises(TrainConfigError, match="device=cpu"):
        check_device(config, cuda_devices=0)
    check_device(config, cuda_devices=4)
    check_device(compose_train_config("cpu_smoke")[0], cuda_devices=0)


def test_extra_eval_set(tmp_path: Path):
    (tmp_path / "val.json").write_text("{}")
    assert parse_extra_eval(f"real:{tmp_path / 'val.json'}:{tmp_path}") == ("real", tmp_path / "val.json", tmp_path)
    assert parse_extra_eval("") is None
    with pytest.raises(TrainConfigError, match="NAME:JSON:IMAGE_ROOT"):
        parse_extra_eval("real")


def fake_dataset(root: Path, categories: list[dict] | None = None, train_images: int = 3) -> Path:
    """The files a merge writes that registration reads (stats.json, a COCO file and image dir per split)."""
    (root / layout.ANNOTATIONS).mkdir(parents=True)
    for split in ("train", "val"):
        layout.dataset_images_dir(root, split).mkdir(parents=True)
        coco = {
            "info": {},
            "licenses": [],
            "categories": categories or [PERSON_CATEGORY],
            "images": [],
            "annotations": [],
        }
        layout.instances_file(root, split).write_text(json.dumps(coco))
    counts = {"images": {"train": train_images, "val": 1}, "annotations": {"train": 5, "val": 2}}
    (root / layout.DATASET_STATS).write_text(json.dumps({"counts": counts}))
    return root


def test_dataset_spec_of_a_merged_dataset(tmp_path: Path):
    dataset = layout.dataset_dir(tmp_path)
    spec = dataset_spec(fake_dataset(dataset))
    assert spec.splits["train"].name == "bpgen_train" and spec.splits["val"].images == 1
    assert spec.splits["train"].image_root == layout.dataset_images_dir(dataset, "train")
    assert spec.thing_classes == ("person",) and len(spec.keypoint_names) == 17
    assert ("left_eye", "right_eye") in spec.keypoint_flip_map and (16, 14) in spec.skeleton


def test_dataset_errors_name_the_fix(tmp_path: Path):
    with pytest.raises(DatasetError, match="merge the run first"):
        dataset_spec(tmp_path / "nothing")
    with pytest.raises(DatasetError, match="one 'person' category"):
        dataset_spec(fake_dataset(tmp_path / "cats", [{"id": 1, "name": "cat", "keypoints": []}]))
    with pytest.raises(DatasetError, match="no training images"):
        dataset_spec(fake_dataset(tmp_path / "empty", train_images=0))


@pytest.mark.parametrize(
    ("nodelist", "hosts"),
    [
        ("gpu017", ["gpu017"]),
        ("gpu[01-03]", ["gpu01", "gpu02", "gpu03"]),
        ("gpu[08-09,12],login2", ["gpu08", "gpu09", "gpu12", "login2"]),
        ("a[1-2]-ib", ["a1-ib", "a2-ib"]),
        ("rack[1-2]-n[01-02]", ["rack1-n01", "rack1-n02", "rack2-n01", "rack2-n02"]),
    ],
)
def test_slurm_hostlists(nodelist: str, hosts: list[str]):
    assert expand_hostlist(nodelist) == hosts


def test_launch_values_from_slurm_variables():
    environ = {
        "SLURM_JOB_ID": "4242",
        "SLURM_JOB_NUM_NODES": "3",
        "SLURM_NODEID": "2",
        "SLURM_JOB_NODELIST": "gpu[07-09]",
    }
    assert launch_plan(environ, gpus_on_node=4) == LaunchPlan(4, 3, 2, "tcp://gpu07:24242")
    assert launch_plan({"SLURM_JOB_ID": "7", "SLURM_JOB_NUM_NODES": "1", "SLURM_JOB_NODELIST": "n1"}, 2) == LaunchPlan(
        2, 1, 0, "auto"
    )
    assert launch_plan({}, gpus_on_node=0) == LaunchPlan(1, 1, 0, "auto")


def test_detectron2_keys_pass_through_in_order_opts_last():
    config, resolved = compose_train_config(
        "cpu_smoke", ["solver.max_iter=30", "+solver.gamma=0.5", "opts=[MODEL.RPN.POST_NMS_TOPK_TRAIN,1000]"]
    )
    pairs = dict(config.detectron2)
    assert pairs["SOLVER.MAX_ITER"] == 30 and pairs["SOLVER.GAMMA"] == 0.5 and pairs["SEED"] == 0
    assert pairs["SOLVER.CLIP_GRADIENTS.ENABLED"] is True and pairs["SOLVER.STEPS"] == ()
    assert pairs["INPUT.MIN_SIZE_TRAIN"] == (96,) and pairs["DATALOADER.NUM_WORKERS"] == 0
    assert pairs["TEST.EVAL_PERIOD"] == 0
    assert config.detectron2[-1] == ("MODEL.RPN.POST_NMS_TOPK_TRAIN", 1000)
    assert config.max_iter == 30 and resolved["solver"]["gamma"] == 0.5
    assert not any(name.startswith(("DATASETS.", "OUTPUT_DIR")) for name, _ in config.detectron2)
