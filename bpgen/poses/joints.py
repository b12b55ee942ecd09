"""Anatomical per-joint ranges for the 21 SMPL-X body joints (the mannequin's own limits are +-pi).

Angles are intrinsic Euler X, Y, Z (degrees) in each joint's local SMPL-X frame at rest:
x points to the body's left, y up, z forward (the rest pose is a T-pose, palms down). Signs:
- hips:      x < 0 flexion (leg forward), z > 0 abduction of the LEFT leg, y internal/external rotation;
- knees:     x > 0 flexion; ankles: x < 0 dorsiflexion;
- spine/neck/head: x > 0 forward flexion, x < 0 extension (backbend), z lateral bend, y twist;
- shoulders: z < 0 lowers the LEFT arm from the T-pose, y < 0 swings it forward, x twists it;
- elbows:    y < 0 flexes the LEFT forearm forward; wrists: z flexion/extension, y deviation.
Ranges are given for the left side and centre joints; the right side mirrors them (x kept, y and z negated).

Each DOF has a ``normal`` range (what an untrained adult reaches) and an ``extreme`` range (what a trained
acrobat or contortionist reaches: splits, bridges, high kicks). Values are rounded from clinical
range-of-motion tables and contortion literature; they are plausibility bounds, not biomechanics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpgen.geometry.keypoints import BODY_JOINTS

Range = tuple[float, float]


@dataclass(frozen=True)
class JointLimits:
    """Normal and extreme ranges of one joint's X, Y, Z Euler angles, in degrees."""

    normal: tuple[Range, Range, Range]
    extreme: tuple[Range, Range, Range]


Z: Range = (0.0, 0.0)

# Left side and centre joints. Keys without side prefix are centre joints.
_LEFT_AND_CENTRE: dict[str, JointLimits] = {
    "L_Hip": JointLimits(normal=((-120, 25), (-40, 40), (-25, 45)), extreme=((-175, 75), (-60, 60), (-35, 100))),
    "L_Knee": JointLimits(normal=((0, 140), Z, Z), extreme=((-5, 160), (-5, 5), (-5, 5))),
    "L_Ankle": JointLimits(normal=((-20, 45), (-15, 15), (-20, 20)), extreme=((-30, 75), (-20, 20), (-35, 35))),
    "L_Foot": JointLimits(normal=((-15, 25), Z, Z), extreme=((-30, 40), Z, Z)),
    "Spine1": JointLimits(normal=((-15, 30), (-15, 15), (-15, 15)), extreme=((-55, 50), (-30, 30), (-35, 35))),
    "Spine2": JointLimits(normal=((-10, 20), (-15, 15), (-10, 10)), extreme=((-45, 40), (-30, 30), (-30, 30))),
    "Spine3": JointLimits(normal=((-10, 20), (-15, 15), (-10, 10)), extreme=((-45, 40), (-30, 30), (-30, 30))),
    "Neck": JointLimits(normal=((-30, 40), (-40, 40), (-25, 25)), extreme=((-60, 55), (-70, 70), (-40, 40))),
    "Head": JointLimits(normal=((-20, 20), (-20, 20), (-15, 15)), extreme=((-40, 35), (-40, 40), (-30, 30))),
    "L_Collar": JointLimits(normal=((-10, 10), (-15, 15), (-10, 20)), extreme=((-15, 15), (-25, 25), (-15, 35))),
    "L_Shoulder": JointLimits(normal=((-60, 60), (-110, 40), (-90, 80)), extreme=((-90, 90), (-140, 70), (-95, 100))),
    "L_Elbow": JointLimits(normal=((-30, 30), (-145, 0), Z), extreme=((-45, 45), (-155, 10), (-5, 5))),
    "L_Wrist": JointLimits(normal=((-30, 30), (-25, 35), (-60, 60)), extreme=((-45, 45), (-35, 45), (-85, 85))),
}


def _mirror(limits: JointLimits) -> JointLimits:
    def flip(axes: tuple[Range, Range, Range]) -> tuple[Range, Range, Range]:
        (xl, xh), (yl, yh), (zl, zh) = axes
        return ((xl, xh), (-yh, -yl), (-zh, -zl))

    return JointLimits(normal=flip(limits.normal), extreme=flip(limits.extreme))


JOINT_LIMITS: dict[str, JointLimits] = {}
for _name in BODY_JOINTS:
    if _name.startswith("R_"):
        JOINT_LIMITS[_name] = _mirror(_LEFT_AND_CENTRE["L_" + _name[2:]])
    else:
        JOINT_LIMITS[_name] = _LEFT_AND_CENTRE[_name]


def limits_array(kind: str) -> np.ndarray:
    """[21, 3, 2] array of (low, high) in radians for ``kind`` in {"normal", "extreme"}."""
    if kind not in ("normal", "extreme"):
        raise ValueError(f"unknown range kind {kind!r}; use 'normal' or 'extreme'")
    return np.deg2rad(np.array([getattr(JOINT_LIMITS[n], kind) for n in BODY_JOINTS], dtype=np.float64))


def joint_index(name: str) -> int:
    """Index of a body joint in the body_pose order."""
    return BODY_JOINTS.index(name)


def mirror_name(name: str) -> str:
    """The joint's name on the other side (centre joints keep theirs)."""
    return {"L_": "R_", "R_": "L_"}.get(name[:2], name[:2]) + name[2:]


def mirror_euler(euler: np.ndarray) -> np.ndarray:
    """Left/right mirror image of a pose: swap L_/R_ joints, negate Y and Z angles."""
    mirrored = np.empty_like(euler)
    for i, name in enumerate(BODY_JOINTS):
        mirrored[joint_index(mirror_name(name))] = euler[i] * np.array([1.0, -1.0, -1.0])
    return mirrored
