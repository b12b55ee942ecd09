"""Train stage with Detectron2 (skipped with the reason when it is not importable): cpu_smoke on a tiny rendered
and merged run trains with finite losses, resumes after a kill and after SIGUSR1, evaluates (bbox, segm,
keypoints AP), infers overlays and exports TorchScript."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, merge, submit_local, tiny

from bpgen.run import layout

TINY = tiny(resolution=(96, 72), distractors=(0, 1), people=(1, 2))
pytestmark = [pytest.mark.detectron2, pytest.mark.blender, pytest.mark.slow]


@pytest.fixture(scope="module")
def merged_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = submit_local(tmp_path_factory.mktemp("train"), "t", 2, 6, *TINY, timeout=900)
    assert merge(run, "split.val_ratio=0.5").returncode == 0
    return run


def train_command(run: Path, *overrides: str) -> list[str]:
    return ["bash", str(ROOT / "jobs" / "train.sbatch"), str(run), "--config-name", "cpu_smoke", *overrides]


# jobs/train.sbatch runs the venv of environment.sh: make it the one running these tests (which has Detectron2)
os.environ["BPGEN_VENV"] = sys.prefix


def metrics(output: Path) -> list[dict]:
    return [json.loads(line) for line in (output / "metrics.json").read_text().splitlines() if line.strip()]


def wait_for(path: Path, process: subprocess.Popen, timeout: float, text: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and text in path.read_text()):
        assert process.poll() is None, f"training ended before {path.name} appeared"
        assert time.monotonic() < deadline, f"no {path.name} after {timeout} s"
        time.sleep(0.2)


def test_cpu_smoke_trains_resumes_after_a_kill_and_evaluates(merged_run: Path):
    output = layout.train_output_dir(merged_run, "cpu_smoke")
    process = subprocess.Popen(
        train_command(merged_run), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    wait_for(output / "last_checkpoint", process, 600, "model_0000009.pth")  # written after the checkpoint itself
    os.killpg(process.pid, signal.SIGKILL)  # the whole job, as Slurm kills it
    process.wait()
    assert not (output / "model_final.pth").exists()
    before = metrics(output)
    log_size = (output / "log.txt").stat().st_size
    result = subprocess.run(train_command(merged_run), capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    restart_log = (output / "log.txt").read_bytes()[log_size:].decode("utf-8", "replace")
    assert f"Loading from {output / 'model_0000009.pth'}" in restart_log
    after = metrics(output)[len(before) :]
    training = [m for m in after if "total_loss" in m]
    assert training and min(m["iteration"] for m in training) >= 10  # resumed at the checkpoint's iteration
    assert max(m["iteration"] for m in training) == 19
    assert all(math.isfinite(m["total_loss"]) for m in metrics(output) if "total_loss" in m)
    final = metrics(output)[-1]
    for key in ("bbox/AP", "segm/AP", "keypoints/AP"):
        assert isinstance(final.get(key), float), f"{key} missing from metrics.json: {sorted(final)}"
    assert (output / "model_final.pth").is_file() and (output / "config.yaml").is_file()  # Detectron2's files
    assert (output / "bpgen_train.yaml").is_file() and list(output.glob("events.out.tfevents.*"))


def test_usr1_checkpoints_stops_and_the_next_start_continues(merged_run: Path):
    """What Slurm's --signal=USR1@300 does before the time limit (sent to the step's processes: train_net)."""
    output = layout.train_output_dir(merged_run, "signal")
    command = [sys.executable, "-m", "bpgen_train.train_net", "--config-name", "cpu_smoke", "--run", str(merged_run)]
    command += [f"output_dir={output}", "solver.max_iter=30", "solver.checkpoint_period=100"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    log = output / "log.txt"
    deadline = time.monotonic() + 600
    while not (log.is_file() and "Starting training from iteration" in log.read_text()):
        assert process.poll() is None and time.monotonic() < deadline, "training did not start"
        time.sleep(0.2)
    time.sleep(3)
    process.send_signal(signal.SIGUSR1)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 3, stderr[-3000:]
    stopped = int((output / "STOPPED_BY_SIGNAL").read_text())
    assert (output / f"model_{stopped:07d}.pth").is_file() and stopped < 29
    log_size = (output / "log.txt").stat().st_size
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        f"Loading from {output / f'model_{stopped:07d}.pth'}" in (output / "log.txt").read_bytes()[log_size:].decode()
    )
    assert (output / "model_final.pth").is_file() and not (output / "STOPPED_BY_SIGNAL").exists()


def test_inference_overlays_and_torchscript_export(merged_run: Path, tmp_path: Path):
    output = layout.train_output_dir(merged_run, "cpu_smoke")
    if not (output / "model_final.pth").is_file():
        subprocess.run(train_command(merged_run), capture_output=True, timeout=900, check=True)
    images = layout.dataset_images_dir(layout.dataset_dir(merged_run), "val")
    infer = [
        sys.executable,
        "-m",
        "bpgen_train.infer",
        "--weights",
        str(output / "model_final.pth"),
        "--input",
        str(images),
    ]
    result = subprocess.run([*infer, "--output", str(tmp_path / "infer")], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list((tmp_path / "infer" / "overlays").glob("*.png"))) == len(list(images.iterdir()))
    detections = json.loads((tmp_path / "infer" / "results.json").read_text())
    assert all({"image_id", "bbox", "score", "category_id"} <= set(d) for d in detections)
    export = [sys.executable, "-m", "bpgen_train.export", "--weights", str(output / "model_final.pth")]
    result = subprocess.run([*export, "--output", str(tmp_path / "ts")], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    import torch
    import torchvision  # noqa: F401  (registers the nms op the traced model calls)

    model = torch.jit.load(str(tmp_path / "ts" / "model.ts"))
    outputs = model(torch.zeros(3, 72, 96))
    assert isinstance(outputs, tuple | list) and len(outputs) >= 3


def test_clear_errors_for_missing_weights_and_missing_gpu(merged_run: Path, tmp_path: Path):
    command = [sys.executable, "-m", "bpgen_train.train_net", "--run", str(merged_run), "--weights-dir", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "model.weights=scratch" in result.stderr
    (tmp_path / "R-50.pkl").write_bytes(b"not really")
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    import torch

    if not torch.cuda.is_available():
        assert result.returncode == 2 and "device=cpu" in result.stderr
    missing = [
        sys.executable,
        "-m",
        "bpgen_train.train_net",
        "--run",
        str(tmp_path / "none"),
        "--config-name",
        "cpu_smoke",
    ]
    result = subprocess.run(missing, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "merge the run first" in result.stderr
