"""bpgen's numpy port of anny (``bpgen.bodies.anny_model``) against anny itself, and the export's check.

The comparisons need anny + torch and anny's own compact model file (./0-setup keeps it next to the export); they
skip with the reason where either is missing. The check tests need neither.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpgen.bodies import BodyAssetError
from bpgen.bodies.anny import PHENOTYPES, AnnyBody, cache_dir
from bpgen.bodies.anny_model import EXPORT_DIR, STAMP_NAME, AnnyModel, export_problem, read_stamp
from bpgen.bodies.protocol import BodyShape
from bpgen.geometry.rotations import axis_angle_to_matrix
from bpgen.poses.sampler import sample_uniform
from bpgen.render import lifecycle
from bpgen.run import layout

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "anny", "roma", "warp")
# child to elder, both sexes, the corners of muscle, weight, height and proportions (gender, age, muscle, weight,
# height, proportions; age -1/3 newborn .. 1 old)
PHENOTYPE_SPREAD = (
    (0.0, -1 / 3, 0.5, 0.5, 0.5, 0.5),
    (1.0, 0.05, 0.0, 0.0, 0.0, 0.0),
    (0.2, 0.215, 1.0, 1.0, 1.0, 1.0),
    (0.9, 0.415, 0.0, 1.0, 0.0, 1.0),
    (0.0, 0.77, 1.0, 0.0, 1.0, 0.0),
    (1.0, 0.77, 0.5, 1.0, 0.5, 0.5),
    (0.3, 1.0, 0.0, 1.0, 1.0, 0.0),
    (0.7, 1.0, 1.0, 0.0, 0.0, 1.0),
    (0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    (1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
)


def _torch_missing() -> str | None:
    for module in ("anny", "torch"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not importable; run ./0-setup to install the set-up stack"
    if export_problem(cache_dir()):
        return f"{export_problem(cache_dir())}; run ./0-setup"
    if len(list(cache_dir().glob("v*/build_compact_model_data_*.safetensors"))) != 1:
        return f"anny's compact model file is not in {cache_dir()} (anny would rebuild it: minutes, 1.7 GB); ./0-setup"
    return None


@pytest.fixture(scope="module")
def reference():
    """(numpy model, anny float64, anny float32, anny's COCO regressor on the float64 model)."""
    reason = _torch_missing()
    if reason:
        pytest.skip(reason)
    import anny

    from bpgen.bodies.anny_export import anny_model

    model64 = anny_model(cache_dir())
    return (
        AnnyModel.load(cache_dir()),
        model64,
        anny_model(cache_dir(), float64=False),
        anny.KeypointsRegressor.coco(model64),
    )


def random_rotations(rng: np.random.Generator, count: int, largest: float) -> np.ndarray:
    axes = rng.normal(size=(count, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    return axis_angle_to_matrix(axes * rng.uniform(0.0, largest, size=(count, 1)))


@pytest.mark.anny
def test_numpy_forward_pass_matches_anny(reference):
    import torch

    ours, model64, model32, regressor = reference
    rng = np.random.default_rng(20)
    worst = {"vertices": 0.0, "bone_poses": 0.0, "keypoints": 0.0, "rest": 0.0, "vertices_f32": 0.0, "bones_f32": 0.0}
    for phenotype in PHENOTYPE_SPREAD:
        for largest in (0.0, 1.0, np.pi):  # the A-pose, moderate and any local rotation on every bone
            rotations = random_rotations(rng, len(ours.bone_labels), largest)
            translation = rng.normal(size=3) * 0.5
            transforms = np.repeat(np.eye(4)[None], len(rotations), axis=0)
            transforms[:, :3, :3], transforms[0, :3, 3] = rotations, translation
            translations = np.zeros((len(rotations), 3))
            translations[0] = translation
            vertices, poses = ours.pose(phenotype, rotations, translations)
            with torch.no_grad():
                kwargs = {k: torch.tensor([v], dtype=torch.float64) for k, v in zip(PHENOTYPES, phenotype, strict=True)}
                out = model64(pose_parameters=torch.from_numpy(transforms[None]), phenotype_kwargs=kwargs)
                keypoints = regressor(out)[0].numpy()
                kwargs32 = {k: v.to(torch.float32) for k, v in kwargs.items()}
                pose32 = torch.from_numpy(transforms[None].astype(np.float32))
                out32 = model32(pose_parameters=pose32, phenotype_kwargs=kwargs32)
            errors = {
                "vertices": vertices - out["vertices"][0].numpy(),
                "bone_poses": poses - out["bone_poses"][0].numpy(),
                "keypoints": ours.keypoints(vertices) - keypoints,
                "rest": ours.rest(phenotype).vertices - out["rest_vertices"][0].numpy(),
                "vertices_f32": vertices - out32["vertices"][0].numpy(),
                "bones_f32": poses[:, :3, 3] - out32["bone_poses"][0, :, :3, 3].numpy(),
            }
            for name, error in errors.items():
                worst[name] = max(worst[name], float(np.abs(error).max()))
    print("max abs errors:", worst)
    assert max(worst["vertices"], worst["bone_poses"], worst["keypoints"], worst["rest"]) < 1e-9, worst
    assert max(worst["vertices_f32"], worst["bones_f32"]) < 1e-5, worst


@pytest.mark.anny
def test_height_and_bmi_match_annys_anthropometry(reference):
    import anny
    import torch

    ours, model64, _, _ = reference
    anthropometry = anny.Anthropometry(model64)
    for phenotype in PHENOTYPE_SPREAD:
        rest = ours.rest(phenotype).vertices
        measures = anthropometry(torch.from_numpy(rest[None]))
        assert abs(ours.height(rest) - float(measures["height"][0])) < 1e-12
        assert abs(ours.bmi(rest) - float(measures["bmi"][0])) < 1e-9


@pytest.mark.anny
def test_anny_body_matches_the_float32_torch_path_it_replaced(reference):
    """AnnyBody's pose (sampler angles through the joint map) as the torch path computed it: heads from anny's
    identity pose, local rotations, anny float32, pelvis at the origin, regressor."""
    import torch

    _, _, model32, _ = reference
    body = AnnyBody()
    rng = np.random.default_rng(3)
    for phenotype in PHENOTYPE_SPREAD[:6]:
        kwargs = {k: torch.tensor([v], dtype=torch.float32) for k, v in zip(PHENOTYPES, phenotype, strict=True)}
        with torch.no_grad():
            heads = model32(phenotype_kwargs=kwargs)["bone_poses"][0, :, :3, 3].numpy().astype(np.float64)
        for _ in range(3):
            body_pose = sample_uniform(rng)
            curl = float(rng.uniform())
            local = body.joint_map.local_rotations(body_pose, heads, curl)
            transforms = np.repeat(np.eye(4)[None], len(local), axis=0)
            transforms[:, :3, :3] = local
            with torch.no_grad():
                out = model32(
                    pose_parameters=torch.from_numpy(transforms[None].astype(np.float32)), phenotype_kwargs=kwargs
                )
            vertices = out["vertices"][0].numpy().astype(np.float64)
            root = out["bone_poses"][0, 0, :3, 3].numpy().astype(np.float64)
            posed = body.pose(body_pose, BodyShape(np.array(phenotype)), curl)
            assert np.abs(posed.vertices - (vertices - root)).max() < 1e-5
            assert np.abs(posed.keypoints - (body._regressor[:17] @ (vertices - root))).max() < 1e-5


# --- the export's check -------------------------------------------------------------------------------------
def fake_export(tmp_path: Path) -> Path:
    """A copy of the real export's stamp over symlinks to its files (no 50 MB copy)."""
    source = cache_dir()
    if export_problem(source):
        pytest.skip(f"{export_problem(source)}; run ./0-setup")
    stamp = read_stamp(source)
    directory = tmp_path / "anny"
    folder = directory / EXPORT_DIR / stamp["export"]
    folder.mkdir(parents=True)
    for name in stamp["files"]:
        (folder / name).symlink_to(source / EXPORT_DIR / stamp["export"] / name)
    shutil.copyfile(source / EXPORT_DIR / STAMP_NAME, directory / EXPORT_DIR / STAMP_NAME)
    return directory


def edit_stamp(directory: Path, **changes: object) -> None:
    path = directory / EXPORT_DIR / STAMP_NAME
    path.write_text(json.dumps(json.loads(path.read_text()) | changes))


def refusal(directory: Path) -> str:
    with pytest.raises(BodyAssetError) as caught:
        AnnyBody(directory)
    message = str(caught.value)
    assert "./0-setup" in message and "\n" not in message
    return message


@pytest.mark.anny
def test_export_check_refuses_another_schema_or_a_changed_file(tmp_path: Path):
    directory = fake_export(tmp_path)
    assert export_problem(directory) is None and AnnyBody(directory).model_stamp
    edit_stamp(directory, schema=0)
    assert "export schema 0, this bpgen reads 1" in refusal(directory)
    edit_stamp(directory, schema=1, files=read_stamp(directory)["files"] | {"model.npz": 1})
    assert "model.npz is missing or has the wrong size" in refusal(directory)
    (directory / EXPORT_DIR / STAMP_NAME).write_text("{")
    assert "is unreadable" in refusal(directory)
    (directory / EXPORT_DIR / STAMP_NAME).unlink()
    assert "anny's model cache is missing" in refusal(directory)


@pytest.mark.anny
def test_setup_rebuilds_an_export_of_another_compact_file(tmp_path: Path):
    if importlib.util.find_spec("anny") is None:
        pytest.skip("anny is not importable; run ./0-setup (the set-up compares its version and compact file)")
    from bpgen.bodies.anny_export import export_is_current

    directory = fake_export(tmp_path)
    compact = directory / read_stamp(directory)["compact_file"]
    compact.parent.mkdir(parents=True)
    compact.write_bytes(b"not anny's compact file")
    assert not export_is_current(directory, compact)  # its hash is not the stamp's: --build-cache exports again


@pytest.mark.anny
def test_the_check_imports_neither_anny_nor_torch():
    code = (
        "import sys\n"
        "from bpgen.bodies.anny import main, AnnyBody\n"
        "status = main(['--check'])\n"
        "AnnyBody().pose(__import__('numpy').zeros((21, 3)), AnnyBody().sample_shape(\n"
        "    __import__('numpy').random.default_rng(0), __import__('bpgen.render.config', fromlist=['x'])\n"
        "    .compose_render_config([])[0].body))\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print('HEAVY', heavy, status)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    if "model cache" in result.stderr and "missing" in result.stderr:
        pytest.skip(result.stderr.strip())
    assert result.returncode == 0, result.stderr
    assert "HEAVY [] 0" in result.stdout, result.stdout


def test_a_partial_shard_is_not_resumed_with_another_body_model(tmp_path: Path):
    tmp = lifecycle.prepare_temp_dir(tmp_path, 0, "seed: 1\n")
    lifecycle.save_scene(tmp, 0, {"frames": [], "body_model": "anny 0.6.2 data v14 sha256:aaaa export schema 1"})
    lifecycle.check_resume_body_model(tmp_path, 0, "seed: 1\n", "anny 0.6.2 data v14 sha256:aaaa export schema 1")
    lifecycle.check_resume_body_model(tmp_path, 0, "seed: 2\n", "other")  # another config starts afresh anyway
    with pytest.raises(lifecycle.BodyModelChanged) as caught:
        lifecycle.check_resume_body_model(tmp_path, 0, "seed: 1\n", "anny 0.6.2 data v14 sha256:bbbb export schema 1")
    message = str(caught.value)
    assert "sha256:aaaa" in message and "sha256:bbbb" in message and str(tmp) in message and "\n" not in message
    lifecycle.save_scene(tmp, 1, {"frames": []})  # a checkpoint from before the stamp: not a refusal by itself
    layout.scene_checkpoint(tmp, 0).unlink()
    lifecycle.check_resume_body_model(tmp_path, 0, "seed: 1\n", "anything")
