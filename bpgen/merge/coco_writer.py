"""The merged COCO files, ``annotations/instances_<split>.json``, streamed as shards finish (bounded memory).

Each split's file gets its shards' image and annotation fragments in shard order (``SplitStream.add``); at the
end ``finish_coco`` writes info (which shards made it, the render and merge configs) and categories.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

import bpgen
from bpgen.merge.shard_merge import ShardResult
from bpgen.run import layout


class SplitStream:
    """One split's COCO file, written as shards finish: ``{"images": [...], "annotations": [...], "info": ...,
    "licenses": [], "categories": [...]}``. Images go straight into the file, annotations into a side file that is
    appended (in-kernel copy) at the end, when info (which shards made it) and categories are known."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.main = open(path, "wb")
        self.side_path = path.with_name(f".{path.name}.annotations")
        self.side = open(self.side_path, "wb+")
        self.main.write(b'{"images":[')
        self.empty = {"images": True, "annotations": True}

    def add(self, parts: Path, shard: int) -> None:
        for key, handle in (("images", self.main), ("annotations", self.side)):
            fragment_path = layout.merge_part(parts, shard, key)
            fragment = fragment_path.read_bytes()
            fragment_path.unlink()
            if fragment:
                handle.write(fragment if self.empty[key] else b"," + fragment)
                self.empty[key] = False

    def close(self, info: dict[str, Any], categories: list[dict[str, Any]]) -> None:
        self.main.write(b'],"annotations":[')
        self.main.flush()
        self.side.flush()
        size, offset = self.side.seek(0, os.SEEK_END), 0
        try:
            while offset < size:  # in-kernel copy
                offset += os.copy_file_range(self.side.fileno(), self.main.fileno(), size - offset, offset)
        except OSError:  # file systems without copy_file_range: copy what is left through user space
            self.main.seek(0, os.SEEK_END)
            self.side.seek(offset)
            shutil.copyfileobj(self.side, self.main, 1 << 24)
        self.main.seek(0, os.SEEK_END)
        tail = b'],"info":' + orjson.dumps(info) + b',"licenses":[],"categories":' + orjson.dumps(categories) + b"}\n"
        self.main.write(tail)
        self.main.close()
        self.side.close()
        self.side_path.unlink()


def open_streams(dataset: Path, splits: Iterable[str]) -> dict[str, SplitStream]:
    """Start the COCO file of each split (creates ``annotations/``)."""
    (Path(dataset) / layout.ANNOTATIONS).mkdir()
    return {split: SplitStream(layout.instances_file(dataset, split)) for split in splits}


def _shard_metadata(shard: int, split: str, done: dict[str, Any]) -> dict[str, Any]:
    keys = ("seed", "scene_seeds", "mode", "versions", "host", "start_time", "end_time", "wall_seconds", "seconds")
    return (
        {"shard": shard, "split": split}
        | {k: done.get(k) for k in keys}
        | {
            "counts": done["counts"],
            "pose_sampling": done.get("pose_sampling"),
        }
    )


def finish_coco(
    streams: dict[str, SplitStream],
    merged: list[ShardResult],
    manifests: dict[int, dict[str, Any]],
    render_config: dict[str, Any],
    resolved: dict[str, Any],
    run_name: str,
) -> tuple[dict[str, int], dict[str, int]]:
    """Finish annotations/instances_<split>.json with info and categories; returns images/annotations per split."""
    modes = sorted({str(manifests[r.shard].get("mode")) for r in merged})
    date_created = max(str(manifests[r.shard].get("end_time", "")) for r in merged)
    categories = merged[0].categories if merged else []
    images, annotations = {}, {}
    for split, stream in streams.items():
        members = [r for r in merged if r.split == split]
        images[split] = sum(r.images for r in members)
        annotations[split] = sum(r.annotations for r in members)
        info = {
            "description": "bpgen: synthetic people in extreme poses (BlenderProc, Blender)",
            "version": bpgen.__version__,
            "date_created": date_created,
            "run": run_name,
            "split": split,
            "modes": modes,
            "render_config": render_config,
            "merge_config": resolved,
            "shards": [_shard_metadata(r.shard, split, manifests[r.shard]) for r in members],
        }
        stream.close(info, categories)
    return images, annotations
