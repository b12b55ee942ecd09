"""mannequin-x's skinned "wooden" mannequin (``body=mannequin``): the simple body, no hair, skin or clothes."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from bpgen.bodies.protocol import (
    NOMINAL_LIMB_LENGTH,
    NOMINAL_RADII,
    BodyAssetError,
    BodyShape,
    PosedBody,
    capsules_from_joints,
    limb_length,
)
from bpgen.geometry.keypoints import COCO_KEYPOINTS, JOINT_KEYPOINTS
from bpgen.geometry.rotations import Y_UP_TO_Z_UP

if TYPE_CHECKING:
    from bpgen.appearance.look import Look
    from bpgen.bodies.config import BodyConfig


class MannequinBody:
    """mannequin-x's skinned "wooden" mannequin (Apache-2.0, ships in its wheel)."""

    name = "mannequin"
    takes_look = False  # one material from the scene plan
    model_stamp: str | None = None  # mannequin-x's data is its pinned package
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

    def sample_shape(self, rng: np.random.Generator, config: BodyConfig) -> BodyShape:
        """Shape coefficients ~ N(0, shape_std), clipped; the mannequin has no age, sex or skin."""
        values = np.clip(rng.normal(0.0, config.shape_std, size=self.num_shape), -config.shape_clip, config.shape_clip)
        return BodyShape(values, {"body_model": "mannequin"})

    def dress(self, posed: PosedBody, shape: BodyShape, look: Look | None) -> PosedBody:
        """The mannequin wears nothing: its random material comes from the scene plan."""
        return posed

    def pose(self, body_pose: np.ndarray, shape: BodyShape, finger_curl: float = 0.0) -> PosedBody:
        """``finger_curl`` is ignored: the mannequin's hands are mittens."""
        model = self._model
        landmarks = self.landmark_vertices
        model.reshape(np.asarray(shape.values, np.float32))
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
            capsules_from_joints(named, NOMINAL_RADII * scale, head_reach=0.12),
        )
