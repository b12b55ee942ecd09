"""Process lifetimes: children end with their parent, run locks stay with the process that took them, and a merge
or a local render killed with SIGKILL at any point leaves nothing that blocks or spoils the next run.

Real processes throughout: helpers run in subprocesses, are killed with SIGKILL, and /proc tells what is left.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import merge, tiny

from bpgen import atomic
from bpgen.hostinfo import usable_cpu_ids, usable_cpus
from bpgen.merge import build
from bpgen.run import layout
from bpgen.run.directory import Run
from bpgen.run.locks import StaleLock, exclusive_lock, lock_held
from bpgen.run.procs import parent_death_signal, parent_death_signal_supported
from bpgen_train.launch import DieWithLauncher

ROOT = Path(__file__).resolve().parent.parent
TINY = tiny(distractors=(0, 1), body="mannequin")
linux_only = pytest.mark.skipif(not parent_death_signal_supported(), reason="PR_SET_PDEATHSIG is Linux-only")

# --- /proc helpers -----------------------------------------------------------------------------------------------

Identity = tuple[int, str]  # pid, start time (a pid may be reused)


def identity(pid: int) -> Identity | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else (pid, fields[19])  # a zombie has ended (PID 1 here may never reap it)


def alive(process: Identity) -> bool:
    return identity(process[0]) == process


def descendants(pid: int) -> list[Identity]:
    """Every live process below ``pid`` (the children of each of its threads, recursively)."""
    found: list[Identity] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            if (process := identity(child)) is not None:
                found += [process, *descendants(child)]
    return found


def wait_until(condition: Callable[[], object], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


def end(processes: list[Identity]) -> None:
    """Clean up after a failed assertion: SIGKILL what a test started and left alive."""
    for process in processes:
        if alive(process):
            os.kill(process[0], signal.SIGKILL)


def helper(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )


def kill(process: subprocess.Popen[Any]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


# --- one home for the CPU count ----------------------------------------------------------------------------------


def test_usable_cpus_follow_slurm_then_affinity():
    affinity = sorted(os.sched_getaffinity(0))
    assert usable_cpus({"SLURM_CPUS_PER_TASK": "3"}) == 3
    assert usable_cpus({}) == usable_cpus({"SLURM_CPUS_PER_TASK": "0"}) == usable_cpus({"SLURM_CPUS_PER_TASK": "x"})
    assert usable_cpus({}) == len(affinity) == len(usable_cpu_ids({}))
    assert usable_cpu_ids({"SLURM_CPUS_PER_TASK": "1"}) == affinity[:1]  # an allocation without CPU binding
    assert usable_cpu_ids({"SLURM_CPUS_PER_TASK": str(len(affinity) + 5)}) == affinity


# --- locks -------------------------------------------------------------------------------------------------------

HOLD_AND_FORK = """
    import os, sys, time
    from pathlib import Path
    from bpgen.run.locks import exclusive_lock

    with exclusive_lock(Path(sys.argv[1]), RuntimeError):
        child = os.fork()
        if child == 0:  # a child that would share a flock (no die-with-parent here)
            time.sleep(120)
            os._exit(0)
        print(os.getpid(), child, flush=True)
        time.sleep(120)
"""


def test_a_lock_is_not_inherited_and_goes_with_its_killed_holder(tmp_path: Path):
    path = tmp_path / layout.MERGE_LOCK
    holder = helper(HOLD_AND_FORK, str(path))
    parent, child = map(int, holder.stdout.readline().split())  # type: ignore[union-attr]
    orphan = identity(child)
    assert orphan is not None
    try:
        assert lock_held(path)
        path.write_text("999999\n")  # a wrong pid in the file: the kernel names the real holder
        with pytest.raises(RuntimeError, match=f"^{parent}$"), exclusive_lock(path, RuntimeError):
            pass
        kill(holder)
        assert alive(orphan)  # the forked child lives on, and does not keep the lock
        assert not lock_held(path)
        with exclusive_lock(path, RuntimeError):
            assert path.read_text() == f"{os.getpid()}\n"
    finally:
        end([orphan])
        holder.wait()


def test_a_lock_held_by_this_process_counts_once(tmp_path: Path):
    path = tmp_path / layout.LOCAL_LOCK
    with exclusive_lock(path, RuntimeError):
        assert lock_held(path) and lock_held(path)  # asking does not drop this process's POSIX lock
        with pytest.raises(RuntimeError, match=f"^{os.getpid()}$"), exclusive_lock(path, RuntimeError):
            pass
        probe = "import sys, pathlib, bpgen.run.locks as l; print(l.lock_held(pathlib.Path(sys.argv[1])))"
        seen = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, cwd=ROOT)
        assert seen.stdout.strip() == "True", seen.stderr
    assert not lock_held(path)


LEGACY_FLOCK = """
    import fcntl, os, sys, time

    handle = open(sys.argv[1], "a+")
    fcntl.flock(handle, fcntl.LOCK_EX)  # how older versions locked: the open file description, shared by fork
    handle.truncate(0)
    handle.write(f"{os.getpid()}\\n")
    handle.flush()
    child = os.fork()
    if child == 0:
        time.sleep(120)
        os._exit(0)
    print(child, flush=True)
"""


def test_an_orphan_holding_an_old_style_flock_is_named(tmp_path: Path):
    import fcntl

    path = tmp_path / layout.MERGE_LOCK
    with open(path, "a+") as live:  # a live flock holder: busy, like before
        fcntl.flock(live, fcntl.LOCK_EX)
        live.write(f"{os.getpid()}\n")
        live.flush()
        assert lock_held(path)
        with pytest.raises(RuntimeError, match=f"^{os.getpid()}$"), exclusive_lock(path, RuntimeError):
            pass
    legacy = helper(LEGACY_FLOCK, str(path))
    orphan = identity(int(legacy.stdout.readline()))  # type: ignore[union-attr]
    legacy.wait()
    assert orphan is not None
    try:
        assert lock_held(path)
        with pytest.raises(StaleLock, match=f"process\\(es\\) {orphan[0]}, left behind by pid {legacy.pid}"):
            with exclusive_lock(path, RuntimeError):
                pass
    finally:
        end([orphan])
    assert wait_until(lambda: not lock_held(path), 5)


# --- children die with their parent ------------------------------------------------------------------------------

POOL = """
    import time
    from bpgen.run.procs import process_pool

    with process_pool(2) as pool:
        for _ in range(2):
            pool.submit(time.sleep, 120)
        print("ready", flush=True)
        time.sleep(120)
"""

POPEN_FROM_A_THREAD = """
    import subprocess, threading, time
    from bpgen.run.procs import die_with_parent_preexec

    def render():
        subprocess.run(["sleep", "120"], preexec_fn=die_with_parent_preexec(), start_new_session=True)

    threading.Thread(target=render, daemon=True).start()
    print("ready", flush=True)
    time.sleep(120)
"""


@linux_only
@pytest.mark.parametrize(("code", "count"), [(POOL, 2), (POPEN_FROM_A_THREAD, 1)], ids=["pool", "popen"])
def test_children_end_with_their_killed_parent(code: str, count: int):
    parent = helper(code)
    assert parent.stdout.readline().strip() == "ready"  # type: ignore[union-attr]
    assert wait_until(lambda: len(descendants(parent.pid)) >= count, 10)
    children = descendants(parent.pid)
    try:
        kill(parent)
        assert wait_until(lambda: not any(alive(c) for c in children), 5), children
    finally:
        end(children)


LAUNCHER = """
    import os, signal, time
    from pathlib import Path

    def rank(local_rank, ready):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # like a rank stuck in a collective: torch's SIGINT is not enough
        Path(ready).write_text(str(os.getpid()))
        time.sleep(120)

    def main(ready):
        import torch.multiprocessing as mp
        from bpgen_train.launch import DieWithLauncher

        mp.start_processes(DieWithLauncher(rank), args=(ready,), nprocs=1, start_method="spawn", join=True)
"""


@linux_only
def test_spawned_training_ranks_end_with_their_killed_launcher(tmp_path: Path):
    pytest.importorskip("torch")
    (tmp_path / "launcher_helper.py").write_text(textwrap.dedent(LAUNCHER))
    ready = tmp_path / "ready"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    launcher = helper("import sys, launcher_helper; launcher_helper.main(sys.argv[1])", str(ready), env=env)
    try:
        assert wait_until(lambda: ready.is_file() and ready.read_text(), 120, 0.2)
        rank = identity(int(ready.read_text()))
        assert rank is not None
        kill(launcher)
        try:
            assert wait_until(lambda: not alive(rank), 5)
        finally:
            end([rank])
    finally:
        if launcher.poll() is None:
            kill(launcher)


def test_die_with_launcher_only_calls_the_function_in_the_launcher_itself():
    before = parent_death_signal()
    assert DieWithLauncher(lambda a, b=0: a + b)(1, b=2) == 3
    assert parent_death_signal() == before


# --- putting a dataset in place, and what an interrupted merge left -----------------------------------------------


INSTANCES = str(layout.instances_file(Path(), "train"))  # annotations/instances_train.json, relative


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def make(directory: Path, content: str) -> Path:
    path = layout.instances_file(directory, "train")
    path.parent.mkdir(parents=True)
    path.write_text(content)
    return directory


@pytest.mark.parametrize("atomic_swap", [True, False], ids=["exchange", "two-renames"])
def test_install_replaces_the_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, atomic_swap: bool):
    if not atomic_swap:  # file systems without renameat2(RENAME_EXCHANGE), e.g. NFS
        monkeypatch.setattr(atomic, "exchange", lambda a, b: False)
    final, tmp, old = layout.dataset_dir(tmp_path), layout.dataset_temp_dir(tmp_path), layout.dataset_old_dir(tmp_path)
    atomic.install_directory(new=make(tmp, "first"), final=final, old=old)
    assert tree(final) == {INSTANCES: "first"}
    atomic.install_directory(new=make(tmp, "second"), final=final, old=old)
    assert tree(final) == {INSTANCES: "second"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [layout.DATASET]


def test_exchange_swaps_two_directories(tmp_path: Path):
    a, b = make(tmp_path / "a", "A"), make(tmp_path / "b", "B")
    if not atomic.exchange(a, b):
        pytest.skip("this file system cannot exchange two paths")
    assert (tree(a), tree(b)) == ({INSTANCES: "B"}, {INSTANCES: "A"})


def test_recovery_puts_back_a_dataset_moved_aside_and_removes_leftovers(tmp_path: Path):
    make(layout.dataset_old_dir(tmp_path), "previous")  # killed between the two renames: no dataset/
    make(layout.dataset_temp_dir(tmp_path), "new, never put in place")
    build.recover_interrupted(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [layout.DATASET]
    assert tree(layout.dataset_dir(tmp_path)) == {INSTANCES: "previous"}
    make(layout.dataset_old_dir(tmp_path), "half removed")  # killed while removing the previous dataset
    build.recover_interrupted(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [layout.DATASET]
    assert tree(layout.dataset_dir(tmp_path)) == {INSTANCES: "previous"}


# --- real renders and merges killed with SIGKILL ------------------------------------------------------------------


def submit_command(*extra: str) -> list[str]:
    shards = ["--shards", "3", "--images-per-shard", "2", "--run", "k"]
    return [sys.executable, "-m", "bpgen.ops.submit", "--local", *shards, *TINY, *extra]


@pytest.fixture(scope="module")
def killed_local_render(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """``2-submit --local`` killed with SIGKILL while its render processes run, then the same command again."""
    root = tmp_path_factory.mktemp("lifetimes")
    env = dict(os.environ, BPGEN_DATA_ROOT=str(root / "runs"), BPGEN_RENDER_CPUS="1")
    run = Run(root / "runs" / "k")
    log = root / "killed_submit.log"
    with open(log, "w") as output:
        first = subprocess.Popen(submit_command(), env=env, stdout=output, stderr=subprocess.STDOUT, text=True)
    renderers: list[Identity] = []

    def rendering() -> bool:
        renderers[:] = descendants(first.pid)
        return bool(renderers) and any(layout.temp_dirs(run.path))

    try:
        assert wait_until(rendering, 120, 0.1), f"no render process came up: {log.read_text()}"
        renderers[:] = descendants(first.pid)
        kill(first)
        gone = wait_until(lambda: not any(alive(r) for r in renderers), 5)
        lock_free = not lock_held(run.local_lock_path)
        done_when_killed = run.done_shards(3)
    finally:
        end(renderers)
        if first.poll() is None:
            kill(first)
    rerun = subprocess.run(submit_command(), env=env, capture_output=True, text=True, timeout=600, check=False)
    return {
        "run": run,
        "renderers": renderers,
        "gone": gone,
        "lock_free": lock_free,
        "done_when_killed": done_when_killed,
        "rerun": rerun,
    }


@pytest.mark.blender
@linux_only
def test_killed_local_render_leaves_no_renderer_and_the_rerun_completes(killed_local_render: dict[str, object]):
    run, rerun = killed_local_render["run"], killed_local_render["rerun"]
    assert isinstance(run, Run) and isinstance(rerun, subprocess.CompletedProcess)
    assert killed_local_render["renderers"]  # the kill landed while shards were rendering
    assert killed_local_render["done_when_killed"] != {0, 1, 2}
    assert killed_local_render["gone"], "render processes outlived the killed 2-submit"
    assert killed_local_render["lock_free"], "the run's local lock outlived the killed 2-submit"
    assert rerun.returncode == 0, rerun.stderr
    assert run.done_shards(3) == {0, 1, 2}
    assert not layout.temp_dirs(run.path)


def snapshot(dataset: Path) -> dict[str, bytes]:
    return {str(p.relative_to(dataset)): p.read_bytes() for p in sorted(dataset.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def merged_run(killed_local_render: dict[str, object]) -> tuple[Path, dict[str, bytes]]:
    """The rendered run with a first, uninterrupted merge, and that dataset's files."""
    run = killed_local_render["run"]
    assert isinstance(run, Run) and run.done_shards(3) == {0, 1, 2}, "the local render did not complete"
    result = merge(run.path)
    assert result.returncode == 0, result.stderr
    return run.path, snapshot(layout.dataset_dir(run.path))


@pytest.mark.blender
@linux_only
@pytest.mark.parametrize(
    "marker",
    [
        layout.IMAGES,  # set up, the pools not started yet
        layout.PARTS,  # the shard workers write images, fragments and BOP chunks
        "plots",  # the figures worker draws while the COCO files are closed (a merge output, not in layout)
        layout.DATASET_STATS,  # the dataset is complete; it is put in place (or the previous one removed) next
    ],
)
def test_merge_killed_at_any_point_leaves_the_previous_dataset_and_a_clean_rerun(
    merged_run: tuple[Path, dict[str, bytes]], marker: str
):
    run_dir, uninterrupted = merged_run
    watched = layout.dataset_temp_dir(run_dir) / marker
    for _attempt in range(4):  # real timing: a merge may pass the point between two looks
        shutil.rmtree(layout.dataset_temp_dir(run_dir), ignore_errors=True)
        main = subprocess.Popen(
            [sys.executable, "-m", "bpgen.merge", str(run_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        while not watched.exists() and main.poll() is None:
            time.sleep(0.001)
        workers = descendants(main.pid)
        if main.poll() is None:
            kill(main)
        main.wait()
        if main.returncode == -signal.SIGKILL:
            break
    else:
        pytest.fail(f"the merge never got killed at {marker}")
    try:
        assert wait_until(lambda: not any(alive(w) for w in workers), 5), f"merge workers outlived it: {workers}"
        assert not lock_held(Run(run_dir).merge_lock_path)
        assert snapshot(layout.dataset_dir(run_dir)) == uninterrupted  # the dataset in place is whole
    finally:
        end(workers)
    result = merge(run_dir)
    assert result.returncode == 0, result.stderr
    assert snapshot(layout.dataset_dir(run_dir)) == uninterrupted
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith(f".{layout.DATASET}")) == []


@pytest.mark.blender
def test_merge_after_a_kill_between_the_two_renames_puts_the_previous_dataset_back(
    merged_run: tuple[Path, dict[str, bytes]],
):
    """Where the directories cannot be exchanged, a kill between ``dataset -> .dataset.old`` and
    ``.dataset.tmp -> dataset`` leaves no dataset/: the next merge puts the previous one back, then merges."""
    run_dir, uninterrupted = merged_run
    layout.dataset_dir(run_dir).rename(layout.dataset_old_dir(run_dir))
    make(layout.dataset_temp_dir(run_dir), "a complete new dataset, never put in place")
    result = merge(run_dir)
    assert result.returncode == 0, result.stderr
    assert "put back" in result.stderr
    assert snapshot(layout.dataset_dir(run_dir)) == uninterrupted
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith(f".{layout.DATASET}")) == []
