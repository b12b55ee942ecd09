"""Integration (Blender, Cycles CPU): a shard's pixels do not depend on how its render was cut into processes.

Every per-image output is compared byte for byte: the images, the depth maps, the visible masks (coco.json, RLE)
and the amodal masks with everything else of frames.jsonl. A shard is stopped after a scene either by a real
SIGKILL or by the render loop's test hook (``BPGEN_TEST_EXIT_AFTER_SCENE``, bpgen/render/shard.py), which kills
the task itself once that scene is checkpointed, deterministically. 160x120, 8 samples, denoised (OIDN): a leaked
Cycles session changed every image after the first scene here. 5 images of 2 frames per scene: 3 scenes, the
last with one frame.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from helpers import ROOT, coco_of, kill_after_first_scene, render_command, run_render

from bpgen.render.shard import EXIT_HOOK
from bpgen.run import layout

pytestmark = [pytest.mark.blender, pytest.mark.anny]
SETTINGS = ("resolution=[160,120]", "samples=8", "frames_per_scene=2", "denoiser=OPENIMAGEDENOISE", "write_depth=true")
SHARD, IMAGES = 3, 5


def render(run_dir: Path, *overrides: str, exit_after: int | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop(EXIT_HOOK, None)
    if exit_after is not None:
        env[EXIT_HOOK] = str(exit_after)
    return run_render(run_dir, SHARD, IMAGES, *SETTINGS, *overrides, env=env)


def completed(run_dir: Path) -> Path:
    """Render (or resume) the shard to DONE; its directory."""
    result = render(run_dir)
    assert result.returncode == 0, result.stderr
    return layout.shard_dir(run_dir, SHARD)


def outputs(shard: Path) -> dict[str, bytes]:
    """A shard's per-image outputs: images, depth maps, coco.json without its info (dates) and frames.jsonl."""
    files = {
        path.relative_to(shard).as_posix(): path.read_bytes()
        for folder in (layout.IMAGES, layout.DEPTH)
        for path in sorted((shard / folder).iterdir())
    }
    files[layout.COCO] = json.dumps(coco_of(shard, "info"), sort_keys=True).encode()
    files[layout.FRAMES] = (shard / layout.FRAMES).read_bytes()
    return files


def assert_same_outputs(shard: Path, reference: Path) -> None:
    ours, theirs = outputs(shard), outputs(reference)
    assert sorted(ours) == sorted(theirs) and len(ours) == 2 * IMAGES + 2
    differ = [name for name in theirs if ours[name] != theirs[name]]
    assert not differ, f"{differ} differ from the uninterrupted render"


def stop(run_dir: Path, scene: int) -> subprocess.CompletedProcess[str]:
    """Render the shard with the test hook set to stop it after ``scene``; check that it stopped as killed."""
    result = render(run_dir, exit_after=scene)
    assert result.returncode == -signal.SIGKILL, (result.returncode, result.stderr)
    assert f"{EXIT_HOOK}={scene}" in result.stderr
    tmp = layout.temp_dir(run_dir, SHARD)
    assert layout.scene_checkpoint(tmp, scene).is_file() and not layout.scene_checkpoint(tmp, scene + 1).exists()
    assert not layout.shard_dir(run_dir, SHARD).exists() and not (tmp / layout.DONE).exists()
    return result


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shard rendered in one uninterrupted process."""
    return completed(tmp_path_factory.mktemp("whole"))


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run whose shard the hook stopped after its first scene (tests copy it)."""
    run_dir = tmp_path_factory.mktemp("stopped")
    stop(run_dir, 0)
    return run_dir


def test_the_exit_hook_leaves_what_a_kill_between_scenes_leaves(stopped):
    tmp = layout.temp_dir(stopped, SHARD)
    left = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
    assert left == [
        layout.BLENDER_LOG,
        layout.CONFIG,
        layout.depth_file(0),
        layout.depth_file(1),
        layout.image_file(0, "jpg"),
        layout.image_file(1, "jpg"),
        layout.scene_checkpoint(Path(), 0).as_posix(),
    ]


def test_stopped_by_the_hook_and_resumed_equals_uninterrupted(whole, stopped, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(stopped, run_dir)
    resumed = completed(run_dir)
    assert json.loads((resumed / layout.DONE).read_text())["resumed_scenes"] == 1
    assert_same_outputs(resumed, whole)


def test_killed_and_resumed_equals_uninterrupted(whole, tmp_path):
    """A real SIGKILL of the task's process group once its first scene is checkpointed."""
    process = subprocess.Popen(
        render_command(tmp_path, SHARD, IMAGES, *SETTINGS), cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    kill_after_first_scene(process, tmp_path, SHARD)
    result = render(tmp_path)
    assert result.returncode == 0 and "resumed" in result.stderr, result.stderr
    assert_same_outputs(layout.shard_dir(tmp_path, SHARD), whole)


def test_an_image_count_not_a_multiple_of_the_scene_size_renders_the_same_twice(whole, tmp_path):
    """5 images, 2 frames per scene: the last scene renders one frame; a second fresh process gives the same."""
    assert IMAGES % 2 == 1
    assert_same_outputs(completed(tmp_path), whole)


def test_a_scene_rendered_alone_equals_it_rendered_after_others(whole, tmp_path):
    """Scenes 0 and 1 in one process (stopped by the hook), then scene 2 alone in a fresh one: the same pixels as
    scene 2 rendered after scenes 0 and 1 in the same process."""
    stop(tmp_path, 1)
    resumed = completed(tmp_path)
    assert json.loads((resumed / layout.DONE).read_text())["resumed_scenes"] == 2
    assert_same_outputs(resumed, whole)


def test_a_resume_on_another_device_type_is_refused_before_any_gpu_probe(stopped, tmp_path):
    """Started on the CPU (device=auto on this machine), resumed with device=cuda: one error line naming the fix,
    exit status 2, nothing written; refused before Blender looks for a GPU (which this machine lacks: that
    refusal would be another message)."""
    run_dir = tmp_path / "run"
    shutil.copytree(stopped, run_dir)

    def snapshot() -> dict[str, tuple[bytes, int]]:
        return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in run_dir.rglob("*") if p.is_file()}

    before = snapshot()
    result = render(run_dir, "device=cuda")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "started on CPU and would resume on CUDA" in lines[0] and "rerun with device=cpu" in lines[0]
    assert str(layout.temp_dir(run_dir, SHARD)) in lines[0]
    assert snapshot() == before
