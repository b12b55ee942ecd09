"""Pure decisions of a merge: the split by shard, global ids, output names, BOP chunks, the badlist."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from bpgen.run import layout


def split_shards(shards: Sequence[int], val_ratio: float, seed: int) -> dict[int, str]:
    """Shard -> "train" | "val": round(ratio x shards) val shards (at least one when ratio > 0 and there are two or
    more shards), drawn with ``seed`` from the sorted shard ids, so the split depends only on (shards, ratio, seed)."""
    shards = sorted(shards)
    n_val = round(val_ratio * len(shards))
    if val_ratio > 0 and len(shards) >= 2:
        n_val = min(max(n_val, 1), len(shards) - 1)
    order = np.random.default_rng(seed).permutation(len(shards))
    val = {shards[i] for i in order[:n_val]}
    return {k: "val" if k in val else "train" for k in shards}


@dataclass(frozen=True)
class ShardPlan:
    """Where one shard goes: its split, id offsets (global id = offset + id in the shard), first BOP chunk."""

    shard: int
    split: str
    image_offset: int
    annotation_offset: int
    first_chunk: int
    chunks: int


def plan_shards(
    counts: Sequence[tuple[int, int, int]], splits: dict[int, str], chunk_size: int
) -> dict[int, ShardPlan]:
    """``counts``: (shard, images, annotations) from the DONE manifests. Ids stay unique and start at 1; an image
    keeps its id whatever is filtered, so COCO, BOP and stats name it the same. Chunks are numbered per split."""
    plans: dict[int, ShardPlan] = {}
    image_offset = annotation_offset = 0
    next_chunk = dict.fromkeys(layout.SPLITS, 0)
    for shard, images, annotation_count in sorted(counts):
        split = splits[shard]
        chunks = max(1, math.ceil(images / chunk_size))
        plans[shard] = ShardPlan(shard, split, image_offset, annotation_offset, next_chunk[split], chunks)
        image_offset += images
        annotation_offset += annotation_count
        next_chunk[split] += chunks
    return plans


def parse_badlist(lines: Iterable[str]) -> set[tuple[int, int]]:
    """(shard, frame) of each listed image: merged names (000003_000012.jpg) or shard paths
    (shard_000003/images/000012.jpg); blank lines and # comments are ignored."""
    bad = set()
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        image = layout.image_of_name(line)
        if image is None:
            raise ValueError(f"badlist line {number}: {line!r} is not an image name like 000003_000012.jpg")
        bad.add(image)
    return bad
