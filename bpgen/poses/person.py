"""One person: body shape, look, a collision-free pose, a whole-body orientation, resting on the floor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bpgen.appearance.look import Look, sample_look
from bpgen.bodies import IGNORED_CAPSULE_PAIRS, Body, BodyShape, PosedBody
from bpgen.choice import choose
from bpgen.geometry.collision import self_collisions
from bpgen.poses.config import PoseConfig
from bpgen.poses.orientation import body_orientation, inversion_deg
from bpgen.poses.sampler import JointAngles, sample_joint_angles

if TYPE_CHECKING:
    from bpgen.appearance.config import LookConfig
    from bpgen.bodies.config import BodyConfig


@dataclass(frozen=True)
class Person:
    """A posed person in world coordinates (Z-up, metres), standing at x = y = 0 until placed."""

    angles: JointAngles
    shape: BodyShape
    look: Look | None  # None: the mannequin (its material comes from the scene plan)
    rotation: np.ndarray  # [3,3] body frame -> world
    orientation: str
    posed: PosedBody  # in world coordinates
    attempts: int  # poses drawn until one had no self-intersection (1 = first try)

    @property
    def extremeness(self) -> float:
        return self.angles.extremeness

    @property
    def inversion_deg(self) -> float:
        return inversion_deg(self.rotation)

    def moved(self, offset: np.ndarray) -> Person:
        posed = self.posed.transformed(np.eye(3), np.asarray(offset, dtype=np.float64))
        return Person(self.angles, self.shape, self.look, self.rotation, self.orientation, posed, self.attempts)

    @property
    def translation(self) -> np.ndarray:
        """World position of the pelvis (the body frame's origin)."""
        return self.posed.joint("Pelvis")


def sample_person(
    rng: np.random.Generator, body: Body, config: PoseConfig, body_config: BodyConfig, look_config: LookConfig
) -> Person:
    """Draw shape, look and pose until the pose has no self-intersection, dress the body, orient it and rest
    it on the floor (its lowest point: sole, shoe, hair or hand).

    Raises RuntimeError if ``config.max_attempts`` poses in a row intersect themselves.
    """
    # who, which pose and which orientation draw from their own streams: another body model (other sizes,
    # other self-intersection rejections) still gets the same poses and orientations from the same seed
    identity, poses, orientation = rng.spawn(3)
    shape = body.sample_shape(identity, body_config)
    look = sample_look(identity, look_config, shape.attributes) if body.takes_look else None
    for attempt in range(1, config.max_attempts + 1):
        strategy = choose(poses, config.strategy_mix)
        angles = sample_joint_angles(
            poses, strategy, extreme_probability=config.extreme_probability, jitter_deg=config.family_jitter_deg
        )
        local = body.pose(angles.body_pose, shape)
        if self_collisions(local.capsules, IGNORED_CAPSULE_PAIRS, config.self_collision_shrink):
            continue
        rotation, mode = body_orientation(
            orientation, local, angles.orientation, angles.support, config.orientation_mix
        )
        world = body.dress(local, shape, look).transformed(rotation, np.zeros(3))
        lift = angles.lift - world.vertices[:, 2].min()  # lowest vertex on the floor, or above it
        world = world.transformed(np.eye(3), np.array([0.0, 0.0, lift]))
        return Person(angles, shape, look, rotation, mode, world, attempt)
    raise RuntimeError(
        f"no self-intersection-free pose in {config.max_attempts} attempts; "
        "lower pose.extreme_probability or raise pose.max_attempts"
    )
