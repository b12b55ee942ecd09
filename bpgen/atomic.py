"""Atomic file writes: write a temp file next to the target, fsync, then rename over it."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp_path)`` then rename the temp file onto ``path`` (same directory, same filesystem)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp" + path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_image(path: Path, pixels: Any, params: tuple[int, ...] = ()) -> None:
    """Encode ``pixels`` (BGR or single channel, as cv2 expects) in the format of ``path``'s suffix."""
    import cv2

    ok, encoded = cv2.imencode(Path(path).suffix, pixels, list(params))
    if not ok:
        raise RuntimeError(f"could not encode {path}")
    atomic_write(path, lambda tmp: tmp.write_bytes(encoded.tobytes()))


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def atomic_write_json(path: Path, data: Any, indent: int | None = None) -> None:
    atomic_write_text(path, json.dumps(data, indent=indent, sort_keys=False) + "\n")


def unwritable_reason(path: Path) -> str | None:
    """Why ``path`` (or the nearest existing parent it would be created in) cannot be written, else None.

    Really tries (os.access says yes to root on read-only mounts); the probe leaves nothing behind.
    """
    path = Path(path).resolve()
    existing = next(p for p in (path, *path.parents) if p.exists())
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".bpgen-probe-", dir=existing))
    except OSError as exc:
        return f"{existing}: {exc.strerror}"
    return None
