"""bench/gpu_check.py on a machine without a GPU (this one, CI): it refuses in one line, exit status 2, and writes
nothing; --help and --dry-run work without a GPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

SCRIPT = ROOT / "bench" / "gpu_check.py"


def gpu_check(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT), "--output", str(tmp_path / "results.json"), *args]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path / "tmp"), "CUDA_VISIBLE_DEVICES": ""}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300, check=False)


def assert_refused(result: subprocess.CompletedProcess[str], tmp_path: Path, *reasons: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and any(reason in lines[0] for reason in reasons), lines[0]
    assert not (tmp_path / "results.json").exists() and not list((tmp_path / "tmp").iterdir())


def test_help_works(tmp_path):
    result = gpu_check("--help", tmp_path=tmp_path)
    assert result.returncode == 0 and "--only" in result.stdout and "--dataset" in result.stdout, result.stderr


def test_the_dry_run_prints_the_commands_and_writes_nothing(tmp_path):
    result = gpu_check("--dry-run", "--work", str(tmp_path / "work"), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    commands = result.stdout.strip().splitlines()
    renders = [c for c in commands if "-m bpgen.render" in c]
    assert len(renders) == 6 and sum("device=cpu" in c for c in renders) == 2  # CPU, OptiX, CUDA x 2 presets
    assert "-m bpgen.merge" in commands[-2] and "-m bpgen_train.train_net" in commands[-1]
    assert not (tmp_path / "work").exists() and not (tmp_path / "results.json").exists()


@pytest.mark.parametrize("mode", [[], ["--only", "detectron2"]])
def test_without_a_cuda_device_it_refuses_in_one_line_and_writes_nothing(tmp_path, mode):
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    (dataset / "stats.json").write_text("{}")
    result = gpu_check(*mode, "--dataset", str(dataset), tmp_path=tmp_path)
    assert_refused(result, tmp_path, "no CUDA device visible to torch", "torch is not importable")


def test_detectron2_alone_needs_a_dataset(tmp_path):
    assert_refused(gpu_check("--only", "detectron2", tmp_path=tmp_path), tmp_path, "give --dataset DIR")


@pytest.mark.blender
def test_without_a_gpu_cycles_device_the_render_part_refuses_in_one_line(tmp_path):
    result = gpu_check("--only", "render", tmp_path=tmp_path)
    assert_refused(result, tmp_path, "no GPU Cycles device: Cycles found only ['CPU']")
