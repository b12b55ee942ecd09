"""A sampled pose before it is placed (``JointAngles``) and its extremeness score (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpgen.geometry.rotations import euler_xyz_to_matrix, matrix_to_axis_angle
from bpgen.poses.joints import limits_array

EXTREME = limits_array("extreme")


@dataclass(frozen=True)
class JointAngles:
    """One sampled body pose before it is placed: Euler angles plus how it meets the floor."""

    strategy: str
    euler: np.ndarray  # [21,3] radians, BODY_JOINTS order
    orientation: str  # "support" or a mode of bpgen.poses.orientation
    support: tuple[str, ...]
    lift: float  # metres above the floor
    template: str | None = None  # everyday poses: "<base>/<gesture>"
    tilt: np.ndarray | None = None  # [3,3] the body's own tilt (everyday upright and lying poses); else derived
    contacts: tuple[tuple[str, str], ...] = ()  # capsule pairs allowed to touch (bodies' CAPSULE_NAMES)
    seat: str | None = None  # a seat kind of bpgen.poses.seat the person sits on
    planted: tuple[str, ...] = ()  # feet whose soles the pose puts flat on the floor ("L", "R")
    finger_curl: float = 0.0  # 0 flat hands (the T-pose's), 1 a relaxed hand's full curl

    @property
    def body_pose(self) -> np.ndarray:
        """SMPL-X body_pose, axis-angle [21,3]."""
        return matrix_to_axis_angle(euler_xyz_to_matrix(self.euler))

    @property
    def extremeness(self) -> float:
        return extremeness(self.euler)


def extremeness(euler: np.ndarray) -> float:
    """Mean normalised distance of the joint angles from neutral, in [0, 1].

    Each angle is divided by the extreme-range limit on its own side (0 at rest, 1 at a contortionist's
    limit); DOFs whose extreme range is zero on that side are left out.
    """
    euler = np.asarray(euler, dtype=np.float64)
    bound = np.where(euler >= 0.0, EXTREME[..., 1], -EXTREME[..., 0])
    valid = bound > 1e-9
    ratio = np.clip(np.abs(euler[valid]) / bound[valid], 0.0, 1.0)
    return float(ratio.mean()) if ratio.size else 0.0
