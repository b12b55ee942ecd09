"""The embedded default: render a run's shards on this machine in a pool of render processes.

Each worker owns a disjoint set of this process's CPUs (its render threads = that many); shards are the same
as on Slurm (same command, same frozen config). One local run per run directory at a time (a lock file).

The render processes end with this one, even when it is killed with SIGKILL (each asks the kernel for SIGKILL
when the pool thread that started and waits for it ends: ``bpgen.run.procs``), so a rerun never renders a shard
that a leftover process is still writing. They never hold the run's lock: it is a POSIX lock, which stays with
this process (``bpgen.run.locks``), and they are started with exec and close every inherited descriptor.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

from bpgen.errors import UserError
from bpgen.hostinfo import usable_cpu_ids
from bpgen.ops.task import child_environment, render_command
from bpgen.progress import log
from bpgen.run import layout
from bpgen.run.directory import Run
from bpgen.run.locks import exclusive_lock, lock_held
from bpgen.run.procs import die_with_parent_preexec


class LocalRunBusy(UserError, RuntimeError):
    """Another process renders this run on this machine."""


def default_workers(cpus_available: int, cpus_per_shard: int) -> int:
    """As many render processes as the cores hold at ``cpus_per_shard`` threads each (at least one)."""
    return max(1, cpus_available // max(1, min(cpus_per_shard, cpus_available)))


def cpu_slots(cpus: Sequence[int], workers: int) -> list[list[int]]:
    """Split CPU ids into ``workers`` disjoint, near-equal sets (fewer sets when there are fewer CPUs)."""
    cpus = sorted(cpus)
    workers = max(1, min(workers, len(cpus)))
    size, extra = divmod(len(cpus), workers)
    slots, start = [], 0
    for index in range(workers):
        end = start + size + (1 if index < extra else 0)
        slots.append(cpus[start:end])
        start = end
    return slots


@contextlib.contextmanager
def local_lock(run: Run) -> Iterator[None]:
    run.path.mkdir(parents=True, exist_ok=True)

    def busy(holder: str) -> LocalRunBusy:
        return LocalRunBusy(f"run {run.name} is already rendering on this machine (pid {holder}); wait for it")

    with exclusive_lock(run.local_lock_path, busy):
        yield


def running_locally(run: Run) -> bool:
    """True while a local run holds the run's lock."""
    return lock_held(run.local_lock_path)


class _Pool:
    def __init__(self, run: Run, images: int, slots: list[list[int]], gpus: int | None, scratch: str | None) -> None:
        self.run, self.images, self.gpus, self.scratch = run, images, gpus, scratch
        self.free: queue.Queue[list[int]] = queue.Queue()
        for slot in slots:
            self.free.put(slot)
        self.children: set[subprocess.Popen[bytes]] = set()
        self.lock = threading.Lock()
        self.stopping = False

    def render(self, shard: int) -> int:
        slot = self.free.get()
        try:
            if self.stopping:
                return -1
            env = child_environment(os.environ, self.gpus, threads=len(slot), scratch=self.scratch)
            command = render_command(self.run.path, shard, self.images)
            self.run.logs_dir.mkdir(exist_ok=True)
            with open(layout.local_shard_log(self.run.logs_dir, shard), "ab") as log_file:
                child = subprocess.Popen(
                    command,
                    env=env,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    preexec_fn=die_with_parent_preexec(then=lambda: os.sched_setaffinity(0, slot)),
                    start_new_session=True,  # Ctrl-C reaches the pool, which stops the children itself
                )
                with self.lock:
                    self.children.add(child)
                status = child.wait()
                with self.lock:
                    self.children.discard(child)
            return status
        finally:
            self.free.put(slot)

    def stop(self) -> None:
        self.stopping = True
        with self.lock:
            for child in self.children:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGTERM)


def run_local(
    run: Run,
    shard_ids: Sequence[int],
    images: int,
    workers: int,
    gpus: int | None = None,
    scratch: str | None = None,
) -> list[int]:
    """Render the shards; returns those that failed (their logs are RUN/logs/shard_<K>.log)."""
    slots = cpu_slots(usable_cpu_ids(), workers)
    pool = _Pool(run, images, slots, gpus, scratch)
    failed: list[int] = []
    log(
        f"rendering {len(shard_ids)} shard(s) of run {run.name} locally: {len(slots)} process(es) x "
        f"{len(slots[0])} CPU(s); logs in {run.logs_dir}"
    )
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(shard_ids), desc=f"run {run.name}", unit="shard", file=sys.stderr)
    with ThreadPoolExecutor(max_workers=len(slots)) as executor:
        futures = {executor.submit(pool.render, k): k for k in shard_ids}
        try:
            for future in as_completed(futures):
                shard, status = futures[future], future.result()
                if status != 0:
                    failed.append(shard)
                    log(f"shard {shard} failed (exit {status}); see {layout.local_shard_log(run.logs_dir, shard)}")
                elif bar is None:
                    log(f"shard {shard} DONE")
                if bar is not None:
                    bar.update(1)
        except KeyboardInterrupt:
            pool.stop()
            for future in futures:
                future.cancel()
            raise
        finally:
            if bar is not None:
                bar.close()
    return sorted(failed)
