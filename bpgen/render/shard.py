"""The shard loop: plan, build, render and label each scene of one shard, checkpointed and resumable."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bpgen.atomic import atomic_write_image
from bpgen.bodies import load_body
from bpgen.errors import UserError
from bpgen.hostinfo import host_info, package_versions, utc_now
from bpgen.progress import log, progress
from bpgen.render import lifecycle
from bpgen.render.config import RenderConfig
from bpgen.run import layout


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


def render_scene(
    shard: int,
    scene_index: int,
    frame_count: int,
    first_frame: int,
    config: RenderConfig,
    body: Any,
    blender: Any,
    tmp: Path,
) -> dict[str, Any]:
    """Plan, build, render and label one scene; returns its checkpoint record (frames + timings)."""
    from bpgen.photo.develop import develop, focus_distance
    from bpgen.photo.sampling import photo_record
    from bpgen.render.frame_labels import frame_labels
    from bpgen.scene.plan import plan_scene
    from bpgen.scene.renderer import person_name

    t0 = time.perf_counter()
    rng = np.random.default_rng(lifecycle.scene_seed(config.seed, shard, scene_index))
    plan = plan_scene(rng, config, body, frame_count)
    blender.build(plan)
    t1 = time.perf_counter()
    with stdout_to(tmp / "blender.log"):
        rendered = blender.render()
    t2 = time.perf_counter()
    names = [person_name(i) for i in range(len(plan.people))]
    frames = []
    for offset, (view, output) in enumerate(zip(plan.frames, rendered, strict=True)):
        number = first_frame + offset
        file_name = f"images/{number:06d}.{config.image_format}"
        photo, focus = view.photo, None
        if photo.f_number is not None and plan.people:  # focus on the drawn person's visible surface
            index = output.index_of.get(names[photo.focus_person])
            centre = plan.people[photo.focus_person].posed.vertices.mean(axis=0)
            fallback = float(view.camera.to_camera(centre[None])[0, 2])
            focus = focus_distance(output.depth, None if index is None else output.instance_map == index, fallback)
        rgb = develop(output.rgb, output.depth, photo, view.camera.fx, focus)
        write_image(tmp / file_name, rgb, config, photo.jpeg_quality)
        if config.write_depth:
            (tmp / "depth").mkdir(exist_ok=True)
            write_depth(tmp / "depth" / f"{number:06d}.png", output.depth)
        annotations, record = frame_labels(
            plan, view, output.instance_map, output.depth, output.index_of, names, config.min_visible_pixels
        )
        record.update(frame=number, scene=scene_index, file_name=file_name)
        record["photo"] = photo_record(photo, config.photo, focus, config.image_format)
        image = {
            "file_name": file_name,
            "width": config.width,
            "height": config.height,
            "scene": scene_index,
            "viewpoint": view.viewpoint,
            "mode": config.mode.name,
        }
        frames.append({"image": image, "annotations": annotations, "record": record})
    t3 = time.perf_counter()
    return {
        "scene": scene_index,
        "frames": frames,
        "pose_attempts": plan.pose_attempts,
        "people": len(plan.people),
        "dropped_people": plan.dropped_people,
        "seconds": {"scene_build": t1 - t0, "render": t2 - t1, "labels_and_writing": t3 - t2},
    }


def render_shard(
    run_dir: Path,
    shard: int,
    images: int,
    config: RenderConfig,
    resolved: dict[str, Any],
) -> Path:
    """Render (or resume, or skip when DONE) one shard; returns the final shard directory."""
    layout.check_shard_id(shard)
    layout.check_images_per_shard(images)
    final = layout.shard_dir(run_dir, shard)
    text = layout.config_text(resolved, images)
    if layout.is_done(run_dir, shard):
        saved = (final / "config.yaml").read_text() if (final / "config.yaml").exists() else ""
        if saved != text:
            raise InputError(
                f"{final} is DONE with a different config or image count; use another --run-dir or remove that shard"
            )
        log(f"{final.name} is already DONE; skipping")
        return final
    t_body = time.perf_counter()
    body = load_body(config.body.name)  # fails early, before anything is written, when the body asset is missing
    body_load_seconds = time.perf_counter() - t_body
    started, start_time = utc_now(), time.time()
    resumed = 0
    from bpgen.blender.bproc_adapter import versions
    from bpgen.blender.scene import BlenderScene

    # the renderer is set up before the shard's temp dir exists: a device refusal leaves nothing behind
    with tempfile.NamedTemporaryFile(prefix="bpgen_blender_", suffix=".log") as early_log:
        with stdout_to(Path(early_log.name)):
            blender = BlenderScene(config)
        tmp = lifecycle.prepare_temp_dir(run_dir, shard, text)
        with open(tmp / "blender.log", "ab") as log_file:
            shutil.copyfileobj(early_log, log_file)
    # scenes are drawn one at a time and only their totals are kept: memory does not grow with --images
    scenes = lifecycle.scene_count(images, config.frames_per_scene)
    times = lifecycle.StageTimes()
    attempts = people = dropped = 0
    log(
        f"{final.name}: {images} images in {scenes} scenes, mode={config.mode.name}, "
        f"{config.width}x{config.height}, quality={config.cycles.preset} ({config.samples} samples), "
        f"device {blender.device}"
    )
    for slot in progress(lifecycle.scene_slots(images, config.frames_per_scene), scenes, final.name):
        record = lifecycle.finished_scene(tmp, slot.scene)
        if record is None:
            record = render_scene(shard, slot.scene, slot.frames, slot.first_frame, config, body, blender, tmp)
            lifecycle.save_scene(tmp, slot.scene, record)
            seconds = record["seconds"]
            if not sys.stderr.isatty():
                log(
                    f"{final.name} scene {slot.scene + 1}/{scenes}: {slot.frames} frames, build "
                    f"{seconds['scene_build']:.1f}s render {seconds['render']:.1f}s "
                    f"labels+write {seconds['labels_and_writing']:.1f}s"
                )
        else:
            resumed += 1
        times.add(record["seconds"])
        attempts += record["pose_attempts"]
        people += record["people"]
        dropped += record["dropped_people"]
    if resumed:
        log(f"{final.name}: resumed, {resumed} scene(s) were already rendered")
    t_assemble = time.perf_counter()
    info = {
        "description": f"bpgen shard {shard}",
        "version": versions_info(versions()),
        "date_created": started,
        "mode": config.mode.name,
        "seed": config.seed,
        "shard": shard,
    }
    counts_out = lifecycle.assemble_shard(tmp, lifecycle.saved_scenes(tmp, scenes), info)
    times.labels_and_writing += time.perf_counter() - t_assemble
    done = {
        "shard": shard,
        "counts": counts_out,
        "seed": config.seed,
        "scene_seeds": f"SeedSequence([{config.seed}, {shard}, scene])",
        "mode": config.mode.name,
        "versions": versions() | package_versions(),
        "host": host_info() | {"render_device": blender.device},
        "start_time": started,
        "end_time": utc_now(),
        "wall_seconds": round(time.time() - start_time, 3),
        "seconds": times.as_dict(),
        "resumed_scenes": resumed,
        "body": {"model": config.body.name, "load_seconds": round(body_load_seconds, 3)},
        "pose_sampling": {
            "people": people,
            "attempts": attempts,
            "self_intersection_rejection_rate": round(1.0 - people / attempts, 4) if attempts else 0.0,
            "dropped_people": dropped,
        },
    }
    final = lifecycle.finalize(run_dir, shard, tmp, done)
    log(
        f"{final.name} DONE: {counts_out['images']} images, {counts_out['annotations']} annotations, "
        f"{done['wall_seconds']:.1f}s"
    )
    return final


def versions_info(versions: dict[str, str]) -> str:
    import bpgen

    return f"bpgen {bpgen.__version__}, Blender {versions['blender']}, BlenderProc {versions['blenderproc']}"
