"""A person's rest skeleton for cheap forward kinematics, and a small bounded least-squares solver (numpy only).

Everyday poses need more than drawn angles: both soles flat on one floor, a hand on the hip, forearms across
the chest. ``Skeleton`` takes a body's zero pose (the sampler's T-pose) once per person and turns Euler angles
into joint positions without skinning a mesh (exact for the mannequin; for anny within ~1.5 cm above the spine,
whose SMPL-X joint is spread over two anny bones, and exact from the pelvis down). ``solve_bounded`` moves chosen
angles within their bounds until the residuals of such constraints are small (Levenberg-Marquardt with a
finite-difference Jacobian: a handful of variables, a few dozen cheap evaluations).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bpgen.bodies import NOMINAL_LIMB_LENGTH, PosedBody, limb_length
from bpgen.bodies.joint_map import SMPL_JOINTS, SMPL_PARENTS, SMPL_TO_ANNY
from bpgen.geometry.rotations import euler_xyz_to_matrix

JOINT = {name: i for i, name in enumerate(SMPL_JOINTS)}
SOLE_POINTS = ("heel", "ball_inner", "ball_outer", "toe")
SOLE_BAND_M = 0.012  # rest vertices this close above a foot's lowest one form its sole


@dataclass(frozen=True)
class Kinematics:
    """Joint positions [22,3] and global rotations [22,3,3] of one pose, body frame (Z up, facing -Y)."""

    positions: np.ndarray
    rotations: np.ndarray

    def point(self, joint: str, offset: np.ndarray) -> np.ndarray:
        """Where the point ``offset`` away from ``joint`` at rest goes when it moves rigidly with that joint."""
        i = JOINT[joint]
        return self.positions[i] + self.rotations[i] @ offset


@dataclass(frozen=True)
class Skeleton:
    """The rest joints of one person (zero pose, pelvis at the origin), its sole points and capsule radii."""

    rest: np.ndarray  # [22,3], SMPL_JOINTS order
    soles: dict[str, np.ndarray]  # "L"/"R" -> [4,3] SOLE_POINTS relative to that side's ankle joint at rest
    knees: dict[str, tuple[np.ndarray, np.ndarray]]  # side -> surface points around the knee (thigh's, shin's)
    feet: dict[str, np.ndarray]  # side -> surface points of the foot, relative to the ankle
    radii: np.ndarray  # capsule radii, bodies' CAPSULES order
    scale: float  # limb length relative to the nominal 1.72 m adult

    @classmethod
    def of(cls, rest: PosedBody) -> Skeleton:
        """From a body posed at zero angles (``body.pose(np.zeros((21, 3)), shape)``)."""
        if tuple(rest.joint_names[: len(SMPL_JOINTS)]) != SMPL_JOINTS:
            raise ValueError("the body's first joints must be the SMPL-X pelvis and body joints, in order")
        joints = np.asarray(rest.joints[: len(SMPL_JOINTS)], dtype=np.float64)
        named: dict[str, np.ndarray] = {name: joints[i] for i, name in enumerate(SMPL_JOINTS)}
        v = rest.vertices
        soles, knees, feet = {}, {}, {}
        for side in ("L", "R"):
            hip, knee, ankle = (joints[JOINT[f"{side}_{j}"]] for j in ("Hip", "Knee", "Ankle"))
            leg = v[np.sign(v[:, 0]) == (1.0 if side == "L" else -1.0)]
            soles[side] = _sole_points(v, ankle, side)
            reach = 0.3 * (knee[2] - ankle[2])  # the knee's surface: 0.3 of a shin above and below the joint
            thigh = leg[(leg[:, 2] >= knee[2]) & (leg[:, 2] < knee[2] + reach)]
            shin = leg[(leg[:, 2] < knee[2]) & (leg[:, 2] > knee[2] - reach)]
            knees[side] = (_sparse(thigh) - hip, _sparse(shin) - knee)
            feet[side] = _sparse(leg[leg[:, 2] < ankle[2]]) - ankle
        scale = limb_length(named) / NOMINAL_LIMB_LENGTH
        return cls(joints, soles, knees, feet, np.asarray(rest.capsules.r, np.float64), scale)

    def forward(self, euler: np.ndarray, root: np.ndarray | None = None) -> Kinematics:
        """Joint positions and rotations for Euler angles [21,3] (``bpgen.poses.joints`` conventions), turned
        by ``root`` (3x3, body frame) about the pelvis."""
        local = SMPL_TO_ANNY @ euler_xyz_to_matrix(euler) @ SMPL_TO_ANNY.T
        rotations = np.empty((len(SMPL_JOINTS), 3, 3))
        positions = np.empty((len(SMPL_JOINTS), 3))
        rotations[0] = np.eye(3) if root is None else root
        positions[0] = self.rest[0]
        for j in range(1, len(SMPL_JOINTS)):
            parent = SMPL_PARENTS[j]
            rotations[j] = rotations[parent] @ local[j - 1]
            positions[j] = positions[parent] + rotations[parent] @ (self.rest[j] - self.rest[parent])
        return Kinematics(positions, rotations)

    def knee_surface(self, kinematics: Kinematics, side: str) -> np.ndarray:
        """Points around one knee in a pose (the thigh's rigid with the hip joint, the shin's with the knee)."""
        thigh, shin = self.knees[side]
        hip, knee = JOINT[f"{side}_Hip"], JOINT[f"{side}_Knee"]
        return np.concatenate(
            [
                kinematics.positions[hip] + thigh @ kinematics.rotations[hip].T,
                kinematics.positions[knee] + shin @ kinematics.rotations[knee].T,
            ]
        )

    def foot_surface(self, kinematics: Kinematics, side: str) -> np.ndarray:
        """Points of one foot in a pose (rigid with the ankle)."""
        i = JOINT[f"{side}_Ankle"]
        return kinematics.positions[i] + self.feet[side] @ kinematics.rotations[i].T

    def sole(self, kinematics: Kinematics, side: str) -> np.ndarray:
        """[4,3] sole points of one foot in a pose (rigid with the ankle)."""
        i = JOINT[f"{side}_Ankle"]
        return kinematics.positions[i] + self.soles[side] @ kinematics.rotations[i].T


def _sparse(points: np.ndarray, count: int = 48) -> np.ndarray:
    """At most ``count`` of the points, evenly through their order (the mesh's vertex order)."""
    return points[:: max(1, len(points) // count)]


def _sole_points(vertices: np.ndarray, ankle: np.ndarray, side: str) -> np.ndarray:
    """Heel, inner and outer ball, toe tip of one foot's sole at rest, relative to the ankle."""
    sign = 1.0 if side == "L" else -1.0  # the body's left is +x
    foot = vertices[(np.sign(vertices[:, 0]) == sign) & (vertices[:, 2] < ankle[2])]
    sole = foot[foot[:, 2] < foot[:, 2].min() + SOLE_BAND_M]
    heel = sole[np.argmax(sole[:, 1])]  # the body faces -y
    toe = sole[np.argmin(sole[:, 1])]
    front = sole[sole[:, 1] < ankle[1] - 0.5 * (ankle[1] - toe[1])]
    lateral = front[:, 0] * sign
    inner, outer = front[np.argmin(lateral)], front[np.argmax(lateral)]
    points = np.array([heel, inner, outer, toe])
    points[:, 2] = foot[:, 2].min()  # on the plane of the sole's lowest point
    return points - ankle


def solve_bounded(
    residuals: Callable[[np.ndarray], np.ndarray],
    start: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    iterations: int = 40,
    step: float = 1e-4,
    tolerance: float = 1e-10,
) -> np.ndarray:
    """Minimise ``|residuals(x)|^2`` over ``low <= x <= high`` from ``start`` (projected Levenberg-Marquardt);
    a local minimum: check the residuals of the result."""
    x = np.clip(np.asarray(start, dtype=np.float64), low, high)
    r = residuals(x)
    cost = float(r @ r)
    damping = 1e-3
    eye = np.eye(len(x))
    for _ in range(iterations):
        jacobian = np.empty((len(r), len(x)))
        for k in range(len(x)):
            probe = x.copy()
            probe[k] += step
            jacobian[:, k] = (residuals(probe) - r) / step
        normal = jacobian.T @ jacobian
        gradient = jacobian.T @ r
        while damping < 1e8:
            candidate = np.clip(
                x - np.linalg.solve(normal + damping * (eye + np.diag(np.diag(normal))), gradient), low, high
            )
            r_new = residuals(candidate)
            cost_new = float(r_new @ r_new)
            if cost_new < cost:
                break
            damping *= 10.0
        else:
            break
        improvement = cost - cost_new
        x, r, cost = candidate, r_new, cost_new
        damping = max(damping / 10.0, 1e-7)
        if cost < tolerance or improvement < tolerance * 1e-2:
            break
    return x
