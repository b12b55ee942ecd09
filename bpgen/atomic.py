"""Atomic file writes (write a temp file next to the target, fsync, then rename over it) and directory swaps.

A finished directory replaces another in one atomic step where the file system can exchange two paths (Linux
``renameat2(RENAME_EXCHANGE)``), else by two renames through a third name, which ``recover_directory`` repairs
when a kill fell between them.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import json
import os
import shutil
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


AT_FDCWD = -100
RENAME_EXCHANGE = 2


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2  # glibc >= 2.28
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux renameat2 RENAME_EXCHANGE); False where the system or
    the file system (e.g. NFS) cannot, with nothing changed."""
    function = _renameat2()
    if function is None:
        return False
    if function(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def install_directory(*, new: Path, final: Path, old: Path) -> None:
    """Put the finished directory ``new`` in place of ``final``, so that a kill at any point leaves a whole one.

    Where the file system can, the two directories swap atomically and ``new`` (now the previous ``final``) is
    removed: ``final`` is always either the previous or the new directory. Elsewhere ``final`` is renamed to
    ``old`` and ``new`` to ``final``; a kill between the two renames leaves no ``final`` but the previous
    directory in ``old``, which ``recover_directory`` puts back.
    """
    if final.exists():
        if exchange(new, final):
            shutil.rmtree(new, ignore_errors=True)
            return
        if old.exists():
            shutil.rmtree(old)
        final.rename(old)
    new.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def recover_directory(*, new: Path, final: Path, old: Path) -> bool:
    """Repair what an interrupted ``install_directory(new, final, old)`` left; True when it put ``old`` back.

    ``old`` without ``final``: killed between the two renames, so the previous directory goes back into place;
    ``old`` beside ``final``: killed while removing it, the rest goes; ``new``: an unfinished build, or a previous
    directory swapped out and partly removed, goes.
    """
    put_back = False
    if old.exists():
        if final.exists():
            shutil.rmtree(old)
        else:
            old.rename(final)
            put_back = True
    if new.exists():
        shutil.rmtree(new)
    return put_back
