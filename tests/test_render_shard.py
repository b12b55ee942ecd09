"""Integration: really render tiny shards with Blender (Cycles CPU) through the CLI."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT, coco_of, frames_of, kill_after_first_scene, render_command, run_module, run_render, tiny
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from bpgen.run import layout

pytestmark = [pytest.mark.blender, pytest.mark.anny]
TINY = tiny(frames_per_scene=2, distractors=(1, 2))


def render(run_dir: Path, shard: int, images: int, *overrides: str, wait: bool = True, env: dict | None = None):
    if not wait:
        command = render_command(run_dir, shard, images, *TINY, *overrides)
        return subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
    result = run_render(run_dir, shard, images, *TINY, *overrides, env=env)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def occlusion_shard(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("run")
    render(run_dir, 1, 4, "mode=occlusion")
    return layout.shard_dir(run_dir, 1)


def test_shard_layout_and_done(occlusion_shard):
    done = json.loads((occlusion_shard / layout.DONE).read_text())
    assert done["counts"]["images"] == 4 and done["counts"]["scenes"] == 2
    assert done["versions"]["blender"].startswith("4.2") and done["versions"]["blenderproc"] == "2.8.0"
    assert set(done["seconds"]) == {"scene_build", "render", "labels_and_writing"}
    sampling = done["pose_sampling"]
    assert sampling["attempts"] >= sampling["people"] > 0  # people drawn and placed in the shard's scenes
    rate = sampling["self_intersection_rejection_rate"]
    assert rate == round(1.0 - sampling["people"] / sampling["attempts"], 4) and 0.0 <= rate < 1.0
    # pose.per_frame at 2 frames per scene: each person's second frame may be posed anew (or keep the first's)
    assert sampling["person_frames"] == 2 * sampling["people"] and 0 < sampling["reposed_person_frames"]
    assert sampling["reposed_person_frames"] <= sampling["people"]
    assert len(list((occlusion_shard / layout.IMAGES).glob("*.jpg"))) == 4
    assert not list(occlusion_shard.parent.glob(".*.tmp"))


def test_pycocotools_loads_the_shard_and_boxes_equal_mask_bounds(occlusion_shard):
    coco = COCO(str(occlusion_shard / layout.COCO))
    assert coco.getCatIds() == [1] and len(coco.getImgIds()) == 4
    anns = coco.loadAnns(coco.getAnnIds())
    assert anns, "an occlusion scene should show people"
    for ann in anns:
        mask = coco.annToMask(ann).astype(bool)
        assert mask.sum() == ann["area"] > 0
        rows, cols = np.nonzero(mask)
        assert ann["bbox"] == [
            cols.min(),
            rows.min(),
            cols.max() - cols.min() + 1,
            rows.max() - rows.min() + 1,
        ]
        assert ann["num_keypoints"] == sum(1 for v in ann["keypoints"][2::3] if v > 0)
        assert ann["iscrowd"] == 0 and 0.0 <= ann["extremeness"] <= 1.0


def test_every_visible_keypoint_lies_on_its_own_persons_mask(occlusion_shard):
    coco = COCO(str(occlusion_shard / layout.COCO))
    visible = 0
    for ann in coco.loadAnns(coco.getAnnIds()):
        mask = coco.annToMask(ann)
        height, width = mask.shape
        for x, y, v in np.array(ann["keypoints"]).reshape(-1, 3):
            if v == 2:
                visible += 1
                assert mask[int(y), int(x)] == 1
            if v > 0:
                assert 0 <= x < width and 0 <= y < height
    assert visible > 0


def test_frame_records_carry_camera_and_person_3d(occlusion_shard):
    frames = frames_of(occlusion_shard)
    assert [f["image_id"] for f in frames] == [1, 2, 3, 4]
    for frame in frames:
        K = np.array(frame["cam_K"])
        assert K.shape == (3, 3) and K[0, 2] == 32.0
        for person in frame["persons"]:
            assert len(person["joints_cam"]) == 22 and len(person["shape"]) == 6  # anny's phenotype
            assert person["body_model"] == "anny" and 4.0 <= person["age_years"] <= 80.0
            assert person["sex"] in ("female", "male") and 0.0 <= person["skin_tone"] <= 1.0
            assert len(person["foot_keypoints_2d"]) == 6 and len(person["foot_keypoints_visibility"]) == 6
            assert len(person["body_pose"]) == 21 and 0 <= person["visib_fract"] <= 1
            # the saved 2D keypoints are the projection of the saved 3D keypoints through K
            cam = np.array(person["keypoints_cam"])
            front = cam[:, 2] > 0
            uv = (cam[front] @ K.T)[:, :2] / cam[front][:, 2:]
            assert np.allclose(uv, np.array(person["keypoints_2d"])[front], atol=0.02)


@pytest.fixture(scope="module")
def single_person_shard(tmp_path_factory) -> Path:
    """One unoccluded person, PNG images and depth maps."""
    run_dir = tmp_path_factory.mktemp("single")
    render(run_dir, 0, 2, "mode=pose", "mode.people=[1,1]", "scene.distractors=[0,0]", "scene.walls=[0,0]",
           "resolution=[160,120]", "image_format=png", "write_depth=true")  # fmt: skip
    return layout.shard_dir(run_dir, 0)


def test_depth_maps_hold_the_camera_depth_of_the_surface(single_person_shard):
    import cv2

    from bpgen.geometry.labels import TOLERANCES

    frames = frames_of(single_person_shard)
    checked = 0
    for frame in frames:
        assert (single_person_shard / frame["file_name"]).suffix == ".png"
        depth = cv2.imread(str(single_person_shard / layout.depth_file(frame["frame"])), cv2.IMREAD_UNCHANGED)
        assert depth.dtype == np.uint16 and depth.shape == (120, 160)
        person = frame["persons"][0]
        for index, visibility in enumerate(person["keypoints_visibility"]):
            if visibility != 2:
                continue
            u, v = (int(c) for c in person["keypoints_2d"][index])
            z_mm = person["keypoints_cam"][index][2] * 1000.0
            surface = float(depth[v, u])  # planar depth, not range; one coarse pixel (60 mm) of slack
            if index < 5:  # face keypoints lie on the surface
                assert abs(surface - z_mm) < 60.0, (index, surface, z_mm)
            # a visible joint lies inside its limb: the surface in front of it, not nearer than its tolerance
            assert z_mm - 1000.0 * TOLERANCES[index] - 60.0 < surface < z_mm + 60.0, (index, surface, z_mm)
            checked += 1
    assert checked, "a single unoccluded person showed no visible keypoint in any frame"


def test_rendered_silhouette_matches_the_projected_mesh(single_person_shard):
    """The real Blender camera and bpgen's projection agree: an unoccluded person's rendered mask and the
    rasterised projection of its mesh overlap almost entirely."""
    shard = single_person_shard
    frames = frames_of(shard)
    coco = COCO(str(shard / layout.COCO))
    checked = 0
    for frame in frames:
        for person in frame["persons"]:
            if person["px_count_visib"] < 50:  # a person partly outside the image is cut alike in both masks
                continue
            amodal = mask_utils.decode(
                dict(person["segmentation_amodal"], counts=person["segmentation_amodal"]["counts"].encode())
            )
            ann = coco.loadAnns([person["annotation_id"]])[0]
            assert ann["image_id"] == frame["image_id"]
            visible = coco.annToMask(ann)
            iou = (amodal & visible).sum() / (amodal | visible).sum()
            assert iou > 0.8, iou
            checked += 1
    assert checked >= 1


def test_same_shard_twice_gives_identical_annotations_and_leaves_no_temp_files(occlusion_shard, tmp_path):
    temp = tmp_path / "tmp"  # the task's TMPDIR: Blender's session directory and BlenderProc's scratch go here
    temp.mkdir()
    render(tmp_path / "run", 1, 4, "mode=occlusion", env=dict(os.environ, TMPDIR=str(temp)))
    assert coco_of(layout.shard_dir(tmp_path / "run", 1), "info") == coco_of(occlusion_shard, "info")
    assert not list(temp.iterdir()), f"a finished task left {sorted(p.name for p in temp.iterdir())} in its TMPDIR"


def test_done_shard_is_skipped(occlusion_shard):
    before = (occlusion_shard / layout.DONE).read_text()
    result = render(occlusion_shard.parent.parent, 1, 4, "mode=occlusion")
    assert "already DONE" in result.stderr and (occlusion_shard / layout.DONE).read_text() == before


def test_killed_shard_is_not_done_and_a_rerun_completes_it(occlusion_shard, tmp_path):
    kill_after_first_scene(render(tmp_path, 1, 4, "mode=occlusion", wait=False), tmp_path, 1)
    shard = layout.shard_dir(tmp_path, 1)
    assert not (shard / layout.DONE).exists()
    result = render(tmp_path, 1, 4, "mode=occlusion")
    assert "resumed" in result.stderr
    assert (shard / layout.DONE).exists()
    assert coco_of(shard, "info") == coco_of(occlusion_shard, "info")


def test_preview_writes_a_contact_sheet(occlusion_shard, tmp_path):
    output = tmp_path / "sheet.png"
    result = run_module("bpgen.preview", str(occlusion_shard), "--output", str(output))
    assert result.returncode == 0, result.stderr
    import cv2

    sheet = cv2.imread(str(output))
    assert sheet is not None and sheet.shape[1] == 4 * 320


def test_missing_done_but_renamed_shard_is_finished_on_rerun(occlusion_shard, tmp_path):
    copy = layout.shard_dir(tmp_path, 1)
    shutil.copytree(occlusion_shard, copy)
    (copy / layout.DONE).unlink()
    render(tmp_path, 1, 4, "mode=occlusion")
    assert (copy / layout.DONE).exists() and coco_of(copy, "info") == coco_of(occlusion_shard, "info")


def test_missing_body_asset_is_a_clear_error_and_writes_nothing(tmp_path):
    """The real mannequin-x package with its wooden mannequin asset removed."""
    import mannequin

    package = Path(mannequin.__file__).parent
    broken = tmp_path / "site" / "mannequin"
    shutil.copytree(package, broken)
    (broken / "assets" / "wooden.npz").unlink()
    run_dir = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"))
    result = run_render(run_dir, 0, 1, *TINY, "body=mannequin", env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: body asset missing") and len(result.stderr.strip().splitlines()) == 1
    assert not run_dir.exists()


@pytest.mark.gpu
def test_gpu_render_uses_optix_or_cuda(tmp_path):
    render(tmp_path, 0, 2, "device=auto", "denoiser=OPTIX")
    done = json.loads((layout.shard_dir(tmp_path, 0) / layout.DONE).read_text())
    assert done["host"]["render_device"].split(":")[0] in ("OPTIX", "CUDA")


def test_done_shard_with_another_image_count_is_refused(occlusion_shard):
    result = run_render(occlusion_shard.parent.parent, 1, 6, *TINY, "mode=occlusion")
    assert result.returncode == 2 and "DONE with a different config or image count" in result.stderr


def test_occlusion_mode_hides_people_behind_others_and_occluders(occlusion_shard):
    frames = frames_of(occlusion_shard)
    persons = [p for f in frames for p in f["persons"]]
    assert min(p["visib_fract"] for p in persons) < 0.8
    assert any(v == 1 for p in persons for v in p["keypoints_visibility"])


@pytest.fixture(scope="module")
def seated_shard(tmp_path_factory) -> Path:
    """People sitting on seats (everyday template sit_seat), PNG images."""
    run_dir = tmp_path_factory.mktemp("seated")
    render(run_dir, 0, 2, "pose=everyday", "pose.everyday_templates=[sit_seat/relaxed,sit_seat/phone]",
           "mode.people=[2,2]", "scene.distractors=[0,0]", "scene.walls=[0,0]", "resolution=[160,120]",
           "image_format=png")  # fmt: skip
    return layout.shard_dir(run_dir, 0)


def test_seats_are_labelled_as_background_and_templates_are_recorded(seated_shard):
    """A seat is category 0: a seated person's visible mask stays inside the projection of its own mesh (a seat
    pixel in it would lie outside), and frames.jsonl and coco.json name the seat and the template."""
    coco = coco_of(seated_shard)
    templates = {ann["pose_template"] for ann in coco["annotations"]}
    assert templates and templates <= {"sit_seat/relaxed", "sit_seat/phone"}
    assert {ann["pose_strategy"] for ann in coco["annotations"]} == {"everyday"}
    persons = [p for f in frames_of(seated_shard) for p in f["persons"]]
    assert persons and all(p["seat"] in {"chair", "stool", "bench", "box", "step"} for p in persons)
    by_id = {ann["id"]: ann for ann in coco["annotations"]}
    checked = 0
    for person in persons:
        if person["annotation_id"] is None or person["px_count_visib"] < 30:
            continue
        rle = person["segmentation_amodal"]
        amodal = mask_utils.decode(dict(rle, counts=rle["counts"].encode())).astype(bool)
        ann_rle = by_id[person["annotation_id"]]["segmentation"]
        visible = mask_utils.decode(dict(ann_rle, counts=ann_rle["counts"].encode())).astype(bool)
        outside = np.count_nonzero(visible & ~amodal) / np.count_nonzero(visible)
        assert outside < 0.03, f"{outside:.1%} of {person['name']}'s visible mask lies off its own mesh"
        checked += 1
    assert checked >= 1


def test_each_frame_renders_its_own_pose(single_person_shard):
    """pose.per_frame: the scene's second frame shows the person in a new pose, and what Blender drew is that
    pose (the silhouette test above compares every frame's mask with its own frame's mesh)."""
    first, second = frames_of(single_person_shard)[:2]
    assert first["scene"] == second["scene"]
    a, b = first["persons"][0], second["persons"][0]
    assert a["shape"] == b["shape"] and a["strategy"] == b["strategy"]
    assert a["body_pose"] != b["body_pose"]
