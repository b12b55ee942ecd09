"""Everyday poses: every template on a real body (mannequin always, anny where installed), its seat, the skeleton's
forward kinematics and the constraint solver (numpy only, no Blender)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bpgen.appearance.config import LookConfig
from bpgen.bodies import CAPSULE_NAMES, IGNORED_CAPSULE_PAIRS
from bpgen.bodies.config import BodyConfig
from bpgen.bodies.mannequin import MannequinBody
from bpgen.geometry.collision import bodies_overlap, self_collisions
from bpgen.geometry.rotations import euler_xyz_to_matrix, matrix_to_axis_angle
from bpgen.poses.config import PoseConfig, pose_config_from_dict
from bpgen.poses.everyday import ARM_POINTS, BASES, TEMPLATES, TORSO_POINTS, sample_everyday
from bpgen.poses.person import allowed_contacts, foot_height, sample_person
from bpgen.poses.sampler import extremeness, sample_uniform
from bpgen.poses.seat import SEAT_HEIGHT_M, TOP_TOLERANCE_M, _sitting_points
from bpgen.poses.skeleton import JOINT, Skeleton, solve_bounded
from bpgen.render.config import compose_render_config

MANNEQUIN = BodyConfig("mannequin")
ORIENTATIONS = {"upright": 1.0}
PEOPLE_PER_TEMPLATE = 3


@pytest.fixture(scope="module")
def mannequin():
    return MannequinBody()


@pytest.fixture(scope="module")
def uniform_median():
    rng = np.random.default_rng(0)
    return float(np.median([extremeness(sample_uniform(rng)) for _ in range(400)]))


def everyday(template: str) -> PoseConfig:
    return PoseConfig(strategy_mix={"everyday": 1.0}, orientation_mix=ORIENTATIONS, everyday_templates=(template,))


def torso_tilt_deg(person) -> float:
    torso = person.posed.joint("Neck") - person.posed.joint("Pelvis")
    return float(np.degrees(np.arccos(torso[2] / np.linalg.norm(torso))))


def lowest_points(person, points: tuple[tuple[str, str], ...]) -> np.ndarray:
    """Each (joint, capsule)'s lowest point in the world: the joint's height minus the capsule's radius."""
    radii = person.posed.capsules.r
    return np.array([person.posed.joint(j)[2] - radii[CAPSULE_NAMES.index(c)] for j, c in points])


def check_person(person, template: str, uniform_median: float) -> None:
    base = BASES[template.split("/")[0]]
    assert person.angles.strategy == "everyday" and person.template == template
    assert person.extremeness < uniform_median, f"{template}: extremeness {person.extremeness:.2f}"
    hits = self_collisions(person.posed.capsules, allowed_contacts(person.angles.contacts), 0.85)
    assert not hits, f"{template}: {[(CAPSULE_NAMES[i], CAPSULE_NAMES[j]) for i, j in hits]}"
    raised = person.seat.raised if person.seat is not None else 0.0
    assert person.posed.vertices[:, 2].min() == pytest.approx(raised, abs=1e-6)
    if raised == 0.0:
        for side in person.angles.planted:
            assert (
                foot_height(person.posed, side) < 0.01
            ), f"{template}: {side} sole {foot_height(person.posed, side):.3f} m"
    if base.upright:
        assert torso_tilt_deg(person) < 15.0, f"{template}: torso tilted {torso_tilt_deg(person):.1f} deg"
    if base.lying:  # resting on the torso, not propped up on an arm reaching below it
        arms, torso = lowest_points(person, ARM_POINTS), lowest_points(person, TORSO_POINTS)
        assert arms.min() > torso.min() - 0.025, f"{template}: an arm {torso.min() - arms.min():.3f} m below the torso"
    if base.seat:
        seat = person.seat
        assert seat is not None and SEAT_HEIGHT_M[0] <= seat.height <= SEAT_HEIGHT_M[1]
        gap = seat.gap(_sitting_points(person.posed))
        assert -TOP_TOLERANCE_M <= gap < 0.01, f"{template}: seat gap {gap:.3f} m"
        assert not seat.intersects(person.posed.vertices)
    else:
        assert person.seat is None


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_on_the_mannequin(mannequin, uniform_median, template):
    rng = np.random.default_rng(TEMPLATES.index(template))
    for _ in range(PEOPLE_PER_TEMPLATE):
        check_person(
            sample_person(rng, mannequin, everyday(template), MANNEQUIN, LookConfig()), template, uniform_median
        )


@pytest.mark.anny
@pytest.mark.parametrize("base", tuple(BASES))
def test_every_base_on_anny_people_of_all_ages(uniform_median, base):
    from bpgen.bodies import load_body

    body = load_body("anny")
    config = compose_render_config(["body.age_mix={child: 1.0, adult: 1.0, elder: 1.0}"])[0]
    rng = np.random.default_rng(len(base))
    for gesture in BASES[base].gestures[:3]:
        template = f"{base}/{gesture}"
        person = sample_person(rng, body, everyday(template), config.body, config.look)
        check_person(person, template, uniform_median)


def test_contacts_are_allowed_only_where_a_template_makes_them(mannequin):
    """Hands on hips may touch the pelvis; a relaxed stand allows no contact between the legs; and the allowed
    pairs are what lets a pose with intended contacts through (the plain test rejects it)."""
    rng = np.random.default_rng(3)
    crossed = [sample_person(rng, mannequin, everyday("stand/arms_crossed"), MANNEQUIN, LookConfig()) for _ in range(3)]
    plain = [self_collisions(p.posed.capsules, IGNORED_CAPSULE_PAIRS, 0.85) for p in crossed]
    assert any(plain), "crossed arms touch the body: the plain self-collision test must see it"
    assert not any(self_collisions(p.posed.capsules, allowed_contacts(p.angles.contacts), 0.85) for p in crossed)
    relaxed = sample_person(rng, mannequin, everyday("stand/relaxed"), MANNEQUIN, LookConfig())
    legs = {name for pair in relaxed.angles.contacts for name in pair if "thigh" in name or "shin" in name}
    assert legs <= {"L_thigh", "R_thigh"}  # a hand may rest on its thigh; the legs never touch each other


def test_hands_reach_their_targets(mannequin):
    """Two-bone IK puts the palms where the gesture wants them: on the hips, about a hip width apart."""
    rng = np.random.default_rng(5)
    person = sample_person(rng, mannequin, everyday("stand/hands_on_hips"), MANNEQUIN, LookConfig())
    posed = person.posed
    for side in ("L", "R"):
        wrist, hip = posed.joint(f"{side}_Wrist"), posed.joint(f"{side}_Hip")
        assert np.linalg.norm(wrist - hip) < 0.25
    assert posed.joint("L_Wrist")[2] > posed.joint("L_Knee")[2] + 0.3  # the hands are up at the hips, not hanging


def test_seat_is_owned_by_its_person_and_an_obstacle_for_others(mannequin):
    rng = np.random.default_rng(8)
    person = sample_person(rng, mannequin, everyday("sit_seat/relaxed"), MANNEQUIN, LookConfig())
    assert person.seat is not None
    moved = person.moved(np.array([2.0, -1.0, 0.0]))
    assert moved.seat.parts[0].center == pytest.approx(
        np.array([*person.seat.parts[0].center]) + np.array([2.0, -1.0, 0.0])
    )
    assert len(moved.obstacles) == len(person.posed.capsules) + len(person.seat.parts)
    # another person standing where the seat is collides with it, not with the sitter's body
    stander = sample_person(rng, mannequin, everyday("stand/relaxed"), MANNEQUIN, LookConfig())
    seat_center = np.array(person.seat.parts[0].center)
    offset = seat_center - stander.posed.joint("Pelvis")
    offset[2] = 0.0
    on_seat = stander.moved(offset + np.array([0.0, 0.0, 0.0]))
    assert bodies_overlap(on_seat.posed.capsules, person.seat.capsules)


def test_everyday_is_deterministic_and_mirrors_both_ways(mannequin):
    rest = mannequin.pose(np.zeros((21, 3)), mannequin.sample_shape(np.random.default_rng(0), MANNEQUIN))
    skeleton = Skeleton.of(rest)
    a = sample_everyday(np.random.default_rng(4), skeleton, templates=("walk/relaxed",))
    b = sample_everyday(np.random.default_rng(4), skeleton, templates=("walk/relaxed",))
    assert np.array_equal(a.euler, b.euler) and a.planted == b.planted
    planted = {
        sample_everyday(np.random.default_rng(s), skeleton, templates=("walk/relaxed",)).planted for s in range(12)
    }
    assert planted == {("L",), ("R",)}


def test_skeleton_forward_kinematics_matches_the_mannequin(mannequin):
    shape = mannequin.sample_shape(np.random.default_rng(2), MANNEQUIN)
    skeleton = Skeleton.of(mannequin.pose(np.zeros((21, 3)), shape))
    rng = np.random.default_rng(3)
    for _ in range(5):
        euler = sample_uniform(rng)
        posed = mannequin.pose(matrix_to_axis_angle(euler_xyz_to_matrix(euler)), shape)
        assert np.allclose(skeleton.forward(euler).positions, posed.joints[: len(JOINT)], atol=1e-6)


def test_bounded_solver_finds_the_constrained_minimum():
    target = np.array([2.0, -3.0])
    x = solve_bounded(lambda x: x - target, np.zeros(2), np.array([-1.0, -1.0]), np.array([1.0, 1.0]))
    assert x == pytest.approx([1.0, -1.0], abs=1e-6)  # the bound closest to the unconstrained minimum
    x = solve_bounded(lambda x: np.array([x[0] ** 2 - 0.25, x[1] - 0.5]), np.array([0.9, 0.0]), -np.ones(2), np.ones(2))
    assert x == pytest.approx([0.5, 0.5], abs=1e-4)


def test_pose_config_names_its_templates_and_bases():
    pose = compose_render_config(["pose=everyday"])[0].pose
    assert pose.strategy_mix == {"everyday": 1.0}
    assert set(pose.everyday_bases) == set(BASES)
    mixed = compose_render_config([])[0].pose
    assert mixed.strategy_mix["everyday"] > 0
    share = mixed.strategy_mix["everyday"] / sum(mixed.strategy_mix.values())
    assert share == pytest.approx(1 / 3)  # the documented default (configs/pose/mixed.yaml, README)
    only = dataclasses.asdict(pose) | {"everyday_templates": ["sit_seat/phone"], "everyday_bases": None}
    assert pose_config_from_dict(only).everyday_templates == ("sit_seat/phone",)


@pytest.mark.anny
def test_anny_fingers_curl_toward_the_palm():
    from bpgen.bodies import load_body

    body = load_body("anny")
    config = compose_render_config([])[0]
    shape = body.sample_shape(np.random.default_rng(0), config.body)
    flat = body.pose(np.zeros((21, 3)), shape)
    assert np.array_equal(body.pose(np.zeros((21, 3)), shape, 0.0).vertices, flat.vertices)
    curled = body.pose(np.zeros((21, 3)), shape, 0.8)
    moved = np.linalg.norm(curled.vertices - flat.vertices, axis=1) > 0.01
    assert 500 < moved.sum() < 6000  # the fingers, not the arms
    assert (curled.vertices[moved, 2] - flat.vertices[moved, 2]).mean() < -0.01  # palms face down in the T-pose
    assert np.allclose(curled.joints, flat.joints) and np.allclose(curled.keypoints, flat.keypoints, atol=1e-3)
