"""Everyday poses (strategy ``everyday``): a lower-body base combined with an arm and head gesture.

Real photos of people mostly show ordinary poses: standing, walking, sitting, reaching. A template is a base
(``BASES``: stand, contrapposto, walk, run, sit on a seat, sit on the ground, cross-legged, kneel, one knee down,
squat, bend over, lie on the back/side/front) and a gesture that base allows (``GESTURES``: relaxed, wave, reach,
phone, arms crossed, hands on hips, hands in pockets, point, carry). Angles are drawn from the template's ranges
(degrees, ``bpgen.poses.joints`` conventions, each side written in the left side's convention), a few degrees of
jitter are added and everything stays within the **normal** ranges. Then constraints are solved on the person's
own skeleton (``bpgen.poses.skeleton``): planted soles flat on one floor plane, a kneeling knee on
it, the torso within ~10 degrees of vertical for upright bases (a small tilt of the whole body is solved too),
and hands on their targets on the body (two-bone IK of shoulder and elbow: a hand on the hip, forearms across
the chest, a phone held in front of the chest). Contacts a gesture makes on purpose are the capsule pairs the
self-collision test allows for that template. The pose is mirrored left/right with probability 1/2 (before
solving: a body's two sides differ a little), and the fingers curl as a relaxed hand's do.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from bpgen.bodies import CAPSULE_NAMES
from bpgen.choice import choose
from bpgen.geometry.keypoints import BODY_JOINTS
from bpgen.geometry.rotations import rot_x, rot_y
from bpgen.poses.angles import JointAngles
from bpgen.poses.joints import joint_index, limits_array, mirror_name
from bpgen.poses.seat import SEAT_KINDS
from bpgen.poses.skeleton import JOINT, Kinematics, Skeleton, solve_bounded

Angle = float | tuple[float, float] | None  # degrees; a range is drawn uniformly; None keeps what lies below
Euler = tuple[Angle, Angle, Angle]
NORMAL = limits_array("normal")
EXTREME = limits_array("extreme")
JITTER_DEG = 3.0
FINGER_CURL = (0.35, 0.8)  # relaxed hands: fingers a little to clearly bent (bpgen.bodies.joint_map)
SEAT_MIX = {"chair": 2.0, "bench": 1.5, "stool": 1.0, "step": 1.0, "box": 0.5}
assert set(SEAT_MIX) == set(SEAT_KINDS)


def _mirror_angle(value: Angle) -> Angle:
    if value is None:
        return None
    if isinstance(value, tuple):
        return (-value[1], -value[0])
    return -value


def side(which: str, joint: str, x: Angle = None, y: Angle = None, z: Angle = None) -> dict[str, Euler]:
    """One side's joint, its angles written in the left side's convention (the right side mirrors y and z)."""
    if which == "L":
        return {f"L_{joint}": (x, y, z)}
    return {f"R_{joint}": (x, _mirror_angle(y), _mirror_angle(z))}


def both(joint: str, x: Angle = None, y: Angle = None, z: Angle = None) -> dict[str, Euler]:
    """The same anatomical angles on both sides."""
    return side("L", joint, x, y, z) | side("R", joint, x, y, z)


def centre(joint: str, x: Angle = None, y: Angle = None, z: Angle = None) -> dict[str, Euler]:
    return {joint: (x, y, z)}


@dataclass(frozen=True)
class HandTarget:
    """A hand's palm placed on ``anchor`` (a name ``_anchor`` knows: hip, pocket, lap, knee, other_upper_arm,
    beside_head, reach, point, phone, tray); ``hand`` is "L" or "R"."""

    hand: str
    anchor: str


@dataclass(frozen=True)
class Base:
    """A lower-body template: legs and trunk, how the body meets the floor, which gestures go with it."""

    name: str
    joints: dict[str, Euler]
    gestures: tuple[str, ...]
    stance: str  # a key of RELAXED: which relaxed arms fit (standing, seated, cross_legged, kneeling, ...)
    planted: tuple[str, ...] = ()  # feet whose soles are flat on the floor ("L", "R")
    knee_down: tuple[str, ...] = ()  # sides whose knee and toes rest on the floor
    heels_up: bool = False  # planted feet stand on their balls and toes (a deep squat)
    upright: bool = False  # torso kept within ~10 degrees of vertical
    support: tuple[str, ...] = ()  # ground bases: joints that rest on the floor (orientation "support")
    lying: str | None = None  # "back" | "side" | "front"
    seat: bool = False
    pitch_deg: tuple[float, float] | None = None  # first guess of the whole body's forward tilt (bend over)
    contacts: tuple[tuple[str, str], ...] = ()  # capsule pairs allowed to touch (bodies' CAPSULE_NAMES)
    weight: float = 1.0


@dataclass(frozen=True)
class Gesture:
    """Arms and head: angles (a start for the IK when there are targets) plus the hands' targets."""

    name: str
    joints: dict[str, Euler]
    targets: tuple[HandTarget, ...] = ()
    contacts: tuple[tuple[str, str], ...] = field(default=())


def _pairs(*pairs: tuple[str, str], sides: bool = True) -> tuple[tuple[str, str], ...]:
    """Contact pairs, written for the left side and repeated for the right ("S_" = the side, "O_" = the other)."""
    out: list[tuple[str, str]] = []
    for a, b in pairs:
        for own, other in (("L", "R"), ("R", "L")) if sides else (("L", "R"),):
            out.append(
                (
                    a.replace("S_", f"{own}_").replace("O_", f"{other}_"),
                    b.replace("S_", f"{own}_").replace("O_", f"{other}_"),
                )
            )
    return tuple(dict.fromkeys(out))


ARMS_AT_SIDES = _pairs(("S_upper_arm", "chest"), ("S_upper_arm", "abdomen"), ("S_forearm", "abdomen"),
                       ("S_forearm", "chest"), ("S_forearm", "pelvis"), ("S_hand", "pelvis"), ("S_hand", "abdomen"),
                       ("S_hand", "S_thigh"), ("S_forearm", "S_thigh"))  # fmt: skip
HANDS_ON_LEGS = _pairs(("S_hand", "S_thigh"), ("S_forearm", "S_thigh"), ("S_hand", "S_shin"), ("S_forearm", "abdomen"),
                       ("S_hand", "pelvis"), ("S_forearm", "pelvis"), ("S_upper_arm", "chest"),
                       ("S_upper_arm", "abdomen"), ("S_hand", "abdomen"))  # fmt: skip
LEGS_FOLDED = _pairs(("S_thigh", "abdomen"), ("S_shin", "S_thigh"), ("S_foot", "S_thigh"), ("S_foot", "O_shin"),
                     ("S_shin", "O_shin"), ("S_foot", "O_foot"), ("S_foot", "O_thigh"),
                     ("S_shin", "O_thigh"))  # fmt: skip
STANDING = ("relaxed", "wave", "reach", "phone", "arms_crossed", "hands_on_hips", "hands_in_pockets", "point", "carry")

BASES: dict[str, Base] = {
    b.name: b
    for b in (
        Base("stand", both("Hip", x=(-6, 4), z=(0, 6)) | both("Knee", x=(0, 8)) | centre("Spine1", x=(-4, 6)),
             STANDING, "standing", planted=("L", "R"), upright=True, weight=3.0),
        Base("contrapposto",
             side("L", "Hip", x=(-22, -8), y=(-15, 5), z=(4, 14)) | side("L", "Knee", x=(12, 30))
             | side("R", "Hip", x=(-4, 4), z=(-2, 4)) | side("R", "Knee", x=(0, 5)) | centre("Spine1", z=(-6, 6)),
             STANDING, "standing", planted=("L", "R"), upright=True, weight=2.0),
        Base("walk",
             side("R", "Hip", x=(2, 15)) | side("R", "Knee", x=(3, 15)) | side("L", "Hip", x=(-32, -12))
             | side("L", "Knee", x=(10, 45)) | side("R", "Shoulder", y=(-30, -10)) | side("L", "Shoulder", y=(10, 30))
             | both("Elbow", y=(-35, -10)) | centre("Spine2", y=(-6, 6)),
             ("relaxed", "phone", "wave", "point", "carry", "hands_in_pockets", "arms_crossed"), "standing",
             planted=("R",), upright=True, weight=2.0),
        Base("run",
             side("R", "Hip", x=(-5, 10)) | side("R", "Knee", x=(20, 45)) | side("L", "Hip", x=(-65, -35))
             | side("L", "Knee", x=(70, 110)) | side("L", "Ankle", x=(10, 30)) | centre("Spine1", x=(3, 9))
             | side("R", "Shoulder", y=(-50, -25), z=(-75, -60)) | side("L", "Shoulder", y=(20, 38), z=(-75, -60))
             | both("Elbow", y=(-100, -75)),
             ("relaxed",), "standing", planted=("R",), upright=True, weight=0.7),
        Base("sit_seat",
             both("Hip", x=(-98, -80), y=(-8, 8), z=(3, 12)) | both("Knee", x=(75, 105)) | centre("Spine1", x=(-5, 8)),
             ("relaxed", "phone", "arms_crossed", "wave", "reach", "point"), "seated",
             planted=("L", "R"), upright=True, seat=True, weight=2.5),
        Base("sit_ground",
             both("Hip", x=(-95, -78), z=(4, 15)) | both("Knee", x=(5, 40)) | centre("Spine1", x=(5, 20)),
             ("relaxed", "phone", "wave", "point"), "seated", support=("Pelvis", "L_Ankle", "R_Ankle"),
             contacts=_pairs(("S_thigh", "abdomen")), weight=1.0),
        Base("cross_legged",
             both("Hip", x=(-80, -60), y=(-40, -25), z=(30, 42)) | both("Knee", x=(118, 138))
             | centre("Spine1", x=(5, 15)),
             ("relaxed", "phone", "arms_crossed", "wave"), "cross_legged", upright=True, contacts=LEGS_FOLDED,
             weight=0.7),
        Base("kneel",
             both("Hip", x=(-8, 8), z=(2, 8)) | both("Knee", x=(85, 100)) | both("Ankle", x=(40, 60)),
             ("relaxed", "reach", "point", "wave", "phone", "hands_on_hips"), "kneeling", knee_down=("L", "R"),
             upright=True, weight=0.6),
        Base("one_knee_down",
             side("L", "Hip", x=(-95, -78), z=(4, 12)) | side("L", "Knee", x=(80, 100))
             | side("R", "Hip", x=(-5, 12), z=(2, 8)) | side("R", "Knee", x=(85, 100)) | side("R", "Ankle", x=(40, 60)),
             ("relaxed", "point", "phone", "wave", "reach"), "standing", planted=("L",), knee_down=("R",), upright=True,
             weight=0.6),
        Base("squat",
             both("Hip", x=(-118, -100), y=(-10, 0), z=(15, 28)) | both("Knee", x=(110, 134))
             | centre("Spine1", x=(10, 25)),
             ("relaxed", "phone", "point"), "crouched", planted=("L", "R"), heels_up=True, contacts=LEGS_FOLDED,
             weight=0.6),
        Base("bend_over",
             both("Hip", x=(-80, -55), z=(2, 8)) | both("Knee", x=(0, 15)) | centre("Spine1", x=(10, 25))
             | centre("Spine2", x=(5, 15)),
             ("relaxed", "reach"), "crouched", planted=("L", "R"), pitch_deg=(55.0, 80.0), weight=0.6),
        Base("lie_back", both("Hip", x=(-20, 5), z=(0, 12)) | both("Knee", x=(0, 25)), ("relaxed", "phone"), "lying",
             lying="back", weight=0.5),
        Base("lie_side",
             side("L", "Hip", x=(-70, -35), z=(0, 10)) | side("R", "Hip", x=(-40, -10)) | both("Knee", x=(30, 80)),
             ("relaxed",), "lying", lying="side", contacts=LEGS_FOLDED, weight=0.5),
        Base("lie_front", both("Hip", x=(-5, 10), z=(0, 15)) | both("Knee", x=(0, 30)) | centre("Neck", y=(25, 40)),
             ("relaxed",), "lying", lying="front", weight=0.3),
    )
}  # fmt: skip


def _arms(which: str, shoulder: Euler, elbow: Euler) -> dict[str, Euler]:
    return side(which, "Shoulder", *shoulder) | side(which, "Elbow", *elbow)


HANGING = ((-10, 10), (-12, 8), (-84, -70)), (None, (-25, -5), None)
RELAXED: dict[str, Gesture] = {  # the gesture "relaxed" of each stance
    "standing": Gesture("relaxed", _arms("L", *HANGING) | _arms("R", *HANGING) | centre("Neck", y=(-25, 25)),
                        contacts=ARMS_AT_SIDES),
    "seated": Gesture("relaxed", _arms("L", (0, (-40, -20), (-75, -60)), (None, (-90, -50), None))
                      | _arms("R", (0, (-40, -20), (-75, -60)), (None, (-90, -50), None)),
                      (HandTarget("L", "lap"), HandTarget("R", "lap")), HANDS_ON_LEGS),
    "cross_legged": Gesture("relaxed", _arms("L", (0, (-40, -20), (-70, -55)), (None, (-60, -30), None))
                            | _arms("R", (0, (-40, -20), (-70, -55)), (None, (-60, -30), None)),
                            (HandTarget("L", "knee"), HandTarget("R", "knee")), HANDS_ON_LEGS),
    "kneeling": Gesture("relaxed", _arms("L", *HANGING) | _arms("R", *HANGING), (HandTarget("L", "lap"),
                        HandTarget("R", "lap")), HANDS_ON_LEGS),
    "crouched": Gesture("relaxed", _arms("L", (0, (-60, -30), (-75, -55)), (None, (-40, -10), None))
                        | _arms("R", (0, (-60, -30), (-75, -55)), (None, (-40, -10), None)),
                        (HandTarget("L", "knee"), HandTarget("R", "knee")), HANDS_ON_LEGS),
    "lying": Gesture("relaxed", _arms("L", ((-10, 10), (-20, 10), (-85, -45)), (None, (-40, 0), None))
                     | _arms("R", ((-10, 10), (-20, 10), (-85, -45)), (None, (-40, 0), None)), contacts=ARMS_AT_SIDES),
}  # fmt: skip
GESTURES: dict[str, Gesture] = {
    g.name: g
    for g in (
        Gesture("wave", _arms("L", (0, (-30, -10), (30, 60)), (None, (-110, -70), None)),
                (HandTarget("L", "beside_head"),), ARMS_AT_SIDES),
        Gesture("reach", _arms("L", (0, (-100, -70), (0, 30)), (None, (-15, 0), None))
                | centre("Neck", x=(-20, -5)), (HandTarget("L", "reach"),), ARMS_AT_SIDES),
        Gesture("phone", _arms("L", (0, (-40, -20), (-70, -50)), (None, (-120, -90), None))
                | centre("Neck", x=(15, 30)) | centre("Head", x=(5, 15)), (HandTarget("L", "phone"),),
                ARMS_AT_SIDES + _pairs(("S_forearm", "chest"), ("S_hand", "chest"))),
        Gesture("arms_crossed", _arms("L", (0, (-50, -35), (-70, -55)), (None, (-125, -100), None))
                | _arms("R", (0, (-50, -35), (-70, -55)), (None, (-125, -100), None)),
                (HandTarget("L", "other_upper_arm"), HandTarget("R", "other_upper_arm")),
                _pairs(("S_forearm", "O_forearm"), ("S_hand", "O_upper_arm"), ("S_hand", "O_forearm"),
                       ("S_forearm", "O_upper_arm"), ("S_forearm", "chest"), ("S_forearm", "abdomen"),
                       ("S_hand", "chest"), ("S_upper_arm", "chest"), ("S_hand", "O_hand"), ("S_hand", "abdomen"),
                       ("S_hand", "shoulders"))),
        Gesture("hands_on_hips", _arms("L", (0, (10, 25), (-60, -45)), (None, (-100, -70), None))
                | _arms("R", (0, (10, 25), (-60, -45)), (None, (-100, -70), None)),
                (HandTarget("L", "hip"), HandTarget("R", "hip")),
                _pairs(("S_hand", "pelvis"), ("S_hand", "abdomen"), ("S_forearm", "pelvis"), ("S_forearm", "abdomen"),
                       ("S_hand", "S_thigh"))),
        Gesture("hands_in_pockets", _arms("L", (0, (-5, 10), (-80, -70)), (None, (-35, -15), None))
                | _arms("R", (0, (-5, 10), (-80, -70)), (None, (-35, -15), None)),
                (HandTarget("L", "pocket"), HandTarget("R", "pocket")), ARMS_AT_SIDES),
        Gesture("point", _arms("L", (0, (-90, -70), (-5, 15)), (None, (-10, 0), None))
                | centre("Neck", y=(5, 20)), (HandTarget("L", "point"),), ARMS_AT_SIDES),
        Gesture("carry", _arms("L", (0, (-25, -10), (-80, -70)), (None, (-100, -80), None))
                | _arms("R", (0, (-25, -10), (-80, -70)), (None, (-100, -80), None)),
                (HandTarget("L", "tray"), HandTarget("R", "tray")), ARMS_AT_SIDES),
    )
}  # fmt: skip
GESTURE_NAMES = ("relaxed", *GESTURES)
TEMPLATES = tuple(f"{b.name}/{g}" for b in BASES.values() for g in b.gestures)


# --- hand targets on the body ---------------------------------------------------------------------------------
def _offset(skeleton: Skeleton, joint: str, toward: str, share: float, out: float) -> np.ndarray:
    """A rest offset from ``joint``: ``share`` of the way to ``toward`` and ``out`` metres to the front."""
    rest = skeleton.rest
    return share * (rest[JOINT[toward]] - rest[JOINT[joint]]) + np.array([0.0, -out, 0.0])


def _in_chest_frame(k: Kinematics, joint: str, offset: tuple[float, float, float], scale: float) -> np.ndarray:
    return k.positions[JOINT[joint]] + k.rotations[JOINT["Spine3"]] @ (np.array(offset) * scale)


def _anchor(skeleton: Skeleton, k: Kinematics, name: str, hand: str) -> np.ndarray:
    """Where a hand's palm goes (body frame) in pose ``k``; "S" is the hand's side, "O" the other one."""
    s, o, sign, scale, r = (
        hand,
        ("R" if hand == "L" else "L"),
        (1.0 if hand == "L" else -1.0),
        skeleton.scale,
        skeleton.radii,
    )
    thigh, arm = CAPSULE_NAMES.index(f"{s}_thigh"), CAPSULE_NAMES.index(f"{o}_upper_arm")
    if name == "hip":
        return k.positions[JOINT[f"{s}_Hip"]] + k.rotations[0] @ np.array(
            [sign * (r[CAPSULE_NAMES.index("pelvis")] + 0.02), 0.0, 0.07 * scale]
        )
    if name == "pocket":
        return k.point(f"{s}_Hip", _offset(skeleton, f"{s}_Hip", f"{s}_Knee", 0.18, r[thigh] + 0.02)
                       + np.array([sign * 0.03 * scale, 0.0, 0.0]))  # fmt: skip
    if name == "lap":
        return k.point(f"{s}_Hip", _offset(skeleton, f"{s}_Hip", f"{s}_Knee", 0.55, r[thigh] + 0.025))
    if name == "knee":
        return k.point(f"{s}_Hip", _offset(skeleton, f"{s}_Hip", f"{s}_Knee", 0.92, r[thigh] + 0.03))
    if name == "other_upper_arm":
        return k.point(f"{o}_Shoulder", _offset(skeleton, f"{o}_Shoulder", f"{o}_Elbow", 0.55, r[arm] + 0.03))
    reach = _arm_length(skeleton, s) / NOMINAL_ARM_M  # shoulder-relative targets scale with the arm
    offsets = {
        "beside_head": (f"{s}_Shoulder", (sign * 0.10, 0.0, 0.40), reach),
        "reach": (f"{s}_Shoulder", (sign * 0.08, -0.43, 0.33), reach),
        "point": (f"{s}_Shoulder", (sign * 0.18, -0.50, 0.02), reach),
        "phone": ("Spine3", (sign * 0.06, -0.30, 0.12), scale),
        "tray": (f"{s}_Shoulder", (0.0, -0.32, -0.32), reach),
    }
    joint, offset, size = offsets[name]
    return _in_chest_frame(k, joint, offset, size)


NOMINAL_ARM_M = 0.60  # shoulder to palm of the nominal adult


def _arm_length(skeleton: Skeleton, hand: str) -> float:
    rest = skeleton.rest
    shoulder, elbow, wrist = (rest[JOINT[f"{hand}_{j}"]] for j in ("Shoulder", "Elbow", "Wrist"))
    return float(np.linalg.norm(elbow - shoulder) + 1.3 * np.linalg.norm(wrist - elbow))


def _palm(skeleton: Skeleton, k: Kinematics, hand: str) -> np.ndarray:
    rest = skeleton.rest
    forearm = rest[JOINT[f"{hand}_Wrist"]] - rest[JOINT[f"{hand}_Elbow"]]
    offset = 0.3 * forearm + np.array([0.0, 0.0, -0.015 * skeleton.scale])  # palms face down at rest
    return k.point(f"{hand}_Wrist", offset)


# --- drawing and solving ----------------------------------------------------------------------------------------
def _overlay(lower: dict[str, Euler], upper: dict[str, Euler]) -> dict[str, Euler]:
    """Joint angles of ``lower`` with every axis ``upper`` gives replaced."""
    out = dict(lower)
    for joint, angles in upper.items():
        below = out.get(joint, (None, None, None))
        out[joint] = tuple(u if u is not None else b for u, b in zip(angles, below, strict=True))  # type: ignore[assignment]
    return out


def _draw(rng: np.random.Generator, template: dict[str, Euler]) -> np.ndarray:
    """[21,3] radians: a few degrees of jitter everywhere, the template's angles on top, within normal ranges."""
    euler = rng.normal(0.0, np.deg2rad(JITTER_DEG), size=(len(BODY_JOINTS), 3))
    for name, angles in template.items():
        i = joint_index(name)
        for axis, value in enumerate(angles):
            if value is not None:
                drawn = rng.uniform(*value) if isinstance(value, tuple) else value
                euler[i, axis] += np.deg2rad(drawn)
    return np.clip(euler, NORMAL[..., 0], NORMAL[..., 1])  # a kneeling ankle's drawn 40-60 degrees stay below 45


# the angles the solver may move: hips (flexion, abduction), knees, ankles (flexion, inversion); an arm with a target
LEG_DOFS = tuple(
    (f"{s}_{joint}", axis)
    for s in ("L", "R")
    for joint, axes in (("Hip", (0, 2)), ("Knee", (0,)), ("Ankle", (0, 2)))
    for axis in axes
)
ARM_JOINT_AXES = (("Shoulder", 0), ("Shoulder", 1), ("Shoulder", 2), ("Elbow", 0), ("Elbow", 1))
ARM_DOFS = {s: tuple((f"{s}_{joint}", axis) for joint, axis in ARM_JOINT_AXES) for s in ("L", "R")}
WEIGHTS = {"floor": 10.0, "hands": 10.0, "upright": 1.0, "lying": 10.0}
KEEP_WEIGHT = 0.03  # per radian away from the drawn angles
# metres, metres, sin(tilt), metres
TOLERANCE = {"floor": 0.004, "hands": 0.03, "upright": np.sin(np.deg2rad(10.0)), "lying": 0.02}
DRAWS = 50  # templates drawn before giving up on one whose constraints cannot be met


def _heights_on_floor(skeleton: Skeleton, base: Base, k: Kinematics) -> tuple[np.ndarray, list[np.ndarray]]:
    """Heights that must lie on the floor (planted soles, kneeling knees and toes) and heights that must not go
    below it (free feet, raised heels)."""
    on: list[np.ndarray] = []
    above: list[np.ndarray] = []
    for s in base.planted:
        sole = skeleton.sole(k, s)[:, 2]
        on.append(sole[1:] if base.heels_up else sole)
        above.append(sole[:1])
    for s in base.knee_down:  # the knee's lowest point on the floor, the foot behind it not below
        on.append(np.array([skeleton.knee_surface(k, s)[:, 2].min()]))
        above.append(skeleton.foot_surface(k, s)[:, 2])
    for s in ("L", "R"):
        if s not in base.planted and s not in base.knee_down:
            above.append(skeleton.sole(k, s)[:, 2])
    return (np.concatenate(on) if on else np.zeros(0)), above


def _constraints(
    skeleton: Skeleton, base: Base, targets: tuple[HandTarget, ...], k: Kinematics
) -> dict[str, np.ndarray]:
    """Unweighted residuals of a template's constraints in one pose: metres, and sin(tilt) for the torso."""
    out: dict[str, np.ndarray] = {}
    on, above = _heights_on_floor(skeleton, base, k)
    if len(on):
        floor = on.mean()
        out["floor"] = np.concatenate([on - floor, *(np.minimum(0.0, a - floor) for a in above)])
    if base.upright:
        torso = k.positions[JOINT["Neck"]] - k.positions[JOINT["Pelvis"]]
        out["upright"] = torso[:2] / np.linalg.norm(torso)
    if targets:
        out["hands"] = np.concatenate(
            [_palm(skeleton, k, t.hand) - _anchor(skeleton, k, t.anchor, t.hand) for t in targets]
        )
    if base.lying:  # the body rests on its torso: no arm reaches below it (that would prop the body up)
        out["lying"] = np.minimum(0.0, _arm_bottoms(skeleton, k) - _torso_bottom(skeleton, k))
    return out


TORSO_POINTS = (  # joints of the torso with the capsule whose radius reaches its surface
    ("Pelvis", "pelvis"),
    ("L_Hip", "pelvis"),
    ("R_Hip", "pelvis"),
    ("Spine1", "abdomen"),
    ("Spine2", "chest"),
    ("Spine3", "chest"),
    ("L_Shoulder", "shoulders"),
    ("R_Shoulder", "shoulders"),
)
ARM_POINTS = tuple((f"{s}_{j}", f"{s}_{c}") for s in ("L", "R") for j, c in (("Elbow", "forearm"), ("Wrist", "hand")))


def _torso_bottom(skeleton: Skeleton, k: Kinematics) -> float:
    """The lowest point of the torso's capsules (joint height minus its capsule's radius) in pose ``k``."""
    return min(k.positions[JOINT[j]][2] - skeleton.radii[CAPSULE_NAMES.index(c)] for j, c in TORSO_POINTS)


def _arm_bottoms(skeleton: Skeleton, k: Kinematics) -> np.ndarray:
    """Elbows' and wrists' lowest points (joint height minus the forearm's or hand's capsule radius)."""
    return np.array([k.positions[JOINT[j]][2] - skeleton.radii[CAPSULE_NAMES.index(c)] for j, c in ARM_POINTS])


def _solve(
    skeleton: Skeleton,
    euler: np.ndarray,
    base: Base,
    targets: tuple[HandTarget, ...],
    pitch: float,
    fixed_tilt: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Move the legs, the arms with targets and the body's tilt until the constraints hold; returns the angles,
    the body's tilt (3x3) and whether every constraint is met within ``TOLERANCE``. With ``fixed_tilt`` the legs
    and the tilt stay as they are and only the arms move."""
    on_floor = bool(base.planted or base.knee_down) and fixed_tilt is None
    dofs: list[tuple[str, int]] = list(LEG_DOFS) if on_floor else []
    for hand in ("L", "R") if base.lying else tuple(t.hand for t in targets):  # lying: arms kept off the floor
        dofs += [d for d in ARM_DOFS[hand] if d not in dofs]
    tilt = (on_floor or base.upright) and fixed_tilt is None
    index = [(joint_index(j), axis) for j, axis in dofs]
    start = np.array([euler[i, a] for i, a in index] + ([pitch, 0.0] if tilt else []))
    # a kneeling foot lies on its instep: that ankle may stretch as far as a kneeling person's does
    bounds = [
        EXTREME[i, a] if j in {f"{s}_Ankle" for s in base.knee_down} else NORMAL[i, a]
        for (i, a), (j, _) in zip(index, dofs, strict=True)
    ]
    low = np.array([b[0] for b in bounds] + ([pitch - 0.5, -0.25] if tilt else []))
    high = np.array([b[1] for b in bounds] + ([pitch + 0.5, 0.25] if tilt else []))

    def unpack(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        angles = euler.copy()
        for (i, a), value in zip(index, x, strict=False):
            angles[i, a] = value
        root = rot_x(x[-2]) @ rot_y(x[-1]) if tilt else np.eye(3) if fixed_tilt is None else fixed_tilt
        return angles, root

    def residuals(x: np.ndarray) -> np.ndarray:
        angles, root = unpack(x)
        parts = _constraints(skeleton, base, targets, skeleton.forward(angles, root))
        return np.concatenate([KEEP_WEIGHT * (x - start), *(WEIGHTS[name] * r for name, r in parts.items())])

    if len(start):
        euler, root = unpack(solve_bounded(residuals, start, low, high))
    else:
        root = np.eye(3) if fixed_tilt is None else fixed_tilt
    final = _constraints(skeleton, base, targets, skeleton.forward(euler, root))
    met = all(float(np.abs(r).max(initial=0.0)) <= TOLERANCE[name] for name, r in final.items())
    return euler, root, met


# whole-body turn of a lying base (body frame: x left, -y forward, z up): face up, face down, left side up
LYING = {
    "back": rot_x(-np.pi / 2),
    "front": rot_x(np.pi / 2),
    "side": rot_y(-np.pi / 2),
}
MIRROR = np.diag([-1.0, 1.0, 1.0])  # the body frame's left-right reflection


BASE_WEIGHTS = {name: b.weight for name, b in BASES.items()}


class ConstraintsNotMet(RuntimeError):
    """A template's constraints were not met on this skeleton (a failed pose attempt, not a failed run)."""


def sample_everyday(
    rng: np.random.Generator,
    skeleton: Skeleton,
    bases: dict[str, float] | None = None,
    templates: tuple[str, ...] = (),
) -> JointAngles:
    """Draw a template (a base from ``bases`` weights, default ``BASE_WEIGHTS``, then one of its gestures; or
    one of ``templates``, "<base>/<gesture>", uniformly), its angles, and solve its constraints on ``skeleton``;
    mirrored with probability 1/2."""
    if templates:
        unknown = sorted(set(templates) - set(TEMPLATES))
        if unknown:
            raise ValueError(f"unknown everyday template(s) {', '.join(unknown)}; choose from {', '.join(TEMPLATES)}")
        base_name, gesture_name = str(rng.choice(list(templates))).split("/")
        base = BASES[base_name]
    else:
        base = BASES[choose(rng, bases or BASE_WEIGHTS)]
        gesture_name = str(rng.choice(base.gestures))
    relaxed = RELAXED[base.stance]
    gesture = _with_relaxed_arms(GESTURES[gesture_name], relaxed) if gesture_name != "relaxed" else relaxed
    # relaxed arms keep what the base gives them (a walk's arm swing); a gesture's arms replace it
    joints = _overlay(relaxed.joints, base.joints)
    if gesture_name != "relaxed":
        joints = _overlay(joints, gesture.joints)
    name = f"{base.name}/{gesture_name}"
    mirrored = rng.uniform() < 0.5
    if mirrored:  # mirrored before solving: a body's two sides differ a little
        base, gesture, joints = (
            _mirrored(base),
            _mirrored(gesture),
            {mirror_name(j): _mirrored_euler(a) for j, a in joints.items()},
        )
    lying = (MIRROR @ LYING[base.lying] @ MIRROR if mirrored else LYING[base.lying]) if base.lying else None
    for _ in range(DRAWS):
        euler = _draw(rng, joints)
        pitch = float(np.deg2rad(rng.uniform(*base.pitch_deg))) if base.pitch_deg else 0.0
        euler, root, met = _solve(skeleton, euler, base, gesture.targets, pitch, fixed_tilt=lying)  # lying: its turn
        if met:
            break
    else:
        raise ConstraintsNotMet(f"everyday template {name}: constraints not met in {DRAWS} draws")
    solved_tilt = bool(base.planted or base.knee_down or base.upright)
    orientation = "upright" if solved_tilt else "lying" if base.lying else "support"
    tilt: np.ndarray | None = root if solved_tilt else lying
    seat = choose(rng, SEAT_MIX) if base.seat else None
    curl = float(rng.uniform(*FINGER_CURL))
    contacts = base.contacts + gesture.contacts
    return JointAngles(
        "everyday", euler, orientation, base.support, 0.0, name, tilt, contacts, seat, base.planted, curl
    )


def regesture(
    rng: np.random.Generator, skeleton: Skeleton, previous: JointAngles, templates: tuple[str, ...] = ()
) -> JointAngles:
    """``previous`` (an everyday pose) with another arm and head gesture of its base (one of ``templates`` of that
    base when given), the legs, trunk and tilt kept as they were: how a person sitting on a seat moves between two
    photographs without leaving it. The arms' targets are solved again; raises ConstraintsNotMet when no draw
    meets them."""
    if previous.template is None or previous.tilt is None:
        raise ValueError("regesture takes an upright everyday pose (its template and tilt)")
    base = BASES[previous.template.split("/")[0]]
    allowed = [t.split("/")[1] for t in templates if t.split("/")[0] == base.name]
    gesture_name = str(rng.choice(allowed or list(base.gestures)))
    relaxed = RELAXED[base.stance]
    gesture = _with_relaxed_arms(GESTURES[gesture_name], relaxed) if gesture_name != "relaxed" else relaxed
    joints = relaxed.joints if gesture_name == "relaxed" else _overlay(relaxed.joints, gesture.joints)
    if rng.uniform() < 0.5:  # either hand
        gesture, joints = _mirrored(gesture), {mirror_name(j): _mirrored_euler(a) for j, a in joints.items()}
    moved = [joint_index(name) for name in joints]
    for _ in range(DRAWS):
        euler = previous.euler.copy()
        euler[moved] = _draw(rng, joints)[moved]
        euler, _, met = _solve(skeleton, euler, base, gesture.targets, 0.0, fixed_tilt=previous.tilt)
        if met:
            break
    else:
        raise ConstraintsNotMet(f"everyday gesture {gesture_name} on {base.name}: targets not met in {DRAWS} draws")
    contacts = tuple(dict.fromkeys(base.contacts + _mirrored(base).contacts + gesture.contacts))
    return replace(previous, euler=euler, template=f"{base.name}/{gesture_name}", contacts=contacts)


def _with_relaxed_arms(gesture: Gesture, relaxed: Gesture) -> Gesture:
    """A gesture with the stance's relaxed arm for a hand it leaves free (its target and contacts with it)."""
    busy = {t.hand for t in gesture.targets} | {j[0] for j in gesture.joints if j.endswith(("_Shoulder", "_Elbow"))}
    targets = gesture.targets + tuple(t for t in relaxed.targets if t.hand not in busy)
    return replace(gesture, targets=targets, contacts=tuple(dict.fromkeys(gesture.contacts + relaxed.contacts)))


def _other(which: str) -> str:
    return {"L": "R", "R": "L"}[which]


def _mirrored_euler(angles: Euler) -> Euler:
    return (angles[0], _mirror_angle(angles[1]), _mirror_angle(angles[2]))


def _mirrored(template: Base | Gesture) -> Any:
    """The template for the other side: sides of feet, knees, hands, supports and contacts swapped."""
    contacts = tuple((mirror_name(a), mirror_name(b)) for a, b in template.contacts)
    if isinstance(template, Gesture):
        targets = tuple(HandTarget(_other(t.hand), t.anchor) for t in template.targets)
        return replace(template, targets=targets, contacts=contacts)
    return replace(
        template,
        planted=tuple(_other(s) for s in template.planted),
        knee_down=tuple(_other(s) for s in template.knee_down),
        support=tuple(mirror_name(s) for s in template.support),
        contacts=contacts,
    )
