"""Human bodies as numpy meshes: the interface the rest of bpgen poses, places and labels.

The default body is mannequin-x's skinned "wooden" mannequin. A body turns (body_pose, shape) into a
``PosedBody`` in a Z-up frame (metres, facing -Y, pelvis at the origin); placing it in the world is a rigid
transform. Another body model (e.g. SMPL-X through the ``smplx`` package) only has to implement ``Body``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np

from bpgen.collision import Capsules
from bpgen.keypoints import COCO_KEYPOINTS, FACE_KEYPOINTS, JOINT_KEYPOINTS
from bpgen.rotations import Y_UP_TO_Z_UP

# Capsules between joints (names) with nominal radii (m) for a 1.72 m mannequin. End names may be
# "<joint>+<joint>" for an extrapolated tip: the first joint plus the offset from the second to the first.
CAPSULES: tuple[tuple[str, str, float], ...] = (
    ("L_Hip", "R_Hip", 0.10),  # 0 pelvis
    ("Pelvis", "Spine3", 0.11),  # 1 abdomen
    ("Spine3", "Neck", 0.12),  # 2 chest
    ("L_Shoulder", "R_Shoulder", 0.06),  # 3 shoulder girdle
    ("Head", "Head+Neck", 0.10),  # 4 head
    ("L_Shoulder", "L_Elbow", 0.05),  # 5
    ("L_Elbow", "L_Wrist", 0.045),  # 6
    ("L_Wrist", "L_Wrist+L_Elbow", 0.04),  # 7 hand
    ("R_Shoulder", "R_Elbow", 0.05),  # 8
    ("R_Elbow", "R_Wrist", 0.045),  # 9
    ("R_Wrist", "R_Wrist+R_Elbow", 0.04),  # 10
    ("L_Hip", "L_Knee", 0.075),  # 11 thigh
    ("L_Knee", "L_Ankle", 0.055),  # 12 shin
    ("L_Ankle", "L_Foot", 0.045),  # 13 foot
    ("R_Hip", "R_Knee", 0.075),  # 14
    ("R_Knee", "R_Ankle", 0.055),  # 15
    ("R_Ankle", "R_Foot", 0.045),  # 16
)
# Neighbouring capsules (they touch by construction); pairs up to two steps apart are not collision-tested.
_CAPSULE_LINKS = (
    (0, 1),
    (1, 2),
    (2, 3),
    (2, 4),
    (3, 4),
    (3, 5),
    (5, 6),
    (6, 7),
    (3, 8),
    (8, 9),
    (9, 10),
    (0, 11),
    (11, 12),
    (12, 13),
    (0, 14),
    (14, 15),
    (15, 16),
    (1, 11),
    (1, 14),
)
NOMINAL_LIMB_LENGTH = 1.245  # limb_length() of the neutral mannequin (shape 0), which the radii fit
# Depth tolerance (m) of each COCO keypoint's visibility test: how far behind the visible surface it may
# lie (joints sit inside the limb, face landmarks on the surface).
KEYPOINT_DEPTH_TOLERANCE = {n: 0.03 for n in FACE_KEYPOINTS} | {
    n: 0.11 if "hip" in n else 0.08 if "shoulder" in n or "knee" in n else 0.06 for n in JOINT_KEYPOINTS
}


def _ignored_capsule_pairs(count: int, links: tuple[tuple[int, int], ...], steps: int = 2) -> np.ndarray:
    adjacency = np.eye(count, dtype=bool)
    for i, j in links:
        adjacency[i, j] = adjacency[j, i] = True
    reach = adjacency.copy()
    for _ in range(steps - 1):
        reach = reach | ((reach.astype(int) @ adjacency.astype(int)) > 0)
    return reach


IGNORED_CAPSULE_PAIRS = _ignored_capsule_pairs(len(CAPSULES), _CAPSULE_LINKS)


@dataclass(frozen=True)
class PosedBody:
    """A posed body mesh with its joints, COCO keypoints and collision capsules (one frame of reference)."""

    vertices: np.ndarray  # [V,3]
    faces: np.ndarray  # [F,3]
    joints: np.ndarray  # [J,3]
    joint_names: tuple[str, ...]
    keypoints: np.ndarray  # [17,3], COCO order
    capsules: Capsules

    def transformed(self, rotation: np.ndarray, translation: np.ndarray) -> PosedBody:
        def move(p: np.ndarray) -> np.ndarray:
            return p @ rotation.T + translation

        return PosedBody(
            move(self.vertices),
            self.faces,
            move(self.joints),
            self.joint_names,
            move(self.keypoints),
            self.capsules.transformed(rotation, translation),
        )

    def joint(self, name: str) -> np.ndarray:
        return self.joints[self.joint_names.index(name)]

    @property
    def center_of_mass(self) -> np.ndarray:
        """Approximate centre of mass: mean of the vertices (the mesh is roughly uniformly sampled)."""
        return self.vertices.mean(axis=0)


class Body(Protocol):
    """A parametric human body."""

    name: str
    num_shape: int

    def pose(self, body_pose: np.ndarray, shape: np.ndarray) -> PosedBody:
        """Pose with SMPL-X ``body_pose`` [21,3] axis-angle and ``shape`` coefficients; Z-up, pelvis at 0."""
        ...


class BodyAssetError(RuntimeError):
    """The body model or its asset files are not installed."""


class MannequinBody:
    """mannequin-x's skinned "wooden" mannequin (Apache-2.0, ships in its wheel)."""

    name = "mannequin-wooden"
    num_shape = 10

    def __init__(self) -> None:
        try:
            from mannequin import Mannequin

            self._model = Mannequin("wooden", flat_hand_mean=True)
        except (ImportError, OSError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BodyAssetError(
                f"body asset missing: mannequin-x's wooden mannequin could not be loaded ({reason}); "
                "reinstall it with ./0-setup"
            ) from exc
        self._names = self._model.joint_names

    @cached_property
    def landmark_vertices(self) -> dict[str, int]:
        """Fixed vertex indices of the face keypoints, picked once on the neutral head surface."""
        model = self._model
        model.reshape(np.zeros(10, np.float32))
        rest = model.vertices(model.rest_pose()).astype(np.float64)
        weights = model._weights  # the "head" skin part: the egg-shaped head, no face features
        part = list(weights.skin_part_names).index("head")
        start, count = int(weights.skin_part_vertex_starts[part]), int(weights.skin_part_vertex_counts[part])
        head = rest[start : start + count]
        head = head[head[:, 1] > np.percentile(head[:, 1], 20)]  # the skull, not the neck
        lo, hi = head.min(axis=0), head.max(axis=0)
        center, half = (lo + hi) / 2.0, (hi - lo) / 2.0
        targets = {  # x: body's left, y: up, z: forward (rest frame)
            "nose": center + half * [0.0, -0.1, 1.0],
            "left_eye": center + half * [0.35, 0.15, 0.9],
            "right_eye": center + half * [-0.35, 0.15, 0.9],
            "left_ear": center + half * [1.0, 0.0, 0.0],
            "right_ear": center + half * [-1.0, 0.0, 0.0],
        }
        return {name: int(np.argmin(np.linalg.norm(rest - target, axis=1))) for name, target in targets.items()}

    def pose(self, body_pose: np.ndarray, shape: np.ndarray) -> PosedBody:
        model = self._model
        landmarks = self.landmark_vertices
        model.reshape(np.asarray(shape, np.float32))
        params = model.rest_pose()
        params["body_pose"] = np.asarray(body_pose, np.float32).reshape(21, 3)
        vertices = model.vertices(params).astype(np.float64)
        joints = model.joint_transforms(params)[:, :3, 3].astype(np.float64)
        root = joints[0].copy()
        vertices = (vertices - root) @ Y_UP_TO_Z_UP.T
        joints = (joints - root) @ Y_UP_TO_Z_UP.T
        named = dict(zip(self._names, joints, strict=True))
        keypoints = np.array(
            [vertices[landmarks[n]] if n in landmarks else named[JOINT_KEYPOINTS[n]] for n in COCO_KEYPOINTS]
        )
        scale = limb_length(named) / NOMINAL_LIMB_LENGTH
        return PosedBody(
            vertices,
            np.asarray(model.faces),
            joints,
            self._names,
            keypoints,
            capsules_from_joints(named, scale),
        )


def limb_length(named: dict[str, np.ndarray]) -> float:
    """Pose-independent size of a body: pelvis-to-neck plus left thigh and shin lengths."""
    pairs = (("Pelvis", "Neck"), ("L_Hip", "L_Knee"), ("L_Knee", "L_Ankle"))
    return float(sum(np.linalg.norm(named[a] - named[b]) for a, b in pairs))


def capsules_from_joints(named: dict[str, np.ndarray], scale: float = 1.0) -> Capsules:
    """Build the body capsules from named joint positions."""

    def point(spec: str) -> np.ndarray:
        if "+" in spec:
            base, away = spec.split("+")
            direction = named[base] - named[away]
            length = np.linalg.norm(direction)
            return named[base] + direction / max(float(length), 1e-9) * (0.6 * length if base != "Head" else 0.12)
        return named[spec]

    a = np.array([point(s) for s, _, _ in CAPSULES])
    b = np.array([point(e) for _, e, _ in CAPSULES])
    r = np.array([radius for _, _, radius in CAPSULES]) * scale
    return Capsules(a, b, r)
