"""Child processes that end with their parent, even when the parent is killed with SIGKILL.

A process killed with SIGKILL runs no cleanup: its children are reparented (to init or a subreaper) and keep
running. A pool worker then waits for ever on a pipe whose write end it holds itself, and a render process
keeps writing the shard that the next run resumes. On Linux a child asks the kernel for a signal when its parent
ends (``prctl(PR_SET_PDEATHSIG)``); elsewhere these helpers do nothing.

Two details of PR_SET_PDEATHSIG shape the helpers:

- the parent may already be gone when the child asks, so the child compares ``getppid()`` with the parent's pid
  recorded before the fork and signals itself when they differ;
- the "parent" is the *thread* that forked the child: fork from a thread that lives as long as the child (the
  main thread, or a pool thread that waits for the child, as ``bpgen.ops.local`` does).

The setting survives ``exec`` (of programs that are not set-user-ID), so a ``preexec_fn`` covers a subprocess,
and a pool initializer covers a multiprocessing worker. It is not inherited by the child's own children.
"""

from __future__ import annotations

import ctypes
import functools
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1
PR_GET_PDEATHSIG = 2

_Prctl = Callable[[int, int, int, int, int], int]


@functools.cache
def _prctl() -> _Prctl | None:
    """libc's prctl, or None off Linux (resolved once, before any fork: a forked child only calls it)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    function.restype = ctypes.c_int
    return function


def parent_death_signal_supported() -> bool:
    return _prctl() is not None


def parent_death_signal() -> int | None:
    """The signal this process gets when its parent ends (0: none), or None where the system cannot tell."""
    prctl = _prctl()
    if prctl is None:
        return None
    value = ctypes.c_int(0)
    if prctl(PR_GET_PDEATHSIG, ctypes.addressof(value), 0, 0, 0) != 0:
        return None
    return value.value


def set_parent_death_signal(signum: int = signal.SIGKILL) -> bool:
    """Ask for ``signum`` when this process's parent (thread) ends; False where the system cannot."""
    prctl = _prctl()
    return prctl is not None and prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0


def die_with_parent(parent_pid: int, signum: int = signal.SIGKILL) -> None:
    """In a child forked by ``parent_pid``: take ``signum`` when the parent ends, or now if it already has.

    Meant as a pool's ``initializer`` with ``initargs=(os.getpid(),)``; the pool must fork its workers from the
    process itself (the "fork" start method: with "forkserver" the parent would be the fork server).
    """
    if set_parent_death_signal(signum) and os.getppid() != parent_pid:
        os.kill(os.getpid(), signum)


def die_with_parent_preexec(
    signum: int = signal.SIGKILL, then: Callable[[], object] | None = None
) -> Callable[[], None]:
    """A ``preexec_fn`` for ``subprocess.Popen`` (built in the parent, run in the child between fork and exec):
    the child gets ``signum`` when the calling process ends, then ``then()`` runs (e.g. to set its affinity)."""
    prctl = _prctl()
    parent = os.getpid()

    def preexec() -> None:
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
            if os.getppid() != parent:
                os.kill(os.getpid(), signum)
        if then is not None:
            then()

    return preexec


def process_pool(max_workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers end with this process, even when it is killed with SIGKILL.

    The workers are forked by this process (the "fork" start method, pinned: with "forkserver" their parent
    would be the fork server, with "spawn" each would import everything again) and each asks for SIGKILL when
    this process ends. Without that, a killed pool's workers wait for ever on their task pipe, whose write end
    they hold themselves.
    """
    _prctl()  # resolved here: a child forked while another thread holds the loader's lock could not resolve it
    return ProcessPoolExecutor(
        max_workers=max_workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    )
