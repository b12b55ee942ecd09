"""Named extreme-pose families: joint-angle templates (degrees) plus how the body meets the floor.

A template lists Euler X, Y, Z angles for some joints, in the conventions of ``bpgen.poses.joints``; joints
not listed stay near neutral. Values given as (low, high) are drawn uniformly per sample; then Gaussian
jitter is added and everything is clipped to the extreme ranges. Templates are written for one side and
mirrored at random, so left and right variants are equally likely.

``support`` names the joints that rest on the floor: the body is turned so that they lie in one
horizontal plane under its centre of mass. ``orientation`` instead picks a whole-body orientation mode
(see ``bpgen.poses.orientation``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Angle = float | tuple[float, float]
Euler = tuple[Angle, Angle, Angle]


@dataclass(frozen=True)
class PoseFamily:
    name: str
    joints: dict[str, tuple[Any, Any, Any]]
    support: tuple[str, ...] = ()
    orientation: str = "support"  # "support" or an orientation mode of bpgen.poses.orientation
    lift: tuple[float, float] = (0.0, 0.0)  # metres above the floor (airborne poses)
    jitter_scale: float = 1.0
    free_joints: tuple[str, ...] = field(default=())  # joints drawn from their extreme range instead


ARMS_OVERHEAD: dict[str, Euler] = {"L_Shoulder": (0, 0, (75, 95)), "R_Shoulder": (0, 0, (-95, -75))}

FAMILIES: dict[str, PoseFamily] = {
    f.name: f
    for f in (
        PoseFamily(
            "splits_front",
            {
                "L_Hip": ((-110, -85), 0, (0, 10)),
                "R_Hip": ((55, 75), 0, 0),
                "L_Knee": (0, 0, 0),
                "R_Knee": (0, 0, 0),
                "Spine1": ((-20, 0), 0, 0),
                "L_Ankle": ((10, 40), 0, 0),
            }
            | ARMS_OVERHEAD,
            support=("L_Ankle", "R_Ankle", "Pelvis"),
            free_joints=("L_Shoulder", "R_Shoulder"),
        ),
        PoseFamily(
            "splits_side",
            {
                "L_Hip": ((-30, 0), (-20, 20), (80, 100)),
                "R_Hip": ((-30, 0), (-20, 20), (-100, -80)),
                "L_Knee": (0, 0, 0),
                "R_Knee": (0, 0, 0),
                "Spine1": ((0, 40), 0, 0),
                "Spine2": ((0, 30), 0, 0),
            },
            support=("L_Ankle", "R_Ankle", "Pelvis"),
            free_joints=("L_Shoulder", "R_Shoulder", "L_Elbow", "R_Elbow"),
        ),
        PoseFamily(
            "bridge",
            {
                "Spine1": ((-55, -35), 0, 0),
                "Spine2": ((-45, -30), 0, 0),
                "Spine3": ((-45, -30), 0, 0),
                "Neck": ((-55, -30), 0, 0),
                "L_Hip": ((0, 30), 0, (5, 20)),
                "R_Hip": ((0, 30), 0, (-20, -5)),
                "L_Knee": ((70, 110), 0, 0),
                "R_Knee": ((70, 110), 0, 0),
                "L_Elbow": (0, (-20, 0), 0),
                "R_Elbow": (0, (0, 20), 0),
            }
            | ARMS_OVERHEAD,
            support=("L_Wrist", "R_Wrist", "L_Ankle", "R_Ankle"),
        ),
        PoseFamily(
            "handstand",
            {
                "L_Elbow": (0, (-10, 0), 0),
                "R_Elbow": (0, (0, 10), 0),
                "L_Hip": ((-20, 40), 0, (0, 60)),
                "R_Hip": ((-20, 40), 0, (-60, 0)),
                "L_Knee": ((0, 60), 0, 0),
                "R_Knee": ((0, 60), 0, 0),
                "Spine1": ((-35, 5), 0, 0),
                "Neck": ((-40, 0), 0, 0),
            }
            | ARMS_OVERHEAD,
            support=("L_Wrist", "R_Wrist"),
        ),
        PoseFamily(
            "cartwheel",
            {
                "L_Shoulder": (0, 0, (55, 80)),
                "R_Shoulder": (0, 0, (-80, -55)),
                "L_Hip": ((-10, 10), 0, (50, 80)),
                "R_Hip": ((-10, 10), 0, (-80, -50)),
                "L_Knee": ((0, 20), 0, 0),
                "R_Knee": ((0, 20), 0, 0),
                "Spine1": (0, 0, (-20, 20)),
            },
            orientation="cartwheel",
        ),
        PoseFamily(
            "lying",
            {},
            orientation="lying",
            jitter_scale=2.0,
            free_joints=("L_Shoulder", "R_Shoulder", "L_Elbow", "R_Elbow", "L_Hip", "R_Hip"),
        ),
        PoseFamily(
            "rolled",
            {
                "Spine1": ((10, 25), 0, 0),
                "Spine2": ((5, 20), 0, 0),
                "Spine3": ((5, 20), 0, 0),
                "Neck": ((30, 55), 0, 0),
                "L_Hip": ((-125, -100), 0, (10, 25)),
                "R_Hip": ((-125, -100), 0, (-25, -10)),
                "L_Knee": ((120, 150), 0, 0),
                "R_Knee": ((120, 150), 0, 0),
                "L_Shoulder": (0, (-60, -30), (-25, 0)),
                "R_Shoulder": (0, (30, 60), (0, 25)),
                "L_Elbow": (0, (-90, -50), 0),
                "R_Elbow": (0, (50, 90), 0),
            },
            orientation="random",
        ),
        PoseFamily(
            "deep_crouch",
            {
                "L_Hip": ((-135, -115), 0, (10, 35)),
                "R_Hip": ((-135, -115), 0, (-35, -10)),
                "L_Knee": ((140, 158), 0, 0),
                "R_Knee": ((140, 158), 0, 0),
                "L_Ankle": ((-30, -15), 0, 0),
                "R_Ankle": ((-30, -15), 0, 0),
                "Spine1": ((10, 35), 0, 0),
                "Spine2": ((0, 20), 0, 0),
                "L_Shoulder": (0, (-80, -40), (-25, 5)),
                "R_Shoulder": (0, (40, 80), (-5, 25)),
            },
            support=("L_Ankle", "R_Ankle"),
        ),
        PoseFamily(
            "kick",
            {
                "L_Hip": ((-165, -110), (-20, 20), (0, 60)),
                "L_Knee": ((0, 30), 0, 0),
                "R_Knee": ((0, 20), 0, 0),
                "Spine1": ((-20, 15), 0, (-25, 0)),
                "L_Ankle": ((20, 60), 0, 0),
            },
            support=("R_Ankle",),
            free_joints=("L_Shoulder", "R_Shoulder", "L_Elbow", "R_Elbow"),
        ),
        PoseFamily(
            "fall",
            {},
            orientation="tilted",
            lift=(0.0, 0.5),
            free_joints=(
                "L_Shoulder",
                "R_Shoulder",
                "L_Elbow",
                "R_Elbow",
                "L_Hip",
                "R_Hip",
                "L_Knee",
                "R_Knee",
                "Spine1",
                "Neck",
            ),
        ),
    )
}
