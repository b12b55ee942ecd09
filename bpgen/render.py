"""Render one shard: ``python -m bpgen.render --run-dir DIR --shard K --images N [overrides...]``.

Overrides use Hydra's syntax on configs/render.yaml, e.g. ``mode=occlusion resolution=[320,240] samples=32``.
Exit status: 0 done (or already DONE), 2 bad input (nothing written), 1 failure while rendering.
"""

from __future__ import annotations

import argparse
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

from bpgen import shard as shards
from bpgen.atomic import atomic_write_image, unwritable_reason
from bpgen.bodies import load_body
from bpgen.config import RenderConfig, compose_render_config, load_resolved_config
from bpgen.errors import UserError, report
from bpgen.hostinfo import host_info, package_versions
from bpgen.ops.envfile import assets_dir_setting
from bpgen.progress import log, progress
from bpgen.scene.world import check_frozen_assets


class InputError(UserError, ValueError):
    """Bad command-line input; the message names the fix."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bpgen.render",
        description="Render one shard of synthetic people in extreme poses (BlenderProc, Blender 4.2).",
        epilog="Overrides: Hydra syntax on configs/render.yaml, e.g. mode=occlusion resolution=[320,240].",
    )
    parser.add_argument("--run-dir", type=Path, help="run directory; the shard goes to RUN/shards/shard_<K>/")
    parser.add_argument("--shard", type=int, help="shard id K (>= 0); with the run seed it fixes all randomness")
    parser.add_argument("--images", type=int, help="images in this shard (> 0)")
    parser.add_argument(
        "--config", type=Path, help="render with this resolved config (a run's config.yaml from ./2-submit)"
    )
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    parser.add_argument("overrides", nargs="*", help="config overrides, key=value")
    return parser.parse_args(argv)


def check_arguments(args: argparse.Namespace) -> None:
    """The shard id and image count, first of all: before the config is composed or anything is allocated."""
    if args.run_dir is None or args.shard is None or args.images is None:
        raise InputError("--run-dir, --shard and --images are required; e.g. --run-dir runs/demo --shard 0 --images 8")
    if args.shard < 0:
        raise InputError(f"--shard must be >= 0, got {args.shard}")
    if args.images <= 0:
        raise InputError(f"--images must be > 0, got {args.images}")
    shards.check_shard_id(args.shard)
    shards.check_images_per_shard(args.images)


def check_inputs(args: argparse.Namespace) -> None:
    check_arguments(args)
    run_dir = Path(args.run_dir).resolve()
    problem = unwritable_reason(run_dir)
    if problem:
        raise InputError(f"run dir {run_dir} is not writable ({problem}); choose a writable --run-dir")


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
    from bpgen.blender.scene import person_name
    from bpgen.frame_labels import frame_labels
    from bpgen.photometry import develop, focus_distance, photo_record
    from bpgen.scene.plan import plan_scene

    t0 = time.perf_counter()
    rng = np.random.default_rng(shards.scene_seed(config.seed, shard, scene_index))
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
    shards.check_shard_id(shard)
    shards.check_images_per_shard(images)
    final = shards.shard_dir(run_dir, shard)
    text = shards.config_text(resolved, images)
    if shards.is_done(run_dir, shard):
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
    started, start_time = shards.utc_now(), time.time()
    resumed = 0
    from bpgen.blender.bproc_adapter import versions
    from bpgen.blender.scene import BlenderScene

    # the renderer is set up before the shard's temp dir exists: a device refusal leaves nothing behind
    with tempfile.NamedTemporaryFile(prefix="bpgen_blender_", suffix=".log") as early_log:
        with stdout_to(Path(early_log.name)):
            blender = BlenderScene(config)
        tmp = shards.prepare_temp_dir(run_dir, shard, text)
        with open(tmp / "blender.log", "ab") as log_file:
            shutil.copyfileobj(early_log, log_file)
    # scenes are drawn one at a time and only their totals are kept: memory does not grow with --images
    scenes = shards.scene_count(images, config.frames_per_scene)
    times = shards.StageTimes()
    attempts = people = dropped = 0
    log(
        f"{final.name}: {images} images in {scenes} scenes, mode={config.mode.name}, "
        f"{config.width}x{config.height}, quality={config.cycles.preset} ({config.samples} samples), "
        f"device {blender.device}"
    )
    for slot in progress(shards.scene_slots(images, config.frames_per_scene), scenes, final.name):
        record = shards.finished_scene(tmp, slot.scene)
        if record is None:
            record = render_scene(shard, slot.scene, slot.frames, slot.first_frame, config, body, blender, tmp)
            shards.save_scene(tmp, slot.scene, record)
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
    counts_out = shards.assemble_shard(tmp, shards.saved_scenes(tmp, scenes), info)
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
        "end_time": shards.utc_now(),
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
    final = shards.finalize(run_dir, shard, tmp, done)
    log(
        f"{final.name} DONE: {counts_out['images']} images, {counts_out['annotations']} annotations, "
        f"{done['wall_seconds']:.1f}s"
    )
    return final


def versions_info(versions: dict[str, str]) -> str:
    import bpgen

    return f"bpgen {bpgen.__version__}, Blender {versions['blender']}, BlenderProc {versions['blenderproc']}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if not args.print_config:
            check_arguments(args)  # bounds of --shard/--images first: nothing composed, imported or allocated yet
        if args.config is not None:
            if args.overrides:
                raise InputError("--config renders a frozen config as it is; drop the overrides or --config")
            config, resolved = load_resolved_config(args.config)
            check_frozen_assets(config.world)  # the library frozen by ./2-submit is here and unchanged
        else:
            config, resolved = compose_render_config(args.overrides, assets_dir=assets_dir_setting())
        if args.print_config:
            print(shards.resolved_yaml(resolved), end="")
            return 0
        check_inputs(args)
        render_shard(Path(args.run_dir).resolve(), args.shard, args.images, config, resolved)
    except UserError as exc:
        return report(exc)
    return 0


def exit_now(code: int) -> None:
    """Exit without interpreter teardown once Blender is loaded: the bpy module can crash (SIGSEGV) while
    Python unloads it, which would turn a finished shard into a failed task."""
    if "bpy" in sys.modules:
        import atexit

        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    try:
        status = main()
    except Exception:
        import traceback

        traceback.print_exc()
        status = 1
    exit_now(status)
