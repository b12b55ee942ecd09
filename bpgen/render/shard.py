"""The shard loop: plan, build, render and label each scene of one shard, checkpointed and resumable.

It sees the renderer only through ``bpgen.scene.renderer``'s ``Renderer`` protocol, made by the ``RendererFactory``
that ``render_shard`` is given (``python -m bpgen.render`` gives Blender's, ``bpgen.render.cli.blender_renderer``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from bpgen.atomic import atomic_write_image
from bpgen.bodies import Body, load_body
from bpgen.errors import UserError
from bpgen.hostinfo import host_info, package_versions, utc_now
from bpgen.progress import log, progress
from bpgen.render import lifecycle
from bpgen.render.config import RenderConfig, config_text
from bpgen.run import layout

if TYPE_CHECKING:
    from bpgen.poses.person import Person
    from bpgen.scene.plan import FrameCamera
    from bpgen.scene.renderer import RenderedFrame, Renderer, RendererFactory


class InputError(UserError, ValueError):
    """Bad command-line input; the message names the fix."""


@contextlib.contextmanager
def stdout_to(path: Path) -> Iterator[None]:
    """Send file descriptor 1 (Blender's and Cycles' own prints) to ``path`` for the duration."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(path, "ab") as target:
        os.dup2(target.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def write_image(path: Path, rgb: np.ndarray, config: RenderConfig, jpeg_quality: int) -> None:
    import cv2

    params = (cv2.IMWRITE_JPEG_QUALITY, jpeg_quality) if config.image_format == "jpg" else ()
    atomic_write_image(path, rgb[..., ::-1], params)


def write_depth(path: Path, depth: np.ndarray) -> None:
    """uint16 millimetres (BOP's depth_scale 1.0); 0 where no surface or beyond 65.5 m."""
    atomic_write_image(path, np.where(depth < 65.535, np.round(depth * 1000.0), 0).astype(np.uint16))


def develop_frame(
    people: list[Person], view: FrameCamera, output: RenderedFrame, config: RenderConfig, renderer: Renderer
) -> tuple[np.ndarray, dict[str, Any], float | None]:
    """A rendered frame developed as its camera would: metered on the people, focused on the drawn person,
    exposed, blurred and noised in linear light, shown through the renderer's view transform, sharpened.
    Returns the 8-bit image, its exposure record and the focus distance (None without depth of field)."""
    from bpgen.photo.develop import develop_linear, focus_distance, sharpen
    from bpgen.scene.renderer import person_name

    names = [person_name(i) for i in range(len(people))]
    photo, focus = view.photo, None
    on_people = np.isin(output.instance_map, [output.index_of[n] for n in names if n in output.index_of])
    if config.photo.depth_of_field and people:  # focus on the drawn person's visible surface
        index = output.index_of.get(names[photo.focus_person])
        centre = people[photo.focus_person].posed.vertices.mean(axis=0)
        fallback = float(view.camera.to_camera(centre[None])[0, 2])
        focus = focus_distance(output.depth, None if index is None else output.instance_map == index, fallback)
    exposed = develop_linear(
        output.linear, output.albedo, output.depth, on_people, photo, config.photo, view.camera.fx, focus
    )
    return sharpen(renderer.display(exposed.linear), photo.sharpening), exposed.exposure, focus


def render_scene(
    shard: int,
    scene_index: int,
    frame_count: int,
    first_frame: int,
    config: RenderConfig,
    body: Body,
    renderer: Renderer,
    tmp: Path,
) -> dict[str, Any]:
    """Plan, build, render and label one scene; returns its checkpoint record (frames + timings)."""
    from bpgen.photo.sampling import photo_record
    from bpgen.render.frame_labels import frame_labels
    from bpgen.scene.plan import plan_scene
    from bpgen.scene.renderer import person_name

    t0 = time.perf_counter()
    rng = np.random.default_rng(lifecycle.scene_seed(config.seed, shard, scene_index))
    plan = plan_scene(rng, config, body, frame_count)
    renderer.build(plan)
    t1 = time.perf_counter()
    with stdout_to(tmp / layout.BLENDER_LOG):
        rendered = renderer.render()
    t2 = time.perf_counter()
    names = [person_name(i) for i in range(len(plan.people))]
    frames = []
    for offset, (view, output) in enumerate(zip(plan.frames, rendered, strict=True)):
        number = first_frame + offset
        file_name = layout.image_file(number, config.image_format)
        photo = view.photo
        people = plan.people_in(offset)
        rgb, exposure, focus = develop_frame(people, view, output, config, renderer)
        write_image(tmp / file_name, rgb, config, photo.jpeg_quality)
        if config.write_depth:
            (tmp / layout.DEPTH).mkdir(exist_ok=True)
            write_depth(tmp / layout.depth_file(number), output.depth)
        annotations, record = frame_labels(
            people, view, output.instance_map, output.depth, output.index_of, names, config.min_visible_pixels
        )
        record.update(frame=number, scene=scene_index, file_name=file_name, layout=plan.layout)
        record["photo"] = photo_record(photo, config.photo, exposure, focus, config.image_format)
        image = {
            "file_name": file_name,
            "width": config.width,
            "height": config.height,
            "scene": scene_index,
            "viewpoint": view.viewpoint,
            "mode": config.mode.name,
            "layout": plan.layout,
        }
        frames.append({"image": image, "annotations": annotations, "record": record})
    t3 = time.perf_counter()
    return {
        "scene": scene_index,
        "frames": frames,
        "pose_attempts": plan.pose_attempts,
        "people": len(plan.people),
        "dropped_people": plan.dropped_people,
        "reposed_person_frames": plan.reposed,
        "seconds": {"scene_build": t1 - t0, "render": t2 - t1, "labels_and_writing": t3 - t2},
    }


class ShardStart(NamedTuple):
    """When a shard (re)started rendering, and what loading its body model took (for DONE.json)."""

    started: str  # UTC, as the run records write it
    start_time: float  # seconds since the epoch, for the wall time
    body_load_seconds: float
    body_model: str | None = None  # the body's model_stamp (anny: its export), recorded in DONE.json


@dataclass
class ShardTotals:
    """What the scene loop keeps of its scenes: their totals only, so memory does not grow with --images."""

    scenes: int
    times: lifecycle.StageTimes = field(default_factory=lifecycle.StageTimes)
    attempts: int = 0
    people: int = 0
    dropped: int = 0
    resumed: int = 0
    person_frames: int = 0
    reposed: int = 0

    def add(self, record: dict[str, Any]) -> None:
        self.times.add(record["seconds"])
        self.attempts += record["pose_attempts"]
        self.people += record["people"]
        self.dropped += record["dropped_people"]
        self.person_frames += record["people"] * len(record["frames"])
        self.reposed += record.get("reposed_person_frames", 0)  # checkpoints before per-frame poses lack it


def render_shard(
    run_dir: Path,
    shard: int,
    images: int,
    config: RenderConfig,
    resolved: dict[str, Any],
    new_renderer: RendererFactory,
) -> Path:
    """Render (or resume, or skip when DONE) one shard with ``new_renderer(config)``; returns the final shard dir.

    A DONE shard is skipped without making the renderer; the renderer is made before the shard's temp dir exists,
    so that a device refusal leaves nothing behind.
    """
    layout.check_shard_id(shard)
    layout.check_images_per_shard(images)
    text = config_text(resolved, images)
    if skip_done_shard(run_dir, shard, text):
        return layout.shard_dir(run_dir, shard)
    # a named device is checked before any GPU probe; device=auto once the renderer says what it found
    lifecycle.check_resume_device(run_dir, shard, text, lifecycle.DEVICE_TYPES.get(config.device))
    t_body = time.perf_counter()
    body = load_body(config.body.name)  # fails early, before anything is written, when the body asset is missing
    body_load_seconds = time.perf_counter() - t_body
    lifecycle.check_resume_body_model(run_dir, shard, text, body.model_stamp)  # a rebuilt export is not resumed
    start = ShardStart(utc_now(), time.time(), body_load_seconds, body.model_stamp)
    renderer, tmp = start_renderer(run_dir, shard, text, config, new_renderer)
    totals = render_scenes(shard, images, config, body, renderer, tmp)
    return finish_shard(run_dir, shard, config, renderer, tmp, totals, start)


def skip_done_shard(run_dir: Path, shard: int, text: str) -> bool:
    """True when the shard is DONE with this config text; a DONE shard of another config is refused (InputError)."""
    if not layout.is_done(run_dir, shard):
        return False
    final = layout.shard_dir(run_dir, shard)
    saved = (final / layout.CONFIG).read_text() if (final / layout.CONFIG).exists() else ""
    if saved != text:
        raise InputError(
            f"{final} is DONE with a different config or image count; use another --run-dir or remove that shard"
        )
    log(f"{final.name} is already DONE; skipping")
    return True


def start_renderer(
    run_dir: Path, shard: int, text: str, config: RenderConfig, new_renderer: RendererFactory
) -> tuple[Renderer, Path]:
    """Make the renderer, then the shard's temp dir (new or resumed), with the renderer's early output in its log.

    The renderer comes first: a device refusal leaves nothing behind. Until the temp dir exists, file descriptor 1
    goes to a temporary file that is then appended to the temp dir's blender.log.
    """
    with tempfile.NamedTemporaryFile(prefix="bpgen_blender_", suffix=".log") as early_log:
        with stdout_to(Path(early_log.name)):
            renderer = new_renderer(config)
        lifecycle.check_resume_device(run_dir, shard, text, lifecycle.device_type(renderer.device))
        tmp = lifecycle.prepare_temp_dir(run_dir, shard, text)
        with open(tmp / layout.BLENDER_LOG, "ab") as log_file:
            shutil.copyfileobj(early_log, log_file)
    return renderer, tmp


def render_scenes(
    shard: int, images: int, config: RenderConfig, body: Body, renderer: Renderer, tmp: Path
) -> ShardTotals:
    """Render every scene without a checkpoint in ``tmp`` (a resumed shard starts at its first missing scene)."""
    name = layout.shard_name(shard)
    # scenes are drawn one at a time and only their totals are kept: memory does not grow with --images
    totals = ShardTotals(lifecycle.scene_count(images, config.frames_per_scene))
    log(
        f"{name}: {images} images in {totals.scenes} scenes, mode={config.mode.name}, "
        f"{config.width}x{config.height}, quality={config.cycles.preset} ({config.samples} samples), "
        f"device {renderer.device}"
    )
    exit_after = exit_hook_scene()
    for slot in progress(lifecycle.scene_slots(images, config.frames_per_scene), totals.scenes, name):
        record = lifecycle.finished_scene(tmp, slot.scene)
        if record is None:
            record = render_scene(shard, slot.scene, slot.frames, slot.first_frame, config, body, renderer, tmp)
            record["body_model"] = body.model_stamp  # see lifecycle.check_resume_body_model
            record["device"] = renderer.device  # a resume on another device type is refused (check_resume_device)
            lifecycle.save_scene(tmp, slot.scene, record)
            seconds = record["seconds"]
            if not sys.stderr.isatty():
                log(
                    f"{name} scene {slot.scene + 1}/{totals.scenes}: {slot.frames} frames, build "
                    f"{seconds['scene_build']:.1f}s render {seconds['render']:.1f}s "
                    f"labels+write {seconds['labels_and_writing']:.1f}s"
                )
            if slot.scene == exit_after:
                exit_like_a_killed_task(name, slot.scene)
        else:
            totals.resumed += 1
        totals.add(record)
    if totals.resumed:
        log(f"{name}: resumed, {totals.resumed} scene(s) were already rendered")
    return totals


# Test hook (tests/test_resume_pixels.py), never set in production: BPGEN_TEST_EXIT_AFTER_SCENE=K makes a render
# task stop as soon as scene K (0-based) is checkpointed, the way a killed task stops, deterministically.
EXIT_HOOK = "BPGEN_TEST_EXIT_AFTER_SCENE"


def exit_hook_scene() -> int | None:
    """The scene after which the test hook stops this task (``EXIT_HOOK``), None when it is not set."""
    value = os.environ.get(EXIT_HOOK, "").strip()
    return int(value) if value.isdigit() else None


def exit_like_a_killed_task(name: str, scene: int) -> None:
    """SIGKILL this process (the test hook): no DONE, no clean-up, no atexit handlers, exit status -9 (137 in a
    shell), exactly what a kill between two scenes leaves."""
    log(f"{name}: {EXIT_HOOK}={scene}: killing this task after scene {scene} (test hook)")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def finish_shard(
    run_dir: Path,
    shard: int,
    config: RenderConfig,
    renderer: Renderer,
    tmp: Path,
    totals: ShardTotals,
    start: ShardStart,
) -> Path:
    """Assemble coco.json and frames.jsonl from the checkpoints, move the shard into place and write DONE.json."""
    t_assemble = time.perf_counter()
    info = {
        "description": f"bpgen shard {shard}",
        "version": versions_info(renderer.versions()),
        "date_created": start.started,
        "mode": config.mode.name,
        "seed": config.seed,
        "shard": shard,
    }
    counts = lifecycle.assemble_shard(tmp, lifecycle.saved_scenes(tmp, totals.scenes), info)
    totals.times.labels_and_writing += time.perf_counter() - t_assemble
    done = done_record(shard, config, renderer, counts, totals, start)
    final = lifecycle.finalize(run_dir, shard, tmp, done)
    log(
        f"{final.name} DONE: {counts['images']} images, {counts['annotations']} annotations, "
        f"{done['wall_seconds']:.1f}s"
    )
    return final


def done_record(
    shard: int,
    config: RenderConfig,
    renderer: Renderer,
    counts: dict[str, int],
    totals: ShardTotals,
    start: ShardStart,
) -> dict[str, Any]:
    """DONE.json: counts, seeds, versions, host and device, times per stage, resumed scenes, pose sampling."""
    return {
        "shard": shard,
        "counts": counts,
        "seed": config.seed,
        "scene_seeds": f"SeedSequence([{config.seed}, {shard}, scene])",
        "mode": config.mode.name,
        "versions": renderer.versions() | package_versions(),
        "host": host_info() | {"render_device": renderer.device},
        "start_time": start.started,
        "end_time": utc_now(),
        "wall_seconds": round(time.time() - start.start_time, 3),
        "seconds": totals.times.as_dict(),
        "resumed_scenes": totals.resumed,
        "body": {
            "model": config.body.name,
            "model_stamp": start.body_model,
            "load_seconds": round(start.body_load_seconds, 3),
        },
        "pose_sampling": {
            "people": totals.people,
            "attempts": totals.attempts,
            "self_intersection_rejection_rate": (
                round(1.0 - totals.people / totals.attempts, 4) if totals.attempts else 0.0
            ),
            "dropped_people": totals.dropped,
            # pose.per_frame: person-frames after a scene's first given a new pose (the others kept the last one)
            "person_frames": totals.person_frames,
            "reposed_person_frames": totals.reposed,
        },
    }


# how coco.json's info.version names a renderer's versions() keys (others are written as they are)
VERSION_NAMES = {"blender": "Blender", "blenderproc": "BlenderProc"}


def versions_info(versions: dict[str, str]) -> str:
    """coco.json's info.version, e.g. "bpgen 0.1.0, Blender 4.2.23 LTS, BlenderProc 2.8.0"."""
    import bpgen

    names = [f"bpgen {bpgen.__version__}"] + [f"{VERSION_NAMES.get(k, k)} {v}" for k, v in versions.items()]
    return ", ".join(names)
