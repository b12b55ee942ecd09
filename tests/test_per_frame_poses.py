"""Each frame of a scene poses its people anew (``pose.per_frame``), on the plan alone (numpy, the mannequin)."""

import numpy as np
import pytest
from helpers import assert_same_people_and_cameras

from bpgen.bodies.mannequin import MannequinBody
from bpgen.geometry.collision import bodies_overlap, spheres_hit_capsules
from bpgen.poses.joints import joint_index
from bpgen.poses.person import repose_person
from bpgen.render.config import compose_render_config
from bpgen.scene.plan import plan_scene
from bpgen.validate import ConfigError

BODY = MannequinBody()
FRAMES = 4


def plans(mode: str, seed: int, *overrides: str):
    on, _ = compose_render_config([f"mode={mode}", "resolution=[64,48]", *overrides])
    off, _ = compose_render_config([f"mode={mode}", "resolution=[64,48]", "pose.per_frame=false", *overrides])
    return (plan_scene(np.random.default_rng(seed), c, BODY, FRAMES) for c in (on, off))


@pytest.mark.parametrize("mode", ["pose", "occlusion"])
def test_per_frame_false_is_the_one_pose_plan_and_frame_zero_is_unchanged(mode):
    for seed in range(3):
        on, off = plans(mode, seed)
        assert off.frame_people == () and all(off.people_in(f) is off.people for f in range(FRAMES))
        assert len(on.frame_people) == FRAMES - 1
        # the new poses draw from streams spawned after everything else: frame 0 is the one-pose plan's
        for a, b in zip(on.people, off.people, strict=True):
            assert np.array_equal(a.posed.vertices, b.posed.vertices) and np.array_equal(a.rotation, b.rotation)
        assert np.array_equal(on.frames[0].camera.cam2world, off.frames[0].camera.cam2world)
        assert on.objects == off.objects and on.lights == off.lights and on.world == off.world


@pytest.mark.parametrize("mode", ["pose", "occlusion"])
def test_later_frames_hold_the_same_people_in_new_poses_clear_of_each_other_and_the_objects(mode):
    reposed = shown = 0
    for seed in range(3):
        plan, _ = plans(mode, seed)
        for frame in range(1, FRAMES):
            people = plan.people_in(frame)
            assert len(people) == len(plan.people)  # nobody dropped: a person without a new pose keeps its last
            for person, first in zip(people, plan.people, strict=True):
                assert np.array_equal(person.shape.values, first.shape.values) and person.look == first.look
                assert person.angles.strategy == first.angles.strategy  # an acrobat stays an acrobat
                assert person.posed.vertices[:, 2].min() >= -1e-9  # resting on the floor, or above it
                if first.seat is None:  # where it stood
                    centre, first_centre = person.posed.vertices.mean(axis=0), first.posed.vertices.mean(axis=0)
                    assert np.allclose(centre[:2], first_centre[:2], atol=1e-9)
                else:  # on its seat, as it sat
                    assert person.seat is first.seat and np.allclose(person.translation, first.translation)
                reposed += not np.array_equal(person.angles.body_pose, first.angles.body_pose)
                shown += 1
                for obj in plan.objects:
                    if obj.role not in ("room", "wall", "seat"):
                        centre = np.array([obj.location])
                        assert not spheres_hit_capsules(centre, np.array([obj.bounding_radius]), person.obstacles, 0.05)
            for i, a in enumerate(people):
                for b in people[i + 1 :]:
                    assert not bodies_overlap(a.obstacles, b.obstacles)
        assert plan.reposed == sum(
            plan.people_in(f)[i] is not plan.people_in(f - 1)[i]
            for f in range(1, FRAMES)
            for i in range(len(plan.people))
        )
    assert reposed > 0.8 * shown  # most person-frames get a new pose


def test_per_frame_plans_are_deterministic():
    a, _ = plans("occlusion", 7)
    b, _ = plans("occlusion", 7)
    for frame in range(FRAMES):
        for x, y in zip(a.people_in(frame), b.people_in(frame), strict=True):
            assert np.array_equal(x.posed.vertices, y.posed.vertices)
    assert_same_people_and_cameras(a, b)


def test_cameras_frame_each_frames_poses():
    """A subject framed camera looks at where that frame's people are (their centre is in front of it)."""
    plan, _ = plans("pose", 3, "camera.group_share=1.0")
    for frame, view in enumerate(plan.frames):
        points = np.concatenate([p.posed.vertices for p in plan.people_in(frame)])
        _, depth = view.camera.project(points.mean(axis=0)[None])
        assert depth[0] > 0


def test_seated_people_keep_their_seat_and_legs_and_take_new_gestures():
    templates = "[sit_seat/relaxed,sit_seat/phone,sit_seat/wave,stand/wave]"
    config, _ = compose_render_config(["pose=everyday", f"pose.everyday_templates={templates}"])
    plan = next(
        plan
        for plan in (plan_scene(np.random.default_rng(seed), config, BODY, FRAMES) for seed in range(20))
        if any(p.seat is not None for p in plan.people)
    )
    seated = [i for i, p in enumerate(plan.people) if p.seat is not None]
    legs = [joint_index(f"{side}_{j}") for side in "LR" for j in ("Hip", "Knee", "Ankle")]
    gestures = set()
    for i in seated:
        first = plan.people[i]
        for frame in range(1, FRAMES):
            person = plan.people_in(frame)[i]
            assert person.seat is first.seat and np.array_equal(person.rotation, first.rotation)
            assert np.array_equal(person.angles.euler[legs], first.angles.euler[legs])  # the same legs on the seat
            assert np.allclose(person.translation, first.translation)
            assert not first.seat.intersects(person.posed.vertices)
            assert person.template in {"sit_seat/relaxed", "sit_seat/phone", "sit_seat/wave"}  # the asked ones
            gestures.add(person.template)
        again = repose_person(np.random.default_rng(0), BODY, first, config.pose)
        assert again is not None and not np.array_equal(again.angles.euler, first.angles.euler)
    assert len(gestures) > 1


def test_everyday_people_are_reposed_without_seats():
    config, _ = compose_render_config(["pose=everyday"])
    plan = plan_scene(np.random.default_rng(4), config, BODY, 6)
    for frame in range(1, 6):
        for person, first in zip(plan.people_in(frame), plan.people, strict=True):
            if first.seat is None:
                assert person.seat is None and not person.template.startswith("sit_seat/")


def test_per_frame_must_be_a_switch():
    with pytest.raises(ConfigError, match=r"pose.per_frame must be true or false"):
        compose_render_config(["pose.per_frame=3"])
