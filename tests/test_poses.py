import numpy as np
import pytest

from bpgen.appearance.config import LookConfig
from bpgen.bodies import IGNORED_CAPSULE_PAIRS, BodyShape
from bpgen.bodies.config import BodyConfig
from bpgen.bodies.mannequin import MannequinBody
from bpgen.geometry.collision import self_collisions
from bpgen.geometry.keypoints import BODY_JOINTS
from bpgen.geometry.rotations import axis_angle_to_matrix, euler_xyz_to_matrix, matrix_to_axis_angle
from bpgen.poses.config import PoseConfig
from bpgen.poses.joints import JOINT_LIMITS, limits_array, mirror_euler
from bpgen.poses.person import sample_person
from bpgen.poses.sampler import (
    EXTREME,
    NORMAL,
    STRATEGIES,
    extremeness,
    sample_extreme,
    sample_joint_angles,
    sample_uniform,
)
from bpgen.poses.skeleton import Skeleton

MANNEQUIN = BodyConfig("mannequin")
ORIENTATIONS = {"upright": 1.0, "tilted": 1.0, "lying": 1.0, "inverted": 1.0, "random": 1.0}


@pytest.fixture(scope="module")
def body():
    return MannequinBody()


def test_normal_ranges_lie_inside_extreme_ranges():
    assert (EXTREME[..., 0] <= NORMAL[..., 0] + 1e-12).all() and (NORMAL[..., 1] <= EXTREME[..., 1] + 1e-12).all()
    assert (NORMAL[..., 0] <= NORMAL[..., 1]).all()
    # anatomical, not the mannequin's +-pi: no DOF may reach 180 degrees either way
    assert np.abs(limits_array("extreme")).max() < np.pi


def test_right_side_mirrors_left():
    left, right = JOINT_LIMITS["L_Hip"].extreme, JOINT_LIMITS["R_Hip"].extreme
    assert right[0] == left[0] and right[1] == (-left[1][1], -left[1][0]) and right[2] == (-left[2][1], -left[2][0])


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_stays_within_extreme_ranges(body, strategy):
    rng = np.random.default_rng(1)
    skeleton = Skeleton.of(body.pose(np.zeros((21, 3)), BodyShape(np.zeros(10))))
    for _ in range(30):
        euler = sample_joint_angles(rng, strategy, skeleton=skeleton).euler
        assert euler.shape == (len(BODY_JOINTS), 3)
        assert (euler >= EXTREME[..., 0] - 1e-9).all() and (euler <= EXTREME[..., 1] + 1e-9).all()


def test_uniform_stays_within_normal_ranges_and_is_deterministic():
    a = sample_uniform(np.random.default_rng(7))
    b = sample_uniform(np.random.default_rng(7))
    assert np.array_equal(a, b)
    assert (a >= NORMAL[..., 0]).all() and (a <= NORMAL[..., 1]).all()
    assert not np.array_equal(a, sample_uniform(np.random.default_rng(8)))


def test_extreme_strategy_is_more_extreme_than_uniform():
    rng = np.random.default_rng(0)
    uniform = np.mean([extremeness(sample_uniform(rng)) for _ in range(200)])
    extreme = np.mean([extremeness(sample_extreme(rng)) for _ in range(200)])
    assert extreme > uniform + 0.15
    assert extremeness(np.zeros((21, 3))) == 0.0
    assert extremeness(EXTREME[..., 1]) == pytest.approx(1.0)


def test_mirror_is_an_involution():
    euler = sample_extreme(np.random.default_rng(3))
    assert np.allclose(mirror_euler(mirror_euler(euler)), euler)


def test_body_pose_matches_euler_rotation():
    angles = sample_joint_angles(np.random.default_rng(5), "extreme")
    assert np.allclose(axis_angle_to_matrix(angles.body_pose), euler_xyz_to_matrix(angles.euler), atol=1e-6)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_people_have_no_self_intersection_and_rest_on_or_above_the_floor(body, strategy):
    config = PoseConfig(strategy_mix={strategy: 1.0}, orientation_mix=ORIENTATIONS)
    rng = np.random.default_rng(11)
    for _ in range(3):
        person = sample_person(rng, body, config, MANNEQUIN, LookConfig())
        lowest = person.posed.vertices[:, 2].min()
        raised = person.seat.raised if person.seat is not None else 0.0
        assert lowest == pytest.approx(person.angles.lift + raised, abs=1e-6)
        assert lowest >= -1e-9
        assert person.attempts >= 1
        assert 0.0 <= person.extremeness <= 1.0


def test_rejected_poses_really_intersect(body):
    """The pose sampler rejects a pose whose hand goes through the chest."""
    euler = np.zeros((21, 3))
    euler[BODY_JOINTS.index("L_Shoulder")] = np.radians([0, -90, -10])  # arm forward
    euler[BODY_JOINTS.index("L_Elbow")] = np.radians([0, -150, 0])  # forearm folded back into the chest
    posed = body.pose(matrix_to_axis_angle(euler_xyz_to_matrix(euler)), BodyShape(np.zeros(10)))
    assert self_collisions(posed.capsules, IGNORED_CAPSULE_PAIRS)
    rest = body.pose(np.zeros((21, 3)), BodyShape(np.zeros(10)))
    assert not self_collisions(rest.capsules, IGNORED_CAPSULE_PAIRS)


def test_person_sampling_is_deterministic(body):
    config = PoseConfig(strategy_mix={s: 1.0 for s in STRATEGIES}, orientation_mix=ORIENTATIONS)
    a = sample_person(np.random.default_rng(42), body, config, MANNEQUIN, LookConfig())
    b = sample_person(np.random.default_rng(42), body, config, MANNEQUIN, LookConfig())
    assert np.array_equal(a.posed.vertices, b.posed.vertices) and a.angles.strategy == b.angles.strategy
