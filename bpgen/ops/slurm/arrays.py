"""Split the shards to submit into Slurm arrays that respect MaxArraySize and share the throttle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ArrayChunk:
    """One sbatch array: task i renders ``shards[i]``; at most ``throttle`` tasks run at once."""

    shards: tuple[int, ...]
    throttle: int

    @property
    def array_spec(self) -> str:
        return f"0-{len(self.shards) - 1}%{min(self.throttle, len(self.shards))}"


def plan_arrays(shards: Sequence[int], max_array_size: int, throttle: int) -> list[ArrayChunk]:
    """Balanced arrays of at most ``max_array_size`` tasks (task ids 0..MaxArraySize-1).

    The throttle is divided between the arrays so that together they run at most ``throttle`` tasks (each
    array gets at least one, so more arrays than the throttle can exceed it).
    """
    if max_array_size < 1 or throttle < 1:
        raise ValueError("max_array_size and throttle must be >= 1")
    shards = sorted(set(shards))
    if not shards:
        return []
    count = -(-len(shards) // max_array_size)
    size, extra = divmod(len(shards), count)
    share, share_extra = divmod(throttle, count)
    chunks, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        chunks.append(ArrayChunk(tuple(shards[start:end]), max(1, share + (1 if index < share_extra else 0))))
        start = end
    return chunks
