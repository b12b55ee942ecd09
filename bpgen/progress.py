"""Progress: a tqdm bar in a terminal, plain timestamped log lines in batch jobs."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def log(message: str) -> None:
    print(f"[bpgen {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def progress(items: Iterable[T], total: int, desc: str) -> Iterator[T]:
    """Iterate with a progress bar when stderr is a terminal; otherwise the caller logs per item."""
    if sys.stderr.isatty():
        from tqdm import tqdm

        yield from tqdm(items, total=total, desc=desc, unit="scene", file=sys.stderr)
    else:
        yield from items
