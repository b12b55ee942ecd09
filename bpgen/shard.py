"""One shard of a run: deterministic from (run seed, shard id), written atomically, resumable per scene.

Layout of ``RUN/shards/shard_<K:06d>/`` (the contract that merge and training read):
  config.yaml     the resolved render config
  images/         <frame>.jpg|png, frame = 6-digit index within the shard
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
import math
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bpgen.atomic import atomic_write, atomic_write_json, atomic_write_text
from bpgen.keypoints import PERSON_CATEGORY
from bpgen.progress import log

DONE = "DONE.json"


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


def scene_frame_counts(images: int, frames_per_scene: int) -> list[int]:
    scenes = math.ceil(images / frames_per_scene)
    return [min(frames_per_scene, images - s * frames_per_scene) for s in range(scenes)]


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


def _with_annotation_id(person: dict[str, Any], first_annotation_id: int) -> dict[str, Any]:
    """Replace a person's index into its frame's annotations by the annotation's shard-wide id."""
    out = {key: value for key, value in person.items() if key != "annotation_index"}
    index = person["annotation_index"]
    out["annotation_id"] = None if index is None else first_annotation_id + index
    return out


def assemble_shard(tmp: Path, scene_records: list[dict[str, Any]], info: dict[str, Any]) -> dict[str, int]:
    """Write coco.json and frames.jsonl from the scene checkpoints; return the counts."""
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    frames: list[dict[str, Any]] = []
    for record in scene_records:
        for frame in record["frames"]:
            image_id = len(images) + 1
            first_annotation_id = len(annotations) + 1
            images.append(dict(frame["image"], id=image_id))
            for ann in frame["annotations"]:
                annotations.append(dict(ann, id=len(annotations) + 1, image_id=image_id))
            people = [_with_annotation_id(p, first_annotation_id) for p in frame["record"]["persons"]]
            frames.append(dict(frame["record"], image_id=image_id, persons=people))
    coco = {"info": info, "images": images, "annotations": annotations, "categories": [PERSON_CATEGORY]}
    atomic_write_json(tmp / "coco.json", coco)
    atomic_write(
        tmp / "frames.jsonl",
        lambda p: p.write_text("".join(json.dumps(f, separators=(",", ":")) + "\n" for f in frames)),
    )
    persons = sum(len(f["persons"]) for f in frames)
    return {
        "images": len(images),
        "annotations": len(annotations),
        "persons": persons,
        "scenes": len(scene_records),
    }


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
