import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpgen.bodies.mannequin import MannequinBody
from bpgen.geometry.collision import bodies_overlap
from bpgen.render.config import ConfigError, compose_render_config
from bpgen.render.lifecycle import scene_frame_counts
from bpgen.scene.plan import plan_scene

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_compose_into_typed_config():
    config, resolved = compose_render_config([])
    assert config.resolution == (640, 480) and config.mode.name == "pose"
    assert resolved["frames_per_scene"] == config.frames_per_scene


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("no_such_key=1", "bad config override"),
        ("resolution=[0,48]", "resolution width must be an integer > 0"),
        ("resolution=[64]", "resolution must be [width, height]"),
        ("samples=-4", "samples must be an integer > 0"),
        ("frames_per_scene=0", "frames_per_scene must be an integer > 0"),
        ("mode=sideways", "bad config override"),
        ("image_format=gif", "image_format='gif' is not valid"),
        ("mode.people=[3,1]", "mode.people"),
        ("+pose.strategy_mix.moonwalk=1", "pose.strategy_mix has unknown entries"),
    ],
)
def test_bad_config_is_one_clear_error(override, message):
    with pytest.raises(ConfigError, match=None) as error:
        compose_render_config([override])
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    "args",
    [
        ["--shard", "0", "--images", "0"],
        ["--shard", "-1", "--images", "2"],
        ["--shard", "0", "--images", "2", "resolution=[0,10]"],
        ["--shard", "0", "--images", "2", "unknown_key=3"],
    ],
)
def test_cli_rejects_bad_input_and_writes_nothing(tmp_path, args):
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "bpgen.render", "--run-dir", str(run_dir), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert not run_dir.exists()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bpgen.render", *args], capture_output=True, text=True, cwd=ROOT, check=False
    )


@pytest.mark.parametrize("parent", ["/sys", "file"])
def test_cli_rejects_unwritable_run_dir(tmp_path, parent):
    """A read-only mount (refused even to root) and a path below a regular file."""
    if parent == "file":
        (tmp_path / "file").write_text("x")
        parent = str(tmp_path / "file")
    result = run_cli("--run-dir", f"{parent}/bpgen-run", "--shard", "0", "--images", "1")
    assert result.returncode == 2 and "not writable" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_help_works():
    result = subprocess.run(
        [sys.executable, "-m", "bpgen.render", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0 and "--run-dir" in result.stdout


def test_scene_frame_counts():
    assert scene_frame_counts(10, 4) == [4, 4, 2]
    assert scene_frame_counts(3, 8) == [3]


@pytest.mark.parametrize("mode", ["pose", "occlusion", "viewpoint"])
def test_scene_plans_are_deterministic_and_people_do_not_interpenetrate(mode):
    config, _ = compose_render_config([f"mode={mode}", "resolution=[64,48]"])
    body = MannequinBody()
    a = plan_scene(np.random.default_rng(5), config, body, 4)
    b = plan_scene(np.random.default_rng(5), config, body, 4)
    assert len(a.people) == len(b.people) and len(a.frames) == 4
    for pa, pb in zip(a.people, b.people, strict=True):
        assert np.array_equal(pa.posed.vertices, pb.posed.vertices)
    for fa, fb in zip(a.frames, b.frames, strict=True):
        assert np.array_equal(fa.camera.cam2world, fb.camera.cam2world)
    for i, first in enumerate(a.people):
        for second in a.people[i + 1 :]:
            assert not bodies_overlap(first.posed.capsules, second.posed.capsules, margin=0.0)
    if mode == "occlusion":
        assert any(o.role == "occluder" for o in a.objects)
    for frame in a.frames:
        assert frame.camera.position[2] >= 0.05  # above the floor


def test_viewpoint_mode_draws_extreme_cameras():
    config, _ = compose_render_config(["mode=viewpoint", "resolution=[64,48]"])
    plan = plan_scene(np.random.default_rng(2), config, MannequinBody(), 40)
    seen = {}
    for frame in plan.frames:
        forward = -frame.camera.cam2world[:3, 2]  # Blender cameras look along -Z
        seen.setdefault(frame.viewpoint, []).append((frame.camera, np.degrees(np.arcsin(-forward[2]))))
    assert set(seen) == {"top_down", "worms_eye", "close_up", "wide_fov", "narrow_fov"}
    assert all(pitch_down > 60 for _, pitch_down in seen["top_down"])
    assert all(camera.position[2] <= 0.4 and pitch_down < 0 for camera, pitch_down in seen["worms_eye"])
    assert all(camera.fov_x_deg >= 90 for camera, _ in seen["wide_fov"])
    assert all(camera.fov_x_deg <= 20 for camera, _ in seen["narrow_fov"])
