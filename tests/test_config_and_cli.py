import numpy as np
import pytest
from helpers import assert_one_line_error, assert_same_people_and_cameras, run_module

from bpgen.bodies.mannequin import MannequinBody
from bpgen.geometry.collision import bodies_overlap
from bpgen.render.config import compose_render_config
from bpgen.render.lifecycle import scene_frame_counts
from bpgen.scene.plan import plan_scene


def test_defaults_compose_into_typed_config():
    config, resolved = compose_render_config([])
    assert config.resolution == (640, 480) and config.mode.name == "pose"
    assert resolved["frames_per_scene"] == config.frames_per_scene


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("no_such_key=1", "bad config override (Could not override 'no_such_key'"),
        ("resolution=[0,48]", "resolution width must be an integer > 0"),
        ("resolution=[64]", "resolution must be [width, height]"),
        ("samples=-4", "samples must be an integer > 0"),
        ("frames_per_scene=0", "frames_per_scene must be an integer > 0"),
        ("mode=sideways", "bad config override (In 'render': Could not find 'mode/sideways')"),
        ("image_format=gif", "image_format='gif' is not valid"),
        ("mode.people=[3,1]", "mode.people"),
        ("+pose.strategy_mix.moonwalk=1", "pose.strategy_mix has unknown entries"),
    ],
)
def test_bad_config_is_one_clear_error(override, message):
    assert_one_line_error(compose_render_config, [override], message)


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
    result = run_module("bpgen.render", "--run-dir", str(run_dir), *args)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert not run_dir.exists()


@pytest.mark.parametrize("parent", ["/sys", "file"])
def test_cli_rejects_unwritable_run_dir(tmp_path, parent):
    """A read-only mount (refused even to root) and a path below a regular file."""
    if parent == "file":
        (tmp_path / "file").write_text("x")
        parent = str(tmp_path / "file")
    result = run_module("bpgen.render", "--run-dir", f"{parent}/bpgen-run", "--shard", "0", "--images", "1")
    assert result.returncode == 2 and "not writable" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_help_works():
    result = run_module("bpgen.render", "--help")
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
    assert_same_people_and_cameras(a, b)
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
