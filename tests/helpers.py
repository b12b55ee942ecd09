"""Helpers shared by the test modules (``from helpers import ...``; fixtures live in conftest.py): tiny render
overrides, the command lines of the render, merge and submit entry points and of Blender probes, a shard's
annotations and frame records, and the checks that a bad value is a one-line error and that two scene plans hold
the same people and cameras."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bpgen.run import layout
from bpgen.validate import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def override(key: str, value: object) -> str:
    """``key=value`` as Hydra reads it: a pair as ``[a,b]``, booleans as ``true``/``false``, None as ``null``."""
    if isinstance(value, list | tuple):
        text = "[" + ",".join(str(v) for v in value) + "]"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    else:
        text = str(value)
    return f"{key}={text}"


def tiny(
    resolution: tuple[int, int] = (64, 48),
    samples: int = 4,
    denoiser: str = "none",
    distractors: tuple[int, int] | None = None,
    people: tuple[int, int] | None = None,
    **keys: object,
) -> list[str]:
    """Overrides of a tiny, fast render: ``resolution``, ``samples``, ``denoiser``, then ``scene.distractors`` and
    ``mode.people`` when given, then the other top-level ``keys`` in their order (``body="mannequin"``,
    ``frames_per_scene=2``, ``write_depth=True``)."""
    values: dict[str, object] = {"resolution": resolution, "samples": samples, "denoiser": denoiser}
    if distractors is not None:
        values["scene.distractors"] = distractors
    if people is not None:
        values["mode.people"] = people
    return [override(key, value) for key, value in (values | keys).items()]


def run_module(
    module: str, *args: str, env: dict[str, str] | None = None, timeout: float | None = 600
) -> subprocess.CompletedProcess[str]:
    """``python -m MODULE ARGS`` with this interpreter from the checkout, output captured; the caller checks the
    exit status."""
    command = [sys.executable, "-m", module, *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=timeout, check=False)


def render_args(run_dir: Path, shard: int, images: int, *overrides: str) -> list[str]:
    """The render CLI's arguments: ``--run-dir RUN --shard K --images N OVERRIDES``."""
    return ["--run-dir", str(run_dir), "--shard", str(shard), "--images", str(images), *overrides]


def render_command(run_dir: Path, shard: int, images: int, *overrides: str) -> list[str]:
    """``python -m bpgen.render`` with ``render_args`` and this interpreter."""
    return [sys.executable, "-m", "bpgen.render", *render_args(run_dir, shard, images, *overrides)]


def run_render(
    run_dir: Path,
    shard: int,
    images: int,
    *overrides: str,
    env: dict[str, str] | None = None,
    timeout: float | None = 600,
) -> subprocess.CompletedProcess[str]:
    """The render CLI (``run_module``) rendering shard ``shard`` of ``images`` images into ``run_dir``."""
    return run_module("bpgen.render", *render_args(run_dir, shard, images, *overrides), env=env, timeout=timeout)


def kill_after_first_scene(process: subprocess.Popen, run_dir: Path, shard: int) -> None:
    """SIGKILL a rendering shard's process group once its first scene is checkpointed."""
    checkpoint = layout.scene_checkpoint(layout.temp_dir(run_dir, shard), 0)
    deadline = time.time() + 300
    while not checkpoint.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert checkpoint.exists(), "the first scene never finished"


def blender_probe(code: str, log: Path, *args: str) -> Any:
    """Run ``code`` (a script that drives Blender, its Blender output sent to $PROBE_LOG) with ``args`` in a fresh
    interpreter; the JSON of the last line it prints."""
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "PROBE_LOG": str(log)},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def submit_local(data_root: Path, run: str, shards: int, images: int, *overrides: str, timeout: float = 600) -> Path:
    """``./2-submit --local`` of a new run under ``data_root`` (one CPU per shard); the run's directory."""
    env = dict(os.environ, BPGEN_DATA_ROOT=str(data_root), BPGEN_RENDER_CPUS="1")
    command = [str(ROOT / "2-submit"), "--local", "--shards", str(shards), "--images-per-shard", str(images)]
    result = subprocess.run(
        [*command, "--run", run, *overrides], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    assert result.returncode == 0, result.stderr
    return data_root / run


def merge(run_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m bpgen.merge RUN ARGS``; its output is printed, so a failing test shows it."""
    result = run_module("bpgen.merge", str(run_dir), *args, timeout=300)
    print(result.stdout, result.stderr)
    return result


def stage_log(logs_dir: Path, stage: str, job: int | str) -> Path:
    """The log of merge or train job ``job`` (``layout.stage_log_pattern`` as Slurm fills it in)."""
    return Path(layout.stage_log_pattern(logs_dir, stage).replace("%j", str(job)))


def load(path: Path) -> Any:
    """A JSON file's content."""
    return json.loads(path.read_text())


def coco_of(shard: Path, *without: str) -> dict[str, Any]:
    """A shard's coco.json without the top-level keys ``without`` (``"info"`` holds dates and versions)."""
    return {key: value for key, value in load(shard / layout.COCO).items() if key not in without}


def frames_of(shard: Path) -> list[dict[str, Any]]:
    """A shard's frames.jsonl: one record a frame."""
    return [json.loads(line) for line in (shard / layout.FRAMES).read_text().splitlines()]


def assert_same_people_and_cameras(a: Any, b: Any) -> None:
    """Two scene plans (``bpgen.scene.plan.ScenePlan``) hold the same posed people and the same cameras."""
    for person_a, person_b in zip(a.people, b.people, strict=True):
        assert np.array_equal(person_a.posed.vertices, person_b.posed.vertices)
    for frame_a, frame_b in zip(a.frames, b.frames, strict=True):
        assert np.array_equal(frame_a.camera.cam2world, frame_b.camera.cam2world)


def assert_one_line_error(
    compose: Callable[[list[str]], object], overrides: Sequence[str], message: str, error: type[Exception] = ConfigError
) -> str:
    """``compose(overrides)`` raises ``error`` with ``message`` in a one-line text; returns the text."""
    with pytest.raises(error) as raised:
        compose(list(overrides))
    text = str(raised.value)
    assert message in text and "\n" not in text, text
    return text
