"""Whole-body orientation beyond upright: on supports, tilted, lying, inverted, cartwheeling, random."""

from __future__ import annotations

import numpy as np

from bpgen.bodies import PosedBody
from bpgen.choice import choose
from bpgen.geometry.rotations import axis_angle_to_matrix, random_rotation, rot_y, rot_z, rotation_between

ORIENTATION_MODES = ("upright", "tilted", "lying", "inverted", "random")
UP = np.array([0.0, 0.0, 1.0])


def support_up(posed: PosedBody, support: tuple[str, ...]) -> np.ndarray:
    """Body-frame direction that must point up so that the ``support`` joints lie in one horizontal
    plane below the centre of mass (one joint: centre of mass straight above it)."""
    points = np.array([posed.joint(name) for name in support])
    com = posed.center_of_mass
    center = points.mean(axis=0)
    toward_com = com - center
    if len(points) == 1:
        up = toward_com
    elif len(points) == 2:
        line = (points[1] - points[0]) / max(float(np.linalg.norm(points[1] - points[0])), 1e-9)
        up = toward_com - np.dot(toward_com, line) * line
    else:
        _, _, vt = np.linalg.svd(points - center)
        up = vt[-1] * np.sign(np.dot(vt[-1], toward_com) or 1.0)
    norm = np.linalg.norm(up)
    return up / norm if norm > 1e-6 else UP.copy()


def _lowest_ankles(posed: PosedBody) -> tuple[str, ...]:
    heights = {n: posed.joint(n)[2] for n in ("L_Ankle", "R_Ankle")}
    low = min(heights.values())
    return tuple(n for n, h in heights.items() if h - low < 0.15)


def _tilt(rng: np.random.Generator, low_deg: float, high_deg: float) -> np.ndarray:
    axis = rot_z(rng.uniform(0, 2 * np.pi))[:, 0]
    angle = np.deg2rad(rng.uniform(low_deg, high_deg))
    return axis_angle_to_matrix(axis * angle)[0]


def body_orientation(
    rng: np.random.Generator,
    posed: PosedBody,
    mode: str,
    support: tuple[str, ...] = (),
    mix: dict[str, float] | None = None,
    tilt: np.ndarray | None = None,
) -> tuple[np.ndarray, str]:
    """World rotation of a body posed in its Z-up frame, and the mode used.

    ``mode`` "support" aligns on ``support`` joints; "mixed" draws a mode from ``mix`` (weights of
    ORIENTATION_MODES); "cartwheel" rolls the body sideways. A given ``tilt`` (the pose's own, solved with it)
    is used as it is under the name ``mode``. A random heading is always added.
    """
    if mode == "mixed":
        mode = choose(rng, mix or {"upright": 1.0})
    heading = rot_z(rng.uniform(0.0, 2.0 * np.pi))
    if tilt is not None:
        align = tilt
    elif mode == "support":
        align = rotation_between(support_up(posed, support), UP)
    elif mode == "upright":
        align = rotation_between(support_up(posed, _lowest_ankles(posed)), UP)
    elif mode == "tilted":
        align = _tilt(rng, 20.0, 80.0) @ rotation_between(support_up(posed, _lowest_ankles(posed)), UP)
    elif mode == "inverted":
        hands_up = min(posed.joint("L_Wrist")[2], posed.joint("R_Wrist")[2]) > posed.joint("Head")[2]
        align = rotation_between(support_up(posed, ("L_Wrist", "R_Wrist") if hands_up else ("Head",)), UP)
    elif mode == "lying":
        spin = rot_z(rng.uniform(0.0, 2.0 * np.pi))  # which side faces up
        align = _tilt(rng, 0.0, 12.0) @ rotation_between(UP, np.array([1.0, 0.0, 0.0])) @ spin
    elif mode == "cartwheel":
        roll = np.deg2rad(rng.uniform(60.0, 180.0)) * rng.choice([-1.0, 1.0])
        align = rot_y(roll)
    elif mode == "random":
        align = random_rotation(rng)
    else:
        raise ValueError(f"unknown orientation mode {mode!r}; choose from {', '.join(ORIENTATION_MODES)}")
    return heading @ align, mode


def inversion_deg(rotation: np.ndarray) -> float:
    """Angle between the body's up axis (pelvis to head at rest) and the world's up, in degrees."""
    return float(np.degrees(np.arccos(np.clip(rotation[2, 2], -1.0, 1.0))))
