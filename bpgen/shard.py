"""One shard of a run: deterministic from (run seed, shard id), written atomically, resumable per scene.

Layout of ``RUN/shards/shard_<K:06d>/`` (the contract that merge and training read):
  config.yaml     the resolved render config
  images/         <frame>.jpg|png, frame = 6-digit index within the shard (so at most 999,999 images)
  depth/          <frame>.png, uint16 millimetres, 0 = no surface (only with write_depth=true)
  coco.json       COCO: images (ids from 1), annotations (ids from 1; visible-mask RLE, bbox, area, iscrowd,
                  17 keypoints, num_keypoints, extremeness), categories (person, keypoints, skeleton)
  frames.jsonl    one line per frame: camera (K, cam2world, world2cam), viewpoint, and per person (with the
                  id of its COCO annotation, or null when it is not visible) the pose,
                  shape, extremeness, orientation, 3D joints/keypoints in camera coordinates, BOP-style
                  pose (cam_R_m2c, cam_t_m2c in mm), amodal mask RLE, bbox_obj/bbox_visib, px counts,
                  visib_fract and truncation
  DONE.json       written last: counts, seed, versions, host, start/end time, seconds per stage
While rendering, everything lives in ``RUN/shards/.shard_<K:06d>.tmp/``; each finished scene is checkpointed
there, so a killed shard resumes at its first unfinished scene. The directory is renamed into place only
when complete, then DONE.json is written: a shard without DONE.json is never complete.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TextIO

import numpy as np
import yaml

from bpgen.atomic import atomic_write, atomic_write_json, atomic_write_text
from bpgen.errors import UserError
from bpgen.keypoints import PERSON_CATEGORY
from bpgen.progress import log

DONE = "DONE.json"
MAX_SHARDS = 1_000_000  # shard ids are named with 6 digits (shard_000000 .. shard_999999)
# Frames are named with 6 digits in a shard (images/<frame:06d>.jpg, depth/<frame:06d>.png) and in the merged
# dataset (<shard:06d>_<frame:06d>.jpg, badlists): the one bound of images per shard, for render and 2-submit.
MAX_IMAGES_PER_SHARD = 999_999


class ShardLimitError(UserError, ValueError):
    """A shard id or image count the shard layout cannot name; the message names the bound and the fix."""


def check_images_per_shard(images: int, flag: str = "--images") -> None:
    """Refuse more images than a shard can name (``MAX_IMAGES_PER_SHARD``); cheap, before any allocation."""
    if images > MAX_IMAGES_PER_SHARD:
        raise ShardLimitError(
            f"{flag} {images} is more than one shard can hold ({MAX_IMAGES_PER_SHARD:,} images: frames are named "
            f"with 6 digits); render them as more shards of at most {MAX_IMAGES_PER_SHARD:,} images"
        )


def check_shard_id(shard: int, flag: str = "--shard") -> None:
    """Refuse a shard id the layout cannot name (ids 0 .. ``MAX_SHARDS - 1``, 6 digits)."""
    if shard >= MAX_SHARDS:
        raise ShardLimitError(
            f"{flag} {shard} is above {MAX_SHARDS - 1:,}, the highest shard id (shard_<6 digits>); use a smaller id"
        )


def shard_name(shard: int) -> str:
    return f"shard_{shard:06d}"


def shard_dir(run_dir: Path, shard: int) -> Path:
    return Path(run_dir) / "shards" / shard_name(shard)


def temp_dir(run_dir: Path, shard: int) -> Path:
    return Path(run_dir) / "shards" / f".{shard_name(shard)}.tmp"


def is_done(run_dir: Path, shard: int) -> bool:
    return (shard_dir(run_dir, shard) / DONE).is_file()


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


def resolved_yaml(resolved: dict[str, Any]) -> str:
    return yaml.safe_dump(resolved, sort_keys=True)


def config_text(resolved: dict[str, Any], images: int) -> str:
    """The shard's config.yaml: the resolved config, headed by the image count (both define the shard)."""
    return f"# bpgen shard config: {images} images\n" + resolved_yaml(resolved)


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
    if tmp.exists() and ((tmp / "config.yaml").is_file() and (tmp / "config.yaml").read_text() == text):
        (tmp / "images").mkdir(exist_ok=True)
        (tmp / "scenes").mkdir(exist_ok=True)
        return tmp
    if tmp.exists():
        log(f"{shard_name(shard)}: discarding a partial shard rendered with another config")
        shutil.rmtree(tmp)
    (tmp / "images").mkdir(parents=True)
    (tmp / "scenes").mkdir()
    atomic_write_text(tmp / "config.yaml", text)
    return tmp


def finished_scene(tmp: Path, scene: int) -> dict[str, Any] | None:
    path = tmp / "scenes" / f"scene_{scene:05d}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def save_scene(tmp: Path, scene: int, record: dict[str, Any]) -> None:
    atomic_write_json(tmp / "scenes" / f"scene_{scene:05d}.json", record)


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
        atomic_write(tmp / "frames.jsonl", write_frames)
        atomic_write(tmp / "coco.json", write_coco)
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
    shutil.rmtree(final / "scenes")  # checkpoints are in coco.json/frames.jsonl now
    atomic_write_json(final / DONE, done, indent=2)
    return final


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def compact_ranges(numbers: Iterable[int]) -> str:
    """``[0, 1, 2, 5, 7, 8]`` -> ``"0-2,5,7-8"`` (Slurm's and humans' way to list ids)."""
    values = sorted(set(numbers))
    parts: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        parts.append(str(values[i]) if i == j else f"{values[i]}-{values[j]}")
        i = j + 1
    return ",".join(parts)
