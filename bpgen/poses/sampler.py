"""Joint-angle strategies: uniform within anatomical ranges, biased to the extremes, or a named family."""

from __future__ import annotations

import numpy as np

from bpgen.geometry.keypoints import BODY_JOINTS
from bpgen.poses.angles import EXTREME, JointAngles, extremeness
from bpgen.poses.everyday import sample_everyday
from bpgen.poses.families import FAMILIES, PoseFamily
from bpgen.poses.joints import joint_index, limits_array, mirror_euler, mirror_name
from bpgen.poses.skeleton import Skeleton

BASE_STRATEGIES = ("uniform", "extreme")
EVERYDAY = "everyday"
STRATEGIES = (*BASE_STRATEGIES, EVERYDAY, *FAMILIES)
NORMAL = limits_array("normal")
__all__ = ["EXTREME", "NORMAL", "STRATEGIES", "JointAngles", "extremeness", "sample_joint_angles"]


def sample_uniform(rng: np.random.Generator) -> np.ndarray:
    """Every DOF uniform within its normal anatomical range."""
    return rng.uniform(NORMAL[..., 0], NORMAL[..., 1])


def sample_extreme(
    rng: np.random.Generator, extreme_probability: float = 0.6, concentration: float = 4.0
) -> np.ndarray:
    """Each DOF, with ``extreme_probability``, is pushed toward one of its extreme limits (Beta(c, 1) of the
    way from neutral to it, side chosen in proportion to its extent); the others stay uniform in the normal
    range."""
    euler = sample_uniform(rng)
    lo, hi = EXTREME[..., 0], EXTREME[..., 1]
    extent = hi - lo
    positive_side = rng.uniform(size=euler.shape) * np.where(extent > 0, extent, 1.0) < hi
    fraction = rng.beta(concentration, 1.0, size=euler.shape)
    pushed = np.where(positive_side, hi, lo) * fraction
    mask = rng.uniform(size=euler.shape) < extreme_probability
    return np.where(mask, pushed, euler)


def sample_family(
    rng: np.random.Generator, family: PoseFamily, jitter_deg: float
) -> tuple[np.ndarray, tuple[str, ...]]:
    """A family template with its ranges drawn, Gaussian jitter added, clipped to the extreme ranges;
    mirrored left/right with probability 1/2. Returns the angles and the (mirrored) support joints."""
    euler = rng.normal(0.0, np.deg2rad(jitter_deg * family.jitter_scale), size=(len(BODY_JOINTS), 3))
    euler = np.clip(euler, NORMAL[..., 0], NORMAL[..., 1])
    for name in family.free_joints:
        i = joint_index(name)
        euler[i] = rng.uniform(EXTREME[i, :, 0], EXTREME[i, :, 1])
    for name, angles in family.joints.items():
        i = joint_index(name)
        for axis, value in enumerate(angles):
            drawn = rng.uniform(*value) if isinstance(value, tuple) else value
            euler[i, axis] += np.deg2rad(drawn)
    euler = np.clip(euler, EXTREME[..., 0], EXTREME[..., 1])
    support = family.support
    if rng.uniform() < 0.5:
        euler = mirror_euler(euler)
        support = tuple(mirror_name(s) for s in support)
    return euler, support


def sample_joint_angles(
    rng: np.random.Generator,
    strategy: str,
    *,
    extreme_probability: float = 0.6,
    jitter_deg: float = 8.0,
    skeleton: Skeleton | None = None,
    everyday_bases: dict[str, float] | None = None,
    everyday_templates: tuple[str, ...] = (),
) -> JointAngles:
    """Draw one pose with ``strategy`` ("uniform", "extreme", "everyday" or a family name from FAMILIES);
    "everyday" draws a base from ``everyday_bases`` (or one of ``everyday_templates``) and solves its constraints
    on the person's ``skeleton``."""
    if strategy == EVERYDAY:
        if skeleton is None:
            raise ValueError("everyday poses are solved on the person's skeleton; pass skeleton=")
        return sample_everyday(rng, skeleton, everyday_bases, everyday_templates)
    if strategy == "uniform":
        return JointAngles(strategy, sample_uniform(rng), "mixed", (), 0.0)
    if strategy == "extreme":
        return JointAngles(strategy, sample_extreme(rng, extreme_probability), "mixed", (), 0.0)
    if strategy not in FAMILIES:
        raise ValueError(f"unknown pose strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
    family = FAMILIES[strategy]
    euler, support = sample_family(rng, family, jitter_deg)
    lift = float(rng.uniform(*family.lift)) if family.lift[1] > 0 else 0.0
    return JointAngles(strategy, euler, family.orientation, support, lift)
