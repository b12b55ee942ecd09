"""Advisory run locks with the holder's pid: one local render, one merge per run at a time.

The lock is a POSIX record lock on the whole file (``fcntl.lockf``), not ``flock``, because of child processes:

- A ``flock`` lock belongs to the open file description, which a forked child shares (``O_CLOEXEC`` only acts on
  ``exec``). The merge's pool workers thus held the merge lock too, and when the merge was killed with SIGKILL
  they kept it for good (orphans blocked on a pipe): every later merge was refused, naming the dead process.
  A child cannot drop it either: unlocking a shared description unlocks the parent. Linux's OFD locks
  (``F_OFD_SETLK``) belong to the open file description as well, so they have the same flaw.
- A POSIX record lock belongs to the process: ``fork`` does not pass it on, and the kernel drops it when the
  process ends, however it ends. A held lock therefore always has a live owner, and the kernel names it
  (``F_GETLK``), so the "busy" message names the real holder even before it has written its pid to the file.

POSIX locks have two traps, both handled here: a process loses its lock when it closes *any* descriptor of the
file, and threads of one process do not exclude each other. This module records the locks its process holds
and never opens their files again (``lock_held`` answers from the record; a second ``exclusive_lock`` of the
same file is refused like one from another process); nothing else in bpgen opens the lock files.

``flock`` and POSIX locks do not see each other on Linux; so that a holder using ``flock`` (an older bpgen, or
``flock(1)``) is still respected, both functions also probe for one. Such a holder's children share its lock:
when its pid is gone but processes that inherited the lock still hold it, ``StaleLock`` names them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from bpgen.errors import UserError


class StaleLock(UserError, RuntimeError):
    """A lock's recorded owner is gone but processes it left behind still hold the lock (flock inheritance)."""


_held: dict[tuple[int, int], int] = {}  # (st_dev, st_ino) of a lock file -> pid of the process holding it
_held_guard = threading.Lock()

# struct flock on 64-bit Linux: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid (+ padding)
_FLOCK_STRUCT = "@hhqqi4x"
_GETLK_WORKS = sys.platform.startswith("linux") and struct.calcsize("P") == 8


def _key(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _held_here(path: Path) -> bool:
    key = _key(path)
    with _held_guard:
        return key is not None and _held.get(key) == os.getpid()


def _posix_holder(fd: int) -> int | None:
    """The pid holding a POSIX write lock that conflicts with a read lock of the whole file, else None."""
    if not _GETLK_WORKS:
        return None
    query = struct.pack(_FLOCK_STRUCT, fcntl.F_RDLCK, os.SEEK_SET, 0, 0, 0)
    l_type, _, _, _, pid = struct.unpack(_FLOCK_STRUCT, fcntl.fcntl(fd, fcntl.F_GETLK, query))
    return None if l_type == fcntl.F_UNLCK else max(pid, 0)


def _flock_taken(fd: int) -> bool:
    """True when another open file description holds an exclusive flock on the file (probe, released at once)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _processes_with_open(path: Path) -> list[int]:
    """Live processes (readable by this user) that have ``path`` open, this one excepted."""
    key = _key(path)
    found = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                for fd in os.scandir(f"/proc/{entry.name}/fd"):
                    with contextlib.suppress(OSError):
                        info = os.stat(fd.path)
                        if (info.st_dev, info.st_ino) == key:
                            found.append(int(entry.name))
                            break
    return sorted(pid for pid in found if _pid_alive(pid))


def _recorded_pid(handle: IO[str]) -> str:
    handle.seek(0)
    return handle.read().strip() or "?"


def _flock_holder(path: Path, recorded: str) -> str:
    """The pid to name for a flock holder; StaleLock when the recorded one is gone and its children hold it."""
    if recorded.isdigit() and _pid_alive(int(recorded)):
        return recorded
    others = _processes_with_open(path)
    if not others:
        return recorded
    listed = " ".join(map(str, others))
    raise StaleLock(
        f"{path} is locked by process(es) {listed}, left behind by pid {recorded} which is gone (they inherited its "
        f"flock); end them (kill {listed}) and run again"
    )


@contextlib.contextmanager
def exclusive_lock(path: Path, busy: Callable[[str], Exception]) -> Iterator[None]:
    """Hold ``path``'s lock for the block; raise ``busy(holder_pid)`` when another process (or another thread or
    block of this one) holds it. Child processes never hold it: see the module's docstring."""
    if _held_here(path):
        raise busy(str(os.getpid()))
    with open(path, "a+") as handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            holder = _posix_holder(handle.fileno())
            raise busy(str(holder) if holder else _recorded_pid(handle)) from None
        if _flock_taken(handle.fileno()):  # closing the handle below also drops the POSIX lock just taken
            raise busy(_flock_holder(path, _recorded_pid(handle)))
        key = os.fstat(handle.fileno())
        with _held_guard:
            _held[(key.st_dev, key.st_ino)] = os.getpid()
        try:
            _write_pid(handle)
            yield
        finally:
            with _held_guard:
                _held.pop((key.st_dev, key.st_ino), None)


def lock_held(path: Path) -> bool:
    """True while a process holds ``path``'s lock (this one included: a held lock is not taken twice)."""
    if not path.is_file():
        return False
    if _held_here(path):
        return True  # opening the file again would drop this process's own POSIX lock when closed
    with open(path) as handle:
        if _GETLK_WORKS:
            if _posix_holder(handle.fileno()) is not None:
                return True
        else:
            try:  # a read lock tests for a conflicting write lock (and is dropped when the file closes)
                fcntl.lockf(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return True
        return _flock_taken(handle.fileno())


def _write_pid(handle: IO[str]) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()


def _same_file(handle: IO[str], path: Path) -> bool:
    try:
        return os.fstat(handle.fileno()).st_ino == path.stat().st_ino
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def waiting_lock(path: Path, on_wait: Callable[[str], None]) -> Iterator[None]:
    """Hold ``path``'s lock for the block, waiting while another process holds it (``on_wait(holder_pid)`` is
    called once). The file is removed on release, so nothing stays behind; a waiter that wakes on a removed file
    locks the current one instead. ``flock``: held only by processes that exec their children (2-submit)."""
    while True:
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            on_wait(handle.read().strip() or "?")
            fcntl.flock(handle, fcntl.LOCK_EX)
        if _same_file(handle, path):
            break
        handle.close()
    try:
        _write_pid(handle)
        yield
    finally:
        path.unlink(missing_ok=True)
        handle.close()
