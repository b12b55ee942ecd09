"""Limits that protect a shared node: refusals before anything is allocated or written, and lazy shard plans."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import assert_one_line_error

from bpgen.geometry.keypoints import PERSON_CATEGORY
from bpgen.render import lifecycle
from bpgen.render.config import ConfigError, compose_render_config, load_resolved_config
from bpgen.run import layout

ROOT = Path(__file__).resolve().parent.parent
MiB = 1 << 20


# Runs the render CLI in a fresh interpreter and prints that process's own peak RSS (VmHWM: the high-water mark of
# the memory it built after exec). The rusage of a child of pytest would count the pages it shared with the
# (large) pytest process between fork and exec.
_MEASURED = """
import runpy, sys
sys.argv = ["bpgen.render", *sys.argv[1:]]
try:
    runpy.run_module("bpgen.render", run_name="__main__")
except SystemExit as exc:
    status = exc.code
with open("/proc/self/status") as handle:
    peak = next(int(line.split()[1]) for line in handle if line.startswith("VmHWM:"))
print(peak * 1024)
sys.exit(status)
"""


def run_render(*args: str) -> tuple[int, str, float, int]:
    """``python -m bpgen.render ARGS``: exit status, stderr, seconds and the render process's own peak RSS."""
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", _MEASURED, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    return result.returncode, result.stderr, time.monotonic() - start, int(result.stdout.split()[-1])


def assert_refused(run_dir: Path, stderr: str, status: int, *needles: str) -> None:
    assert status == 2, stderr
    assert stderr.startswith("error: ") and len(stderr.strip().splitlines()) == 1, stderr
    for needle in needles:
        assert needle in stderr, stderr
    assert not run_dir.exists()


@pytest.mark.parametrize("images", ["99999999999", "1000000"])
def test_too_many_images_are_refused_at_once_without_memory(tmp_path, images):
    run_dir = tmp_path / "run"
    status, stderr, seconds, peak = run_render("--run-dir", str(run_dir), "--shard", "0", "--images", images)
    assert_refused(run_dir, stderr, status, "999,999", f"--images {images}")
    assert seconds < 15, seconds  # about 1 s: refused before the config is composed or Blender imported
    assert peak < 512 * MiB, peak  # about 40 MB: numpy, no bpy, no torch, nothing per image


def test_a_shard_id_past_six_digits_is_refused(tmp_path):
    run_dir = tmp_path / "run"
    status, stderr, _, _ = run_render("--run-dir", str(run_dir), "--shard", "1000000", "--images", "1")
    assert_refused(run_dir, stderr, status, "999,999")


@pytest.mark.parametrize(
    ("overrides", "bound"),
    [
        (["resolution=[8193,48]"], "8,192"),
        (["resolution=[64,8]"], "16"),
        (["samples=65537"], "65,536"),
        (["frames_per_scene=257"], "256"),
        (["resolution=[8192,8192]", "frames_per_scene=3"], "134,217,728"),
        (["mode.people=[2,65]"], "64"),
    ],
)
def test_config_bounds_are_refused_through_the_cli(tmp_path, overrides, bound):
    run_dir = tmp_path / "run"
    command = ["--run-dir", str(run_dir), "--shard", "0", "--images", "999999", *overrides]
    status, stderr, seconds, peak = run_render(*command)
    assert_refused(run_dir, stderr, status, "bound", bound, overrides[-1].split("=")[0].split(".")[0])
    assert seconds < 30, seconds
    assert peak < 1536 * MiB, peak  # composing the config imports Hydra, never Blender


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("max_bounces=1025", "max_bounces=1025 is above the bound 1,024"),
        ("threads=1025", "threads=1025 is above the bound 1,024"),
        ("scene.lights=[1,257]", "scene.lights=[1, 257] has a max above the bound 256"),
        ("scene.walls=[0,257]", "scene.walls"),
        ("scene.distractors=[0,1000]", "scene.distractors"),
        ("mode.occluders=[0,300]", "mode.occluders"),
        ("pose.max_attempts=10001", "pose.max_attempts=10001 is above the bound 10,000"),
        ("resolution=[15,48]", "resolution width=15 is below the bound 16"),
    ],
)
def test_other_bounds_are_one_line_config_errors(override, message):
    assert_one_line_error(compose_render_config, [override], message)


def test_values_at_the_bounds_are_accepted():
    at_bounds = ["resolution=[8192,16]", "samples=65536", "frames_per_scene=256", "mode.people=[64,64]"]
    config, _ = compose_render_config(
        [*at_bounds, "max_bounces=1024", "threads=1024", "scene.lights=[0,256]", "pose.max_attempts=10000"]
    )
    assert config.resolution == (8192, 16) and config.frames_per_scene == 256 and config.mode.people == (64, 64)
    config, _ = compose_render_config(["resolution=[8192,8192]", "frames_per_scene=2"])  # 2**27 pixels per scene
    assert config.frames_per_scene == 2


def test_a_frozen_config_past_a_bound_is_refused(tmp_path):
    _, resolved = compose_render_config([])
    path = tmp_path / layout.CONFIG
    path.write_text(yaml.safe_dump(dict(resolved, samples=10**9)))
    with pytest.raises(ConfigError, match="samples=1000000000 is above the bound 65,536"):
        load_resolved_config(path)


def test_images_per_shard_bound_is_one_callable_check():
    layout.check_images_per_shard(layout.MAX_IMAGES_PER_SHARD, "--images-per-shard")
    with pytest.raises(layout.ShardLimitError, match=r"--images-per-shard 1000000 is more than .*999,999") as error:
        layout.check_images_per_shard(layout.MAX_IMAGES_PER_SHARD + 1, "--images-per-shard")
    assert "\n" not in str(error.value)
    assert len(f"{layout.MAX_IMAGES_PER_SHARD:06d}") == 6 and len(f"{layout.MAX_SHARDS - 1:06d}") == 6


def test_scene_plan_iteration_is_lazy():
    tracemalloc.start()
    try:
        slots = lifecycle.scene_slots(layout.MAX_IMAGES_PER_SHARD, 1)
        first = [next(slots) for _ in range(3)]
        created, peak = tracemalloc.get_traced_memory()
        assert peak < 16 * 1024, peak  # nothing proportional to 999,999 scenes
        last = None
        for slot in slots:  # all of them, one at a time
            last = slot
        _, peak = tracemalloc.get_traced_memory()
        assert peak < 64 * 1024, peak
    finally:
        tracemalloc.stop()
    assert first == [(0, 1, 0), (1, 1, 1), (2, 1, 2)]
    assert last == (999_998, 1, 999_998)
    assert lifecycle.scene_count(layout.MAX_IMAGES_PER_SHARD, 8) == 125_000


@pytest.mark.parametrize(("images", "per_scene"), [(10, 4), (3, 8), (8, 8), (17, 1)])
def test_scene_slots_are_the_old_counts_and_first_frames(images, per_scene):
    counts = lifecycle.scene_frame_counts(images, per_scene)
    slots = list(lifecycle.scene_slots(images, per_scene))
    assert [s.frames for s in slots] == counts and sum(counts) == images
    assert [s.first_frame for s in slots] == [sum(counts[:i]) for i in range(len(counts))]
    assert [s.scene for s in slots] == list(range(len(counts)))


def fake_scene(scene: int, frames: int = 2) -> dict[str, Any]:
    """A scene checkpoint like render_scene's, with a visible and a hidden person per frame."""
    out = []
    for offset in range(frames):
        number = scene * frames + offset
        annotation = {"segmentation": {"size": [48, 64], "counts": "x" * 40}, "area": 12, "bbox": [1.5, 2, 3, 4]}
        annotation |= {"iscrowd": 0, "category_id": 1, "keypoints": [1.25, 2.0, 2] * 17, "num_keypoints": 17}
        persons = [
            {"annotation_index": 0, "joints_cam": [[0.1, 0.2, 3.3]] * 22, "name": "person_00"},
            {"annotation_index": None, "joints_cam": [[0.4, 0.5, 6.6]] * 22, "name": "person_01"},
        ]
        record = {"frame": number, "scene": scene, "file_name": f"images/{number:06d}.jpg", "persons": persons}
        image = {"file_name": f"images/{number:06d}.jpg", "width": 64, "height": 48, "scene": scene}
        out.append({"image": image, "annotations": [annotation], "record": record})
    return {"scene": scene, "frames": out, "pose_attempts": 3, "people": 2, "dropped_people": 0}


def reference_assembly(scene_records: list[dict[str, Any]], info: dict[str, Any]) -> tuple[str, str]:
    """coco.json and frames.jsonl as the shard writer wrote them before it streamed (one dict, one json.dumps)."""
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    frames: list[dict[str, Any]] = []
    for record in scene_records:
        for frame in record["frames"]:
            image_id = len(images) + 1
            first = len(annotations) + 1
            images.append(dict(frame["image"], id=image_id))
            for ann in frame["annotations"]:
                annotations.append(dict(ann, id=len(annotations) + 1, image_id=image_id))
            people = []
            for person in frame["record"]["persons"]:
                index = person["annotation_index"]
                moved = {k: v for k, v in person.items() if k != "annotation_index"}
                people.append(dict(moved, annotation_id=None if index is None else first + index))
            frames.append(dict(frame["record"], image_id=image_id, persons=people))
    coco = {"info": info, "images": images, "annotations": annotations, "categories": [PERSON_CATEGORY]}
    return json.dumps(coco) + "\n", "".join(json.dumps(f, separators=(",", ":")) + "\n" for f in frames)


@pytest.mark.parametrize("scenes", [0, 1, 3])
def test_streamed_assembly_is_byte_identical(tmp_path, scenes):
    records = [fake_scene(s) for s in range(scenes)]
    info = {"description": "bpgen shard 4", "seed": 1, "shard": 4, "note": "é"}
    counts = lifecycle.assemble_shard(tmp_path, iter(records), info)
    coco, frames = reference_assembly(records, info)
    assert (tmp_path / layout.COCO).read_text() == coco
    assert (tmp_path / layout.FRAMES).read_text() == frames
    assert counts == {"images": 2 * scenes, "annotations": 2 * scenes, "persons": 4 * scenes, "scenes": scenes}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([layout.COCO, layout.FRAMES])


def test_assembly_memory_does_not_grow_with_the_scene_count(tmp_path):
    def peak_for(scenes: int) -> tuple[int, int]:
        out = tmp_path / str(scenes)
        out.mkdir()
        tracemalloc.start()
        try:
            lifecycle.assemble_shard(out, (fake_scene(s) for s in range(scenes)), {"description": "x"})
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        return peak, sum(p.stat().st_size for p in out.iterdir())

    (small, _), (large, written) = peak_for(40), peak_for(600)
    # one scene in memory plus the copy buffers (64 KiB chunks): flat from a few hundred scenes on; holding every
    # frame until the end, as before, took more than the output's size
    assert large < small + 512 * 1024 and written > 3 * large, (small, large, written)


def test_saved_scenes_reads_the_checkpoints_one_at_a_time(tmp_path):
    tmp = lifecycle.prepare_temp_dir(tmp_path, 0, "seed: 1\n")
    for scene in range(3):
        lifecycle.save_scene(tmp, scene, fake_scene(scene))
    assert [r["scene"] for r in lifecycle.saved_scenes(tmp, 3)] == [0, 1, 2]
    with pytest.raises(FileNotFoundError, match="scene 3"):
        list(lifecycle.saved_scenes(tmp, 4))
