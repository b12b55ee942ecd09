"""Human bodies as numpy meshes: the interface the rest of bpgen poses, places and labels.

A body draws a ``BodyShape`` (who the person is), turns (body_pose, shape) into a ``PosedBody`` in a Z-up
frame (metres, facing -Y, pelvis at the origin) and dresses it (hair, garments: geometry plus material slots);
placing it in the world is a rigid transform. Joints carry SMPL-X names whatever the model, so capsules,
orientation and labels work on any body. Another model only has to implement ``Body``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from bpgen.errors import UserError
from bpgen.geometry.collision import Capsules

if TYPE_CHECKING:
    from bpgen.appearance.look import Look
    from bpgen.bodies.config import BodyConfig

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
CAPSULE_NAMES = (
    "pelvis",
    "abdomen",
    "chest",
    "shoulders",
    "head",
    *(f"{side}_{part}" for side in ("L", "R") for part in ("upper_arm", "forearm", "hand")),
    *(f"{side}_{part}" for side in ("L", "R") for part in ("thigh", "shin", "foot")),
)
NOMINAL_RADII = np.array([radius for _, _, radius in CAPSULES])
NOMINAL_LIMB_LENGTH = 1.245  # limb_length() of the neutral mannequin (shape 0), which the radii fit


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
class BodyShape:
    """Who a person is: the model's shape coefficients plus readable attributes for the labels."""

    values: np.ndarray  # mannequin: 10 shape coefficients; anny: its 6 phenotype values in [0, 1]
    attributes: dict[str, Any] = field(default_factory=dict)  # anny: age_years, sex, height_m, bmi, muscle


@dataclass(frozen=True)
class Surface:
    """How a dressed mesh is textured: per-corner UVs, a material slot per face, rest-pose coordinates and
    per-vertex float attributes that shaders threshold (e.g. garment coverage: > 0 inside the garment, so
    its edge is a smooth line across the triangles, not a staircase of faces)."""

    slots: tuple[str, ...]  # material slot names, e.g. ("skin", "sclera", "iris", "pupil", "mouth", "hair")
    face_slots: np.ndarray  # [F] index into slots
    uv: np.ndarray  # [F*3, 2] per face corner
    rest: np.ndarray  # [V,3] rest-pose positions: pattern coordinates that move with the body
    attributes: dict[str, np.ndarray] = field(default_factory=dict)  # name -> [V] float
    masks: dict[str, str] = field(default_factory=dict)  # region name -> greyscale UV mask image (lips, nails)


@dataclass(frozen=True)
class PosedBody:
    """A posed body mesh with its joints, COCO keypoints and collision capsules (one frame of reference).

    ``keypoints`` are COCO-17; ``foot_keypoints`` (when the model has them) are COCO-WholeBody's six foot points
    (left big toe, left small toe, left heel, right big toe, right small toe, right heel). ``surface`` is set
    once the body is dressed.
    """

    vertices: np.ndarray  # [V,3]
    faces: np.ndarray  # [F,3]
    joints: np.ndarray  # [J,3]
    joint_names: tuple[str, ...]
    keypoints: np.ndarray  # [17,3], COCO order
    capsules: Capsules
    foot_keypoints: np.ndarray | None = None  # [6,3]
    surface: Surface | None = None

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
            None if self.foot_keypoints is None else move(self.foot_keypoints),
            self.surface,
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
    takes_look: bool  # whether people of this body get a drawn ``Look`` (skin, hair, clothes)
    # the id of the model data it reads (anny: its export's stamp), recorded per scene and in DONE.json so that a
    # shard is never resumed on other data; None for a body whose data ships with its package
    model_stamp: str | None

    def __hash__(self) -> int:  # a body is a cache key (``bpgen.poses.person.skeleton_of``): by identity
        ...

    def sample_shape(self, rng: np.random.Generator, config: BodyConfig) -> BodyShape:
        """Draw who the person is (shape coefficients and attributes)."""
        ...

    def pose(self, body_pose: np.ndarray, shape: BodyShape, finger_curl: float = 0.0) -> PosedBody:
        """Pose with SMPL-X ``body_pose`` [21,3] axis-angle (``bpgen.poses.joints`` conventions) and the fingers
        bent by ``finger_curl`` (0 flat, 1 a relaxed hand's full curl; a model without fingers ignores it);
        Z-up, pelvis at 0. The undressed body: what collision tests look at."""
        ...

    def dress(self, posed: PosedBody, shape: BodyShape, look: Look | None) -> PosedBody:
        """The final surface: hair and garments added or offset, material slots set (same frame)."""
        ...


class BodyAssetError(UserError, RuntimeError):
    """The body model or its asset files are not installed."""


def limb_length(named: dict[str, np.ndarray]) -> float:
    """Pose-independent size of a body: pelvis-to-neck plus left thigh and shin lengths."""
    pairs = (("Pelvis", "Neck"), ("L_Hip", "L_Knee"), ("L_Knee", "L_Ankle"))
    return float(sum(np.linalg.norm(named[a] - named[b]) for a, b in pairs))


def capsules_from_joints(named: dict[str, np.ndarray], radii: np.ndarray, head_reach: float) -> Capsules:
    """The body capsules (``CAPSULES``) on named joint positions with the given radii; the head capsule reaches
    ``head_reach`` metres past the head joint, hand capsules 0.6 forearm lengths past the wrist."""

    def point(spec: str) -> np.ndarray:
        if "+" in spec:
            base, away = spec.split("+")
            direction = named[base] - named[away]
            length = float(np.linalg.norm(direction))
            reach = head_reach if base == "Head" else 0.6 * length
            return named[base] + direction / max(length, 1e-9) * reach
        return named[spec]

    a = np.array([point(s) for s, _, _ in CAPSULES])
    b = np.array([point(e) for _, e, _ in CAPSULES])
    return Capsules(a, b, np.asarray(radii, dtype=np.float64))
