"""One shard's lifecycle: deterministic from (run seed, shard id), written atomically, resumable per scene.

The files and their names are ``bpgen.run.layout``'s. While rendering, everything lives in the shard's temp dir
(``RUN/shards/.shard_<K:06d>.tmp/``); each finished scene is checkpointed there, so a killed shard resumes at its
first unfinished scene. The directory is renamed into place only when complete, then DONE.json is written: a
shard without DONE.json is never complete. coco.json holds images (ids from 1), annotations (ids from 1;
visible-mask RLE, bbox, area, iscrowd, 17 keypoints, num_keypoints, extremeness) and the person category;
frames.jsonl one line per frame: camera (K, cam2world, world2cam), viewpoint, and per person (with the id of its
COCO annotation, or null when it is not visible) the pose, shape, extremeness, orientation, 3D joints/keypoints
in camera coordinates, BOP-style pose (cam_R_m2c, cam_t_m2c in mm), amodal mask RLE, bbox_obj/bbox_visib, px
counts, visib_fract and truncation; DONE.json counts, seed, versions, host, start/end time, seconds per stage.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TextIO

import numpy as np

from bpgen.atomic import atomic_write, atomic_write_json, atomic_write_text
from bpgen.errors import UserError
from bpgen.geometry.keypoints import PERSON_CATEGORY
from bpgen.progress import log
from bpgen.run.layout import (
    COCO,
    CONFIG,
    DONE,
    FRAMES,
    IMAGES,
    SCENES,
    scene_checkpoint,
    shard_dir,
    shard_name,
    temp_dir,
)


def scene_seed(run_seed: int, shard: int, scene: int) -> np.random.SeedSequence:
    """Every scene has its own stream, so resuming at scene k draws exactly what a fresh run would."""
    return np.random.SeedSequence([run_seed, shard, scene])


class SceneSlot(NamedTuple):
    """One scene of a shard: its index, how many frames it renders and the shard-wide number of its first."""

    scene: int
    frames: int
    first_frame: int


def scene_count(images: int, frames_per_scene: int) -> int:
    return -(-images // frames_per_scene)  # exact for any int, unlike math.ceil of a float


def scene_slots(images: int, frames_per_scene: int) -> Iterator[SceneSlot]:
    """The shard's scenes, drawn lazily: nothing is built up front for the image count."""
    for scene in range(scene_count(images, frames_per_scene)):
        first = scene * frames_per_scene
        yield SceneSlot(scene, min(frames_per_scene, images - first), first)


def scene_frame_counts(images: int, frames_per_scene: int) -> list[int]:
    """Frames per scene as a list (small shards, tests); the renderer iterates ``scene_slots``."""
    return [slot.frames for slot in scene_slots(images, frames_per_scene)]


@dataclass
class StageTimes:
    """Seconds spent per stage (scene planning + Blender building, rendering, labels + writing)."""

    scene_build: float = 0.0
    render: float = 0.0
    labels_and_writing: float = 0.0

    def add(self, other: dict[str, float]) -> None:
        self.scene_build += other.get("scene_build", 0.0)
        self.render += other.get("render", 0.0)
        self.labels_and_writing += other.get("labels_and_writing", 0.0)

    def as_dict(self) -> dict[str, float]:
        return {
            "scene_build": round(self.scene_build, 3),
            "render": round(self.render, 3),
            "labels_and_writing": round(self.labels_and_writing, 3),
        }


def prepare_temp_dir(run_dir: Path, shard: int, text: str) -> Path:
    """The shard's temp dir, reused when it holds scenes of the same config text, else started afresh.

    A final shard directory without DONE.json (killed between rename and DONE) is moved back to be resumed.
    """
    tmp, final = temp_dir(run_dir, shard), shard_dir(run_dir, shard)
    if final.exists() and not (final / DONE).exists():
        if tmp.exists():
            shutil.rmtree(tmp)
        final.rename(tmp)
    if tmp.exists() and ((tmp / CONFIG).is_file() and (tmp / CONFIG).read_text() == text):
        (tmp / IMAGES).mkdir(exist_ok=True)
        (tmp / SCENES).mkdir(exist_ok=True)
        return tmp
    if tmp.exists():
        log(f"{shard_name(shard)}: discarding a partial shard rendered with another config")
        shutil.rmtree(tmp)
    (tmp / IMAGES).mkdir(parents=True)
    (tmp / SCENES).mkdir()
    atomic_write_text(tmp / CONFIG, text)
    return tmp


class BodyModelChanged(UserError, ValueError):
    """A partial shard was started with another body model export than the one this task would resume it with."""


def partial_shard(run_dir: Path, shard: int) -> Path:
    """The directory a rerun of a shard that is not DONE resumes (``prepare_temp_dir`` moves a final one back)."""
    final = shard_dir(run_dir, shard)
    return final if final.exists() and not (final / DONE).exists() else temp_dir(run_dir, shard)


def checkpoints(partial: Path) -> Iterator[dict[str, Any]]:
    """The scene checkpoints in a partial shard's directory, in scene order, read one at a time."""
    for path in sorted((partial / SCENES).glob("scene_*.json")):
        yield json.loads(path.read_text())


def started_with(run_dir: Path, shard: int, text: str, key: str) -> tuple[Any, Path] | None:
    """What the scenes a task with config ``text`` would resume recorded under ``key`` (the first checkpoint that
    has it; older ones lack it) and that partial shard's directory; None when there is nothing to resume (no
    partial shard, none of its scenes done, or another config apart from its device, which
    ``prepare_temp_dir`` discards)."""
    partial = partial_shard(run_dir, shard)
    saved = partial / CONFIG
    if not saved.is_file() or _without_device(saved.read_text()) != _without_device(text):
        return None
    for checkpoint in checkpoints(partial):
        if checkpoint.get(key) is not None:
            return checkpoint[key], partial
    return None


def check_resume_body_model(run_dir: Path, shard: int, text: str, body_model: str | None) -> None:
    """Refuse (nothing written) to resume a partial shard whose finished scenes were rendered with another body
    model export (each scene checkpoint records its ``body_model``)."""
    started = started_with(run_dir, shard, text, "body_model")
    if started is not None and started[0] != body_model:
        raise BodyModelChanged(
            f"{shard_name(shard)} was started with body model {started[0]!r}, this task has {body_model!r} (the "
            f"export was rebuilt by ./0-setup); rebuild the export it started with, or delete {started[1]} (or use "
            "another --run-dir) to render it anew"
        )


class DeviceChanged(UserError, ValueError):
    """A partial shard was started on another render device type than the one this task would resume it on."""


# the Cycles device type a config's ``device`` renders on; ``auto`` is known only once the renderer has looked
DEVICE_TYPES = {"cpu": "CPU", "cuda": "CUDA", "optix": "OPTIX"}


def device_type(device: str) -> str:
    """A renderer's device, e.g. "OPTIX:NVIDIA H200" or "CPU:16 threads", as its type: "OPTIX", "CPU"."""
    return device.split(":", 1)[0]


def _without_device(text: str) -> str:
    """A config text with its top-level ``device:`` line blanked (resolved_yaml writes one key per line)."""
    return "\n".join("device:" if line.startswith("device:") else line for line in text.splitlines())


def check_resume_device(run_dir: Path, shard: int, text: str, device: str | None) -> None:
    """Refuse (DeviceChanged, nothing written) to resume a partial shard on another device type than the one that
    rendered its first scenes (each checkpoint records its ``device``): Cycles renders other pixels on CPU, CUDA
    and OptiX, so a shard would mix them.

    Called twice: with the configured type before the renderer is made (``device=cpu|cuda|optix``: no GPU is
    probed for a refused resume), and with the type the renderer found (``device=auto``, e.g. a requeued task on a
    node of another kind)."""
    started = None if device is None else started_with(run_dir, shard, text, "device")
    if started is None or device_type(started[0]) == device:
        return
    saved = (started[1] / CONFIG).read_text().splitlines()
    key = next((line for line in saved if line.startswith("device:")), "device:").partition(":")[2].strip()
    original = key if key in DEVICE_TYPES else device_type(started[0]).lower()
    raise DeviceChanged(
        f"{shard_name(shard)} was started on {device_type(started[0])} and would resume on {device}, which renders "
        f"other pixels; rerun with device={original}, or delete {started[1]} (or use another --run-dir) to render "
        "it anew"
    )


def finished_scene(tmp: Path, scene: int) -> dict[str, Any] | None:
    path = scene_checkpoint(tmp, scene)
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def save_scene(tmp: Path, scene: int, record: dict[str, Any]) -> None:
    atomic_write_json(scene_checkpoint(tmp, scene), record)


def saved_scenes(tmp: Path, scenes: int) -> Iterator[dict[str, Any]]:
    """The checkpoints of scenes ``0 .. scenes-1``, read one at a time (for ``assemble_shard``)."""
    for scene in range(scenes):
        record = finished_scene(tmp, scene)
        if record is None:
            raise FileNotFoundError(f"{tmp}: the checkpoint of scene {scene} is missing")
        yield record


def _with_annotation_id(person: dict[str, Any], first_annotation_id: int) -> dict[str, Any]:
    """Replace a person's index into its frame's annotations by the annotation's shard-wide id."""
    out = {key: value for key, value in person.items() if key != "annotation_index"}
    index = person["annotation_index"]
    out["annotation_id"] = None if index is None else first_annotation_id + index
    return out


def assemble_shard(tmp: Path, scene_records: Iterable[dict[str, Any]], info: dict[str, Any]) -> dict[str, int]:
    """Write coco.json and frames.jsonl from the scene checkpoints; return the counts.

    Streamed: one scene record is in memory at a time (``scene_records`` may be ``saved_scenes``), the COCO
    images and annotations go to part files that are then joined; the bytes are those of ``json.dumps`` of the
    whole COCO dict (default separators) and one compact JSON line per frame.
    """
    counts = {"images": 0, "annotations": 0, "persons": 0, "scenes": 0}
    images_part, annotations_part = tmp / ".coco_images.part", tmp / ".coco_annotations.part"

    def write_frames(path: Path) -> None:
        with open(path, "w") as frames, open(images_part, "w") as images, open(annotations_part, "w") as annotations:
            for record in scene_records:
                counts["scenes"] += 1
                for frame in record["frames"]:
                    image_id = counts["images"] + 1
                    first_annotation_id = counts["annotations"] + 1
                    _list_item(images, dict(frame["image"], id=image_id), image_id == 1)
                    counts["images"] = image_id
                    for ann in frame["annotations"]:
                        counts["annotations"] += 1
                        number = counts["annotations"]
                        _list_item(annotations, dict(ann, id=number, image_id=image_id), number == 1)
                    people = [_with_annotation_id(p, first_annotation_id) for p in frame["record"]["persons"]]
                    counts["persons"] += len(people)
                    line = dict(frame["record"], image_id=image_id, persons=people)
                    frames.write(json.dumps(line, separators=(",", ":")) + "\n")

    def write_coco(path: Path) -> None:
        with open(path, "w") as out:
            out.write('{"info": ' + json.dumps(info) + ', "images": [')
            with open(images_part) as part:
                shutil.copyfileobj(part, out)
            out.write('], "annotations": [')
            with open(annotations_part) as part:
                shutil.copyfileobj(part, out)
            out.write('], "categories": ' + json.dumps([PERSON_CATEGORY]) + "}\n")

    try:
        atomic_write(tmp / FRAMES, write_frames)
        atomic_write(tmp / COCO, write_coco)
    finally:
        images_part.unlink(missing_ok=True)
        annotations_part.unlink(missing_ok=True)
    return counts


def _list_item(out: TextIO, item: dict[str, Any], first: bool) -> None:
    """One item of a JSON list as ``json.dumps`` writes it (``", "`` between items)."""
    out.write(json.dumps(item) if first else ", " + json.dumps(item))


def finalize(run_dir: Path, shard: int, tmp: Path, done: dict[str, Any]) -> Path:
    """Rename the complete temp dir into place, then write DONE.json."""
    final = shard_dir(run_dir, shard)
    tmp.rename(final)
    shutil.rmtree(final / SCENES)  # checkpoints are in coco.json/frames.jsonl now
    atomic_write_json(final / DONE, done, indent=2)
    return final
