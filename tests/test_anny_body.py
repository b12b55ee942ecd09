"""The anny body: joint map, phenotypes, keypoints, capsules, dressing, cache (real anny model, no Blender)."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpgen.appearance.look import sample_look
from bpgen.bodies import IGNORED_CAPSULE_PAIRS, BodyAssetError
from bpgen.bodies.anny_surface import SLOT
from bpgen.bodies.joint_map import SMPL_JOINTS
from bpgen.geometry.collision import bodies_overlap, self_collisions
from bpgen.geometry.rotations import euler_xyz_to_matrix, matrix_to_axis_angle
from bpgen.poses.joints import joint_index
from bpgen.poses.person import sample_person
from bpgen.render.config import compose_render_config
from bpgen.scene.plan import plan_scene

pytestmark = pytest.mark.anny
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def body():
    from bpgen.bodies import load_body

    return load_body("anny")


@pytest.fixture(scope="module")
def config():
    return compose_render_config([])[0]


def shape_of(body, config, seed=1, **body_overrides):
    body_config = dataclasses.replace(config.body, **body_overrides)
    return body.sample_shape(np.random.default_rng(seed), body_config)


def pose(body, shape, **angles_deg):
    euler = np.zeros((21, 3))
    for name, (axis, degrees) in angles_deg.items():
        euler[joint_index(name), axis] = np.radians(degrees)
    return body.pose(matrix_to_axis_angle(euler_xyz_to_matrix(euler)), shape)


def angle_deg(a, b):
    return float(np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))))


@pytest.mark.parametrize("flexion", [30.0, 90.0, 120.0, 150.0])
def test_knee_flexion_in_the_sampler_is_the_angle_between_thigh_and_shin(body, config, flexion):
    posed = pose(body, shape_of(body, config), L_Knee=(0, flexion), L_Hip=(0, -40.0))
    thigh = posed.joint("L_Knee") - posed.joint("L_Hip")
    shin = posed.joint("L_Ankle") - posed.joint("L_Knee")
    assert angle_deg(thigh, shin) == pytest.approx(flexion, abs=1e-3)
    assert shin[1] > 0 or flexion < 45  # flexion folds the shin backwards (anny faces -y)


def test_zero_pose_is_the_samplers_t_pose_and_joints_turn_the_documented_way(body, config):
    shape = shape_of(body, config)
    rest = pose(body, shape)
    for side, sign in (("L", 1.0), ("R", -1.0)):
        upper = rest.joint(f"{side}_Elbow") - rest.joint(f"{side}_Shoulder")
        fore = rest.joint(f"{side}_Wrist") - rest.joint(f"{side}_Elbow")
        assert angle_deg(upper, np.array([sign, 0.0, 0.0])) < 1e-3 and angle_deg(fore, upper) < 1e-3
        thigh = rest.joint(f"{side}_Knee") - rest.joint(f"{side}_Hip")
        assert angle_deg(thigh, np.array([0.0, 0.0, -1.0])) < 1e-3
    # hip flexion (x < 0) lifts the leg forward: -90 degrees puts the thigh horizontal, in front (-y)
    flexed = pose(body, shape, L_Hip=(0, -90.0))
    thigh = flexed.joint("L_Knee") - flexed.joint("L_Hip")
    assert angle_deg(thigh, np.array([0.0, -1.0, 0.0])) < 1e-3
    # lowering the left arm from the T-pose (shoulder z < 0) by 90 degrees hangs it down
    lowered = pose(body, shape, L_Shoulder=(2, -90.0))
    arm = lowered.joint("L_Elbow") - lowered.joint("L_Shoulder")
    assert angle_deg(arm, np.array([0.0, 0.0, -1.0])) < 1e-3
    # elbow flexion (y < 0 on the left) swings the forearm forward
    bent = pose(body, shape, L_Elbow=(1, -90.0))
    fore = bent.joint("L_Wrist") - bent.joint("L_Elbow")
    assert angle_deg(fore, np.array([0.0, -1.0, 0.0])) < 1e-3


def test_phenotypes_follow_the_configured_ages_and_sexes(body, config):
    rng = np.random.default_rng(0)
    shapes = [body.sample_shape(rng, config.body) for _ in range(60)]
    ages = np.array([s.attributes["age_years"] for s in shapes])
    assert ages.min() >= 4.0 and ages.max() <= 80.0 and {s.attributes["sex"] for s in shapes} == {"female", "male"}
    heights = np.array([s.attributes["height_m"] for s in shapes])
    assert heights[ages < 10].mean() < 1.45 < heights[ages > 20].mean() < 1.95
    assert all(12.0 < s.attributes["bmi"] < 45.0 for s in shapes)
    kids = dataclasses.replace(config.body, age_years=(4.0, 8.0), age_mix={"child": 1.0})
    assert all(4.0 <= body.sample_shape(rng, kids).attributes["age_years"] <= 8.0 for _ in range(5))
    again = body.sample_shape(np.random.default_rng(0), config.body)
    assert again.attributes == shapes[0].attributes and np.array_equal(again.values, shapes[0].values)


def test_a_childs_capsules_are_a_childs_size(body, config):
    child = pose(body, shape_of(body, config, age_years=(5.0, 6.0), age_mix={"child": 1.0}))
    adult = pose(body, shape_of(body, config, age_years=(30.0, 31.0), age_mix={"adult": 1.0}))
    assert child.capsules.r.sum() < 0.8 * adult.capsules.r.sum()
    for posed in (child, adult):  # the rest pose does not collide with itself
        assert not self_collisions(posed.capsules, IGNORED_CAPSULE_PAIRS, 0.85)
        # every capsule is at most as thick as the body around it: its vertices lie mostly outside it
        assert np.all(posed.capsules.r < 0.25)


def test_keypoints_come_from_annys_regressor_on_face_and_feet(body, config):
    posed = pose(body, shape_of(body, config))
    nose, left_eye, right_eye, left_ear, right_ear = posed.keypoints[:5]
    head = posed.joint("Head")
    assert left_eye[0] > 0 > right_eye[0] and left_ear[0] > left_eye[0]  # +x is the body's left
    assert nose[1] < left_eye[1] < head[1] + 0.05 and nose[2] > head[2]  # nose in front (-y), above the neck
    faces_z = posed.vertices[:, 2]
    assert np.all(posed.foot_keypoints[:, 2] < faces_z.min() + 0.1)  # toes and heels at the soles
    big_toe, heel = posed.foot_keypoints[0], posed.foot_keypoints[2]
    assert big_toe[1] < heel[1]  # toes in front of the heel
    for name, index in (("left_wrist", 9), ("left_ankle", 15)):
        joint = posed.joint({"left_wrist": "L_Wrist", "left_ankle": "L_Ankle"}[name])
        assert np.linalg.norm(posed.keypoints[index] - joint) < 0.06


def test_dressing_adds_hair_and_garments_on_the_body(body, config):
    shape = shape_of(body, config, age_years=(25.0, 26.0), age_mix={"adult": 1.0})
    look_config = dataclasses.replace(
        config.look, hair_style_mix={"long": 1.0}, top_mix={"long_sleeve": 1.0}, bottom_mix={"trousers": 1.0},
        feet_mix={"shoes": 1.0},
    )  # fmt: skip
    look = sample_look(np.random.default_rng(3), look_config, shape.attributes)
    posed = pose(body, shape, L_Hip=(0, -100.0), L_Knee=(0, 90.0))
    dressed = body.dress(posed, shape, look)
    surface = dressed.surface
    assert surface is not None and len(surface.face_slots) == len(dressed.faces) == len(surface.uv) // 3
    assert len(surface.rest) == len(dressed.vertices) > len(posed.vertices)  # hair shell and curtain
    counts = np.bincount(surface.face_slots, minlength=len(surface.slots))
    for slot in ("skin", "hair", "iris", "pupil", "sclera", "mouth"):
        assert counts[SLOT[slot]] > 0, slot
    for layer in ("cover_top", "cover_bottom", "cover_feet", "brow", "hair"):  # shader layers over the skin
        values = surface.attributes[layer]
        assert len(values) == len(dressed.vertices) and (values > 0).any() and (values < 0).any(), layer
    sleeves = surface.attributes["cover_top"][: len(posed.vertices)]
    wrists = np.linalg.norm(posed.vertices - posed.joint("L_Wrist"), axis=1) < 0.03
    assert (sleeves[wrists] < 0).all()  # long sleeves end before the wrist
    # garments sit on the skin: moved outward by at most their thickness
    moved = np.linalg.norm(dressed.vertices[: len(posed.vertices)] - posed.vertices, axis=1)
    assert 0.0 < moved.max() <= 0.0151
    # keypoints and capsules are the body's, untouched by clothes
    assert np.array_equal(dressed.keypoints, posed.keypoints) and np.array_equal(dressed.capsules.r, posed.capsules.r)
    bald = dataclasses.replace(look, hair_style="bald", hair_length=0.0)
    bald_surface = body.dress(posed, shape, bald).surface
    assert not np.any(bald_surface.face_slots == SLOT["hair"]) and "hair" not in bald_surface.attributes


def test_people_rest_on_the_floor_and_never_overlap(body, config):
    occlusion, _ = compose_render_config(["mode=occlusion"])
    for seed in range(2):
        plan = plan_scene(np.random.default_rng(seed), occlusion, body, 1)
        for person in plan.people:
            assert person.posed.vertices[:, 2].min() >= -1e-9
            assert person.look is not None and person.shape.attributes["body_model"] == "anny"
        for i, a in enumerate(plan.people):
            for b in plan.people[i + 1 :]:
                assert not bodies_overlap(a.posed.capsules, b.posed.capsules)


def test_extreme_poses_are_found_with_a_reported_rejection_rate(body, config):
    rng = np.random.default_rng(5)
    attempts = [sample_person(rng, body, config.pose, config.body, config.look).attempts for _ in range(12)]
    assert np.mean(attempts) < 5  # most poses pass the self-intersection test on the first tries
    # DONE.json's pose_sampling: the shard loop sums each scene plan's pose_attempts and people
    plans = [plan_scene(np.random.default_rng(seed), config, body, 1) for seed in range(3)]
    people = sum(len(plan.people) for plan in plans)
    tried = sum(plan.pose_attempts for plan in plans)
    assert sum(plan.dropped_people for plan in plans) == 0  # so every attempt belongs to a placed person
    assert tried == sum(person.attempts for plan in plans for person in plan.people) >= people > 0
    rate = round(1.0 - people / tried, 4) if tried else 0.0  # as bpgen.render.shard reports it
    assert 0.0 <= rate < 1.0
    assert 0.0 <= 1.0 - len(attempts) / sum(attempts) < 0.8  # the draws above: fewer than 5 attempts a person


def test_missing_cache_is_one_clear_error(tmp_path):
    from bpgen.bodies.anny import AnnyBody

    with pytest.raises(BodyAssetError) as error:
        AnnyBody(tmp_path / "empty")
    message = str(error.value)
    assert "anny's model cache is missing" in message and "./0-setup" in message and "\n" not in message


def test_render_refuses_a_missing_cache_and_writes_nothing(tmp_path):
    env = {"BPGEN_CACHE_DIR": str(tmp_path / "no-cache"), "PATH": "/usr/bin:/bin"}
    run = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "bpgen.render", "--run-dir", str(run), "--shard", "0", "--images", "1"],
        cwd=ROOT, capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and result.stderr.startswith("error: body asset missing: anny's model cache")
    assert len(result.stderr.strip().splitlines()) == 1 and "./0-setup" in result.stderr and not run.exists()


def test_joint_names_are_smplx_names(body, config):
    posed = pose(body, shape_of(body, config))
    assert posed.joint_names == SMPL_JOINTS and posed.joints.shape == (22, 3)
