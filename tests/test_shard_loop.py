"""The shard loop (bpgen.render.shard) on the CPU without Blender: a fake renderer draws the plan's people.

The fake paints each person's rasterised mesh (its amodal silhouette) as its instance id, nearer people over
farther ones, on a flat image, with each person's mean camera depth as the depth map. The mannequin body is numpy
only, so these tests run wherever bpgen installs; tests/test_render_shard.py renders with Blender itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from bpgen.colour import linear_to_srgb
from bpgen.geometry.labels import amodal_mask
from bpgen.render import shard as shard_loop
from bpgen.render.config import compose_render_config
from bpgen.render.lifecycle import DeviceChanged
from bpgen.render.shard import InputError, render_shard
from bpgen.run import layout
from bpgen.scene.plan import ScenePlan
from bpgen.scene.renderer import RenderedFrame, RenderSettings, person_name

TINY = ["body=mannequin", "resolution=[48,36]", "frames_per_scene=2", "write_depth=true", "scene.distractors=[1,2]"]
IMAGES = 5  # 3 scenes: 2 + 2 + 1 frames
NOTHING = 1e10  # depth where no surface was hit (Blender writes a large value too)


class SceneFailed(RuntimeError):
    """What the fake raises to stand for a shard killed while building a scene."""


class FakeRenderer:
    """A ``bpgen.scene.renderer.Renderer`` that draws people's silhouettes; it remembers every frame it rendered."""

    device = "FAKE:numpy"

    def __init__(self, config: RenderSettings, fail_at_build: int | None = None) -> None:
        os.write(1, b"fake renderer set up\n")  # file descriptor 1, where Blender and Cycles print as they start
        self.config = config
        self.fail_at_build = fail_at_build  # raise SceneFailed in this build (1 = the first scene it builds)
        self.builds = 0
        self.plan: ScenePlan | None = None
        self.frames: list[RenderedFrame] = []

    def build(self, plan: ScenePlan) -> None:
        self.builds += 1
        if self.builds == self.fail_at_build:
            raise SceneFailed(f"killed in build {self.builds}")
        self.plan = plan

    def render(self) -> list[RenderedFrame]:
        assert self.plan is not None, "render() before build()"
        height, width = self.config.height, self.config.width
        out = []
        for view in self.plan.frames:
            camera = view.camera
            instance_map = np.zeros((height, width), np.int32)
            depth = np.full((height, width), NOTHING, np.float32)
            index_of = {}
            people = [
                (float(camera.to_camera(p.posed.vertices)[:, 2].mean()), i) for i, p in enumerate(self.plan.people)
            ]
            for distance, i in sorted(people, reverse=True):  # far to near: nearer people cover farther ones
                posed = self.plan.people[i].posed
                silhouette, _ = amodal_mask(camera, posed.vertices, posed.faces)
                if distance > 0 and silhouette.any():
                    instance_map[silhouette] = i + 1
                    depth[silhouette] = distance
                    index_of[person_name(i)] = i + 1
            albedo = np.full((height, width, 3), 0.2, np.float32)
            albedo[instance_map > 0] = (0.5, 0.3, 0.2)
            out.append(RenderedFrame(albedo * 0.8, albedo, depth, instance_map, index_of))
        self.frames.extend(out)
        return out

    def display(self, linear: np.ndarray) -> np.ndarray:
        """A plain sRGB encoding (no tone curve)."""
        return np.rint(linear_to_srgb(linear) * 255.0).astype(np.uint8)

    def versions(self) -> dict[str, str]:
        return {"fake": "1.0"}


class Factory:
    """A ``RendererFactory`` that counts its calls and keeps the renderers it made."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.made: list[FakeRenderer] = []

    def __call__(self, config: RenderSettings) -> FakeRenderer:
        renderer = FakeRenderer(config, **self.options)
        self.made.append(renderer)
        return renderer


@pytest.fixture(scope="module")
def composed() -> tuple[Any, dict[str, Any]]:
    return compose_render_config(TINY)


def fix_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """coco.json's date_created is the start time: fix it so that two runs can be compared byte for byte."""
    monkeypatch.setattr(shard_loop, "utc_now", lambda: "2025-01-01T00:00:00Z")


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    fix_clock(monkeypatch)


def render(
    run_dir: Path,
    composed: tuple[Any, dict[str, Any]],
    factory: Callable[[RenderSettings], FakeRenderer],
    images: int = IMAGES,
) -> Path:
    config, resolved = composed
    return render_shard(run_dir, 0, images, config, resolved, factory)


@pytest.fixture(scope="module")
def done_shard(tmp_path_factory: pytest.TempPathFactory, composed: tuple[Any, dict[str, Any]]) -> tuple[Path, Factory]:
    """One uninterrupted shard, and the factory that rendered it (the tests below only read it)."""
    factory = Factory()
    with pytest.MonkeyPatch.context() as monkeypatch:
        fix_clock(monkeypatch)
        final = render(tmp_path_factory.mktemp("run"), composed, factory)
    return final, factory


def test_a_shard_renders_to_done_with_labels_of_the_rendered_masks(done_shard):
    final, factory = done_shard
    run_dir = final.parent.parent
    assert final == layout.shard_dir(run_dir, 0) and layout.is_done(run_dir, 0)
    assert not layout.temp_dir(run_dir, 0).exists() and not (final / layout.SCENES).exists()
    done = json.loads((final / layout.DONE).read_text())
    assert done["counts"]["images"] == IMAGES and done["counts"]["scenes"] == 3
    assert done["host"]["render_device"] == "FAKE:numpy" and done["versions"]["fake"] == "1.0"
    assert done["resumed_scenes"] == 0
    (renderer,) = factory.made
    assert renderer.builds == 3 and len(renderer.frames) == IMAGES

    coco = json.loads((final / layout.COCO).read_text())
    frames = [json.loads(line) for line in (final / layout.FRAMES).read_text().splitlines()]
    assert coco["info"]["version"].endswith(", fake 1.0")
    assert [image["id"] for image in coco["images"]] == [frame["image_id"] for frame in frames] == [1, 2, 3, 4, 5]
    annotations = {a["id"]: a for a in coco["annotations"]}
    assert annotations, "the tiny frames should show someone"
    seen = 0
    for number, (frame, output) in enumerate(zip(frames, renderer.frames, strict=True)):
        assert frame["frame"] == number and frame["file_name"] == layout.image_file(number, "jpg")
        image = cv2.imread(str(final / frame["file_name"]))
        assert image is not None and image.shape == (36, 48, 3)
        depth = cv2.imread(str(final / layout.depth_file(number)), cv2.IMREAD_UNCHANGED)
        expected_depth = np.where(output.depth < 65.535, np.round(output.depth * 1000.0), 0)
        assert depth.dtype == np.uint16 and np.array_equal(depth, expected_depth)
        for person in frame["persons"]:
            mask = output.instance_map == output.index_of.get(person["name"], -1)
            assert person["px_count_visib"] == int(mask.sum())
            if person["annotation_id"] is None:
                assert not mask.any()
                continue
            annotation = annotations[person["annotation_id"]]
            assert annotation["image_id"] == frame["image_id"]
            assert np.array_equal(mask_utils.decode(annotation["segmentation"]).astype(bool), mask)
            ys, xs = np.nonzero(mask)
            x0, y0 = int(xs.min()), int(ys.min())
            assert annotation["area"] == int(mask.sum())
            assert annotation["bbox"] == [x0, y0, int(xs.max()) + 1 - x0, int(ys.max()) + 1 - y0]
            seen += 1
    assert seen == len(annotations)


def test_a_killed_shard_resumes_at_its_scene_and_gives_the_same_files(tmp_path, composed, done_shard):
    whole, _ = done_shard
    killed = Factory(fail_at_build=2)
    with pytest.raises(SceneFailed):
        render(tmp_path / "killed", composed, killed)
    tmp = layout.temp_dir(tmp_path / "killed", 0)
    assert layout.scene_checkpoint(tmp, 0).is_file() and not layout.scene_checkpoint(tmp, 1).exists()
    assert not layout.is_done(tmp_path / "killed", 0)
    again = Factory()
    resumed = render(tmp_path / "killed", composed, again)
    assert again.made[0].builds == 2  # scenes 1 and 2; scene 0 came from its checkpoint
    assert json.loads((resumed / layout.DONE).read_text())["resumed_scenes"] == 1
    for name in (layout.COCO, layout.FRAMES):
        assert (resumed / name).read_bytes() == (whole / name).read_bytes(), name
    for number in range(IMAGES):
        for path in (layout.image_file(number, "jpg"), layout.depth_file(number)):
            assert (resumed / path).read_bytes() == (whole / path).read_bytes(), path


def test_a_done_shard_is_skipped_without_making_a_renderer(composed, done_shard, capsys):
    final, _ = done_shard
    before = (final / layout.DONE).read_text()
    factory = Factory()
    assert render(final.parent.parent, composed, factory) == final
    assert factory.made == [] and (final / layout.DONE).read_text() == before
    assert "already DONE; skipping" in capsys.readouterr().err


def test_a_done_shard_of_another_config_is_refused_in_one_line(composed, done_shard):
    final, _ = done_shard
    before = (final / layout.DONE).read_text()
    factory = Factory()
    with pytest.raises(InputError) as refused:
        render(final.parent.parent, composed, factory, images=IMAGES + 1)
    assert "DONE with a different config or image count" in str(refused.value) and "\n" not in str(refused.value)
    config, resolved = compose_render_config([*TINY, "seed=7"])
    with pytest.raises(InputError, match="DONE with a different config"):
        render_shard(final.parent.parent, 0, IMAGES, config, resolved, factory)
    assert factory.made == [] and (final / layout.DONE).read_text() == before


def test_a_renderer_that_cannot_start_leaves_nothing_on_disk(tmp_path, composed, capfd):
    def refuse(config: RenderSettings) -> FakeRenderer:
        os.write(1, b"probing devices\n")  # what Blender prints as it starts goes to the shard's log, not stdout
        raise SceneFailed("no such device")  # as BlenderScene raises DeviceError for device=optix without OptiX

    with pytest.raises(SceneFailed, match="no such device"):
        render(tmp_path / "run", composed, refuse)
    assert not (tmp_path / "run").exists()
    assert "probing devices" not in capfd.readouterr().out


def test_the_renderers_early_output_goes_to_the_shards_blender_log(done_shard):
    final, _ = done_shard
    assert (final / layout.BLENDER_LOG).read_text() == "fake renderer set up\n"


def test_a_resume_on_another_device_type_is_refused_and_writes_nothing(tmp_path, composed):
    """A shard started on one device type (the fake's FAKE) is not resumed on another: an explicit device is refused
    before a renderer is made (no GPU probed), device=auto once the renderer says what it found."""
    run_dir = tmp_path / "run"
    with pytest.raises(SceneFailed):
        render(run_dir, composed, Factory(fail_at_build=2))
    tmp = layout.temp_dir(run_dir, 0)
    before = {p: p.read_bytes() for p in tmp.rglob("*") if p.is_file()}
    config, resolved = compose_render_config([*TINY, "device=cpu"])
    factory = Factory()
    with pytest.raises(DeviceChanged) as refused:
        render_shard(run_dir, 0, IMAGES, config, resolved, factory)
    message = str(refused.value)
    assert "started on FAKE and would resume on CPU" in message and "\n" not in message
    assert f"rerun with device=fake, or delete {tmp}" in message and factory.made == []

    class FoundOptix(Factory):
        def __call__(self, config: RenderSettings) -> FakeRenderer:
            renderer = super().__call__(config)
            renderer.device = "OPTIX:a GPU"
            return renderer

    found = FoundOptix()
    with pytest.raises(DeviceChanged, match="started on FAKE and would resume on OPTIX"):
        render(run_dir, composed, found)  # device=auto
    assert len(found.made) == 1 and {p: p.read_bytes() for p in tmp.rglob("*") if p.is_file()} == before
    assert render(run_dir, composed, Factory()) == layout.shard_dir(run_dir, 0)  # the same type resumes
