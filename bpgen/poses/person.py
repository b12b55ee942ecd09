"""One person: body shape, look, a collision-free pose, a whole-body orientation, resting on the floor."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from bpgen.appearance.look import Look, sample_look
from bpgen.bodies import CAPSULE_NAMES, IGNORED_CAPSULE_PAIRS, Body, BodyShape, PosedBody
from bpgen.choice import choose
from bpgen.geometry.collision import Capsules, self_collisions
from bpgen.poses.config import PoseConfig
from bpgen.poses.everyday import BASES, ConstraintsNotMet, regesture
from bpgen.poses.orientation import body_orientation, inversion_deg
from bpgen.poses.sampler import EVERYDAY, JointAngles, sample_joint_angles
from bpgen.poses.seat import Seat, fit_seat
from bpgen.poses.skeleton import Skeleton

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
    seat: Seat | None = None  # what the person sits on (moves with the person)

    @property
    def extremeness(self) -> float:
        return self.angles.extremeness

    @property
    def inversion_deg(self) -> float:
        return inversion_deg(self.rotation)

    @property
    def template(self) -> str | None:
        return self.angles.template

    def moved(self, offset: np.ndarray) -> Person:
        offset = np.asarray(offset, dtype=np.float64)
        posed = self.posed.transformed(np.eye(3), offset)
        seat = None if self.seat is None else self.seat.moved(offset)
        return Person(self.angles, self.shape, self.look, self.rotation, self.orientation, posed, self.attempts, seat)

    @property
    def obstacles(self) -> Capsules:
        """What other people, objects and cameras must keep clear of: the body's capsules and the seat's."""
        capsules = self.posed.capsules
        if self.seat is None:
            return capsules
        seat = self.seat.capsules
        return Capsules(
            np.concatenate([capsules.a, seat.a]),
            np.concatenate([capsules.b, seat.b]),
            np.concatenate([capsules.r, seat.r]),
        )

    @property
    def translation(self) -> np.ndarray:
        """World position of the pelvis (the body frame's origin)."""
        return self.posed.joint("Pelvis")


def sample_person(
    rng: np.random.Generator, body: Body, config: PoseConfig, body_config: BodyConfig, look_config: LookConfig
) -> Person:
    """Draw shape, look and pose until the pose has no self-intersection, dress the body, orient it and rest
    it on the floor (its lowest point: sole, shoe, hair or hand); a sitting pose also gets its seat (redrawn when
    none fits).

    Raises RuntimeError if ``config.max_attempts`` poses in a row intersect themselves.
    """
    # who, which pose and which orientation draw from their own streams: another body model (other sizes,
    # other self-intersection rejections) still gets the same poses and orientations from the same seed
    identity, poses, orientation = rng.spawn(3)
    shape = body.sample_shape(identity, body_config)
    look = sample_look(identity, look_config, shape.attributes) if body.takes_look else None
    for attempt in range(1, config.max_attempts + 1):
        strategy = choose(poses, config.strategy_mix)
        person = _pose_once(poses, orientation, body, shape, look, strategy, config, attempt)
        if person is not None:
            return person
    raise RuntimeError(
        f"no self-intersection-free pose in {config.max_attempts} attempts; "
        "lower pose.extreme_probability or raise pose.max_attempts"
    )


def repose_person(rng: np.random.Generator, body: Body, person: Person, config: PoseConfig) -> Person | None:
    """The same person (shape, look, pose strategy) in a new pose, placed where it was: its centre over the same
    spot of the floor, resting on it; None when ``config.max_attempts`` draws found none. A person keeps its
    strategy (an acrobat stays an acrobat; an everyday person draws another everyday template, none that needs a
    seat: seats are placed once per scene), and a seated person stays on its seat with its legs as they were and
    another arm and head gesture (``bpgen.poses.everyday.regesture``)."""
    if person.seat is not None:
        return _regestured(rng, body, person, config)
    strategy = person.angles.strategy
    if strategy == EVERYDAY:
        bases = {name: w for name, w in config.everyday_bases.items() if not BASES[name].seat}
        templates = tuple(t for t in config.everyday_templates if not BASES[t.split("/")[0]].seat)
        if not bases or (config.everyday_templates and not templates):
            return None
        config = replace(config, everyday_bases=bases, everyday_templates=templates)
    poses, orientation = rng.spawn(2)
    for attempt in range(1, config.max_attempts + 1):
        posed = _pose_once(poses, orientation, body, person.shape, person.look, strategy, config, attempt)
        if posed is not None:
            offset = person.posed.vertices.mean(axis=0) - posed.posed.vertices.mean(axis=0)
            return posed.moved(np.array([offset[0], offset[1], 0.0]))
    return None


def _regestured(rng: np.random.Generator, body: Body, person: Person, config: PoseConfig) -> Person | None:
    """A seated person with another gesture: same legs, trunk, tilt and turn, so its pelvis goes where it was
    and it sits on its seat as before; None when no gesture clears the body and the seat."""
    assert person.seat is not None
    (poses,) = rng.spawn(1)
    skeleton = skeleton_of(body, person.shape)
    for attempt in range(1, config.max_attempts + 1):
        try:
            angles = regesture(poses, skeleton, person.angles, config.everyday_templates)
        except ConstraintsNotMet:
            continue
        local = body.pose(angles.body_pose, person.shape, angles.finger_curl)
        if self_collisions(local.capsules, allowed_contacts(angles.contacts), config.self_collision_shrink):
            continue
        world = body.dress(local, person.shape, person.look).transformed(person.rotation, person.translation)
        if person.seat.intersects(world.vertices):
            continue
        return replace(person, angles=angles, posed=world, attempts=attempt)
    return None


def _pose_once(
    poses: np.random.Generator,
    orientation: np.random.Generator,
    body: Body,
    shape: BodyShape,
    look: Look | None,
    strategy: str,
    config: PoseConfig,
    attempt: int,
) -> Person | None:
    """One pose draw of ``strategy``: posed, oriented, dressed and resting on the floor (with its seat), or None
    when it intersects itself, misses the floor with a planted sole or finds no seat."""
    try:
        angles = sample_joint_angles(
            poses,
            strategy,
            extreme_probability=config.extreme_probability,
            jitter_deg=config.family_jitter_deg,
            skeleton=skeleton_of(body, shape) if strategy == EVERYDAY else None,
            everyday_bases=config.everyday_bases,
            everyday_templates=config.everyday_templates,
        )
    except ConstraintsNotMet:  # this skeleton cannot take that template: another attempt
        return None
    local = body.pose(angles.body_pose, shape, angles.finger_curl)
    if self_collisions(local.capsules, allowed_contacts(angles.contacts), config.self_collision_shrink):
        return None
    rotation, mode = body_orientation(
        orientation, local, angles.orientation, angles.support, config.orientation_mix, angles.tilt
    )
    world = body.dress(local, shape, look).transformed(rotation, np.zeros(3))
    lift = angles.lift - world.vertices[:, 2].min()  # lowest vertex on the floor, or above it
    world = world.transformed(np.eye(3), np.array([0.0, 0.0, lift]))
    if not planted_on_floor(world, angles.planted):
        return None  # the mesh's sole misses the floor the skeleton's sole was solved onto (a kneeling knee lower)
    seat = None
    if angles.seat is not None:
        seat = fit_seat(poses, world, angles.seat)
        if seat is None:
            return None  # no seat of a plausible height fits under this pose
        world = world.transformed(np.eye(3), np.array([0.0, 0.0, seat.raised]))
    return Person(angles, shape, look, rotation, mode, world, attempt, seat)


def skeleton_of(body: Body, shape: BodyShape) -> Skeleton:
    """A person's skeleton (its zero pose), made once per body and shape: everyday poses are solved on it, for
    every draw of the first pose and for every later frame's new one."""
    return _skeleton(body, tuple(np.asarray(shape.values, dtype=np.float64).tolist()))


@lru_cache(maxsize=64)
def _skeleton(body: Body, values: tuple[float, ...]) -> Skeleton:
    return Skeleton.of(body.pose(np.zeros((21, 3)), BodyShape(np.array(values))))


def allowed_contacts(contacts: tuple[tuple[str, str], ...]) -> np.ndarray:
    """[N,N] capsule pairs the self-collision test skips: neighbours, plus a template's intended contacts."""
    ignored = IGNORED_CAPSULE_PAIRS.copy()
    for a, b in contacts:
        i, j = CAPSULE_NAMES.index(a), CAPSULE_NAMES.index(b)
        ignored[i, j] = ignored[j, i] = True
    return ignored


SOLE_TOLERANCE_M = 0.01  # a planted foot's lowest vertex at most this far above the floor


def foot_height(posed: PosedBody, side: str) -> float:
    """Height of a foot's lowest vertex (the vertices within half a shin of that ankle)."""
    ankle, knee = posed.joint(f"{side}_Ankle"), posed.joint(f"{side}_Knee")
    near = np.linalg.norm(posed.vertices - ankle, axis=1) < 0.5 * np.linalg.norm(knee - ankle)
    return float(posed.vertices[near, 2].min())


def planted_on_floor(posed: PosedBody, planted: tuple[str, ...]) -> bool:
    """Whether every planted foot's sole touches the floor (z = 0) within ``SOLE_TOLERANCE_M``."""
    return all(foot_height(posed, side) <= SOLE_TOLERANCE_M for side in planted)
