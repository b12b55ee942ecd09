"""GPU check of a cluster node: Cycles OptiX/CUDA renders against the CPU's, and a short Detectron2 training.

  python bench/gpu_check.py [--output FILE] [--only render|detectron2] [--dataset DIR] [--cpu-reference DIR]
  python bench/gpu_check.py --make-cpu-reference DIR        # the CPU renders alone (no GPU), to carry to a node
  python bench/gpu_check.py --dry-run                       # print the commands it would run, write nothing

Unattended, under ~10 minutes on a GPU node, one results JSON (written atomically, default
bench/out/gpu_check.json):

- **render**: one fixed shard (shard 0, seed 0, ``--images`` 4, 2 frames per scene, 640x480, PNG) rendered
  with ``device=optix`` and ``device=cuda`` at the ``standard`` and ``high`` quality presets: s/image (wall and
  Cycles render) per device and preset, and the PSNR of each GPU image against the CPU render of the same frame
  (rendered here too, or read from ``--cpu-reference DIR``, what ``--make-cpu-reference DIR`` writes), and
  whether the labels (coco.json) are the same.
- **detectron2**: mask_rcnn_R_50_FPN from scratch on the GPU for ``--iters`` iterations at ``--batch``
  (bench/bench_train.py's command and reading of metrics.json): it/s, images/s, data_time share. On a merged
  dataset given as ``--dataset DIR`` (RUN/dataset), else on the optix/standard shard merged here. With
  ``--only detectron2`` it imports neither Blender nor BlenderProc (nor any of bpgen beyond what bpgen_train
  needs: hydra-core, omegaconf, pyyaml, numpy), so it runs on a machine with torch and Detectron2 only.

Without a GPU (no CUDA device visible to torch; for the render part no OptiX or CUDA device in Cycles) it
refuses in one ``error:`` line on stderr, exit status 2, and writes nothing. A failing step is recorded in the
results (``error``), exit status 1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))  # bench_train, also when imported by file path

from bench_train import throughput, train_command  # noqa: E402

DEFAULT_OUTPUT = ROOT / "bench" / "out" / "gpu_check.json"
GPU_DEVICES = ("optix", "cuda")
PRESETS = ("standard", "high")
SHARD = 0
RESOLUTION = (640, 480)
TRAIN_CONFIG = "mask_rcnn_R_50_FPN"
PROBE_CYCLES = (
    "import json, os, sys\n"
    "os.dup2(os.open(os.devnull, os.O_WRONLY), 1)\n"  # Blender's start-up prints go nowhere
    "from bpgen.blender import bproc_adapter\n"
    "from bpgen.blender.scene import available_devices\n"
    "bproc_adapter.load_blenderproc()\n"
    "print(json.dumps(available_devices()), file=sys.stderr, flush=True)\n"
    "from bpgen.render.cli import exit_now\n"
    "exit_now(0)\n"  # bpy may crash while Python unloads it
)


class Refusal(Exception):
    """The machine cannot run the check (no GPU, missing package): one line, exit status 2, nothing written."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python bench/gpu_check.py",
        description=__doc__.splitlines()[0],
        epilog="Results: bench/README.md, 'GPU check'.",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"results JSON (default {DEFAULT_OUTPUT})")
    parser.add_argument("--only", choices=("render", "detectron2"), help="run one part only")
    parser.add_argument("--images", type=int, default=4, help="images of the rendered shard (default 4)")
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), help="quality presets (default standard high)")
    parser.add_argument("--devices", nargs="+", default=list(GPU_DEVICES), choices=GPU_DEVICES)
    parser.add_argument("--cpu-reference", type=Path, help="CPU renders written by --make-cpu-reference")
    parser.add_argument("--make-cpu-reference", type=Path, metavar="DIR", help="render the CPU references only")
    parser.add_argument("--dataset", type=Path, help="merged dataset directory (RUN/dataset) to train on")
    parser.add_argument("--iters", type=int, default=100, help="training iterations (default 100)")
    parser.add_argument("--batch", type=int, default=16, help="images per training batch (default 16)")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="data loader workers")
    parser.add_argument("--work", type=Path, help="keep the renders and the training here (default: a temp dir)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, run and write nothing")
    args = parser.parse_args(argv)
    if args.images < 1 or args.iters < 1 or args.batch < 1:
        parser.error("--images, --iters and --batch must be >= 1")
    return args


def render_overrides(preset: str, device: str) -> list[str]:
    width, height = RESOLUTION
    return [f"quality={preset}", f"device={device}", f"resolution=[{width},{height}]", "frames_per_scene=2",
            "image_format=png", "seed=0"]  # fmt: skip


def render_command(run_dir: Path, images: int, preset: str, device: str) -> list[str]:
    return [sys.executable, "-m", "bpgen.render", "--run-dir", str(run_dir), "--shard", str(SHARD),
            "--images", str(images), *render_overrides(preset, device)]  # fmt: skip


def shard_of(run_dir: Path) -> Path:
    return run_dir / "shards" / f"shard_{SHARD:06d}"


def merge_command(run_dir: Path) -> list[str]:
    return [sys.executable, "-m", "bpgen.merge", str(run_dir), "split.val_ratio=0"]


def child_env() -> dict[str, str]:
    """The checkout on the children's path (a node may run it uninstalled)."""
    path = os.environ.get("PYTHONPATH", "")
    return dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{path}" if path else str(ROOT))


# --- what the machine has --------------------------------------------------------------------------------------
def torch_cuda() -> dict[str, Any]:
    """torch's CUDA devices; Refusal when torch or Detectron2 is missing or no CUDA device is visible."""
    try:
        import torch
    except ImportError as exc:
        raise Refusal(f"torch is not importable ({exc}); install it (./0-setup --train) or run --only render") from None
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if not torch.cuda.is_available() or torch.cuda.device_count() == 0:
        raise Refusal(
            f"no CUDA device visible to torch {torch.__version__} (CUDA_VISIBLE_DEVICES="
            f"{'unset' if visible is None else repr(visible)}); run it on a GPU node (e.g. srun --gres=gpu:1)"
        )
    import importlib.util

    if importlib.util.find_spec("detectron2") is None:
        raise Refusal("Detectron2 is not importable; install it (./0-setup --train, README 'Installing Detectron2')")
    return {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
    }


def cycles_devices(wanted: list[str]) -> dict[str, list[str]]:
    """Cycles' compute devices (probed in a child process: this one never imports Blender); Refusal when none of
    ``wanted`` (optix, cuda) is there."""
    with tempfile.TemporaryDirectory(prefix="bpgen_gpu_probe_") as tmp:  # Blender leaves its temp dir behind
        env = child_env() | {"TMPDIR": tmp}
        command = [sys.executable, "-c", PROBE_CYCLES]
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    lines = result.stderr.strip().splitlines()
    if result.returncode != 0 or not lines:
        last = lines[-1] if lines else f"exit status {result.returncode}"
        raise Refusal(f"cannot start Blender to look for GPUs ({last}); run ./0-setup, or --only detectron2")
    found = json.loads(lines[-1])
    if not any(device.upper() in found for device in wanted):
        raise Refusal(
            f"no GPU Cycles device: Cycles found only {sorted(found)}, not {'/'.join(d.upper() for d in wanted)}; "
            "run it on a GPU node (e.g. srun --gres=gpu:1), or --only detectron2"
        )
    return found


# --- steps -----------------------------------------------------------------------------------------------------
def run_step(command: list[str], log: Path) -> float:
    """Run ``command`` with its output in ``log``; its wall seconds. RuntimeError with the log's tail on failure."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(log, "w") as out:
        status = subprocess.run(command, cwd=ROOT, env=child_env(), stdout=out, stderr=subprocess.STDOUT).returncode
    if status != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise RuntimeError(f"{' '.join(command[1:4])}... exit status {status}: {' | '.join(tail)}")
    return time.perf_counter() - started


def psnr(a: Any, b: Any) -> float:
    import numpy as np

    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def compare(shard: Path, reference: Path) -> dict[str, Any]:
    """PSNR (dB) of each image of ``shard`` against the same frame of ``reference``; labels the same or not."""
    import cv2

    values = []
    for image in sorted((reference / "images").iterdir()):
        ours, theirs = cv2.imread(str(shard / "images" / image.name)), cv2.imread(str(image))
        values.append(psnr(ours, theirs))
    finite = [round(v, 2) for v in values if math.isfinite(v)]
    coco = [
        {k: v for k, v in json.loads((d / "coco.json").read_text()).items() if k != "info"} for d in (shard, reference)
    ]
    return {
        "psnr_db": finite,  # of the images that differ
        "psnr_db_mean": round(sum(finite) / len(finite), 2) if finite else None,
        "psnr_db_min": min(finite) if finite else None,
        "identical_images": len(values) - len(finite),
        "labels_identical": coco[0] == coco[1],
    }


def shard_times(shard: Path, images: int, wall: float) -> dict[str, Any]:
    done = json.loads((shard / "DONE.json").read_text())
    return {
        "device": done["host"]["render_device"],
        "s_per_image_wall": round(wall / images, 3),
        "s_per_image_render": round(done["seconds"]["render"] / images, 3),
        "wall_seconds": round(wall, 1),
    }


def same_config(a: Path, b: Path) -> bool:
    """Two shards' config.yaml agree apart from their device."""
    texts = [[line for line in (s / "config.yaml").read_text().splitlines() if not line.startswith("device:")]
             for s in (a, b)]  # fmt: skip
    return texts[0] == texts[1]


def render_part(args: argparse.Namespace, work: Path, found: dict[str, list[str]], results: dict[str, Any]) -> None:
    devices = [d for d in args.devices if d.upper() in found]
    part: dict[str, Any] = {
        "images": args.images,
        "overrides": render_overrides("<preset>", "<device>"),
        "cycles_devices": found,
        "skipped_devices": [d for d in args.devices if d not in devices],
        "presets": {},
    }
    results["render"] = part
    for preset in args.presets:
        row: dict[str, Any] = {}
        part["presets"][preset] = row
        if args.cpu_reference is not None:
            reference = shard_of(args.cpu_reference / preset)
        else:
            run_dir = work / preset / "cpu"
            wall = run_step(render_command(run_dir, args.images, preset, "cpu"), work / "logs" / f"{preset}_cpu.log")
            reference = shard_of(run_dir)
            row["cpu"] = shard_times(reference, args.images, wall)
        for device in devices:
            run_dir = work / preset / device
            log = work / "logs" / f"{preset}_{device}.log"
            wall = run_step(render_command(run_dir, args.images, preset, device), log)
            shard = shard_of(run_dir)
            if not same_config(shard, reference):
                raise RuntimeError(f"the CPU reference {reference} was rendered with another config")
            row[device] = shard_times(shard, args.images, wall) | compare(shard, reference)
            write_results(args.output, results)  # what is measured so far


def detectron2_part(args: argparse.Namespace, work: Path, gpu: dict[str, Any], results: dict[str, Any]) -> None:
    part: dict[str, Any] = {"config": TRAIN_CONFIG, "batch": args.batch, "iterations": args.iters} | gpu
    results["detectron2"] = part
    dataset = args.dataset
    if dataset is None:  # the first GPU shard rendered above, merged
        first = results["render"]["presets"][args.presets[0]]
        run_dir = work / args.presets[0] / next(d for d in GPU_DEVICES if d in first)
        run_step(merge_command(run_dir), work / "logs" / "merge.log")
        dataset = run_dir / "dataset"
    part["dataset"] = str(dataset)
    output = work / "train"
    command = train_command(
        TRAIN_CONFIG, [f"dataset={Path(dataset).resolve()}"], output, "cuda", args.batch, args.iters, args.workers,
        work / "no-weights",
    )  # fmt: skip
    part["wall_seconds"] = round(run_step(command, work / "logs" / "train.log"), 1)
    part |= {key: round(value, 4) for key, value in throughput(output / "metrics.json", args.batch).items()}


def write_results(path: Path, results: dict[str, Any]) -> None:
    """Atomically: a temp file in the same directory, renamed over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w") as out:
        json.dump(results, out, indent=2)
        out.write("\n")
    os.replace(tmp, path)


def plan(args: argparse.Namespace, work: Path) -> list[list[str]]:
    """The commands the check runs, in order (``--dry-run`` prints them)."""
    commands = []
    if args.make_cpu_reference is not None:
        return [render_command(args.make_cpu_reference / p, args.images, p, "cpu") for p in args.presets]
    if args.only != "detectron2":
        for preset in args.presets:
            if args.cpu_reference is None:
                commands.append(render_command(work / preset / "cpu", args.images, preset, "cpu"))
            commands += [render_command(work / preset / d, args.images, preset, d) for d in args.devices]
    if args.only != "render":
        dataset = args.dataset
        if dataset is None:
            commands.append(merge_command(work / args.presets[0] / args.devices[0]))
            dataset = work / args.presets[0] / args.devices[0] / "dataset"
        commands.append(
            train_command(TRAIN_CONFIG, [f"dataset={dataset}"], work / "train", "cuda", args.batch, args.iters,
                          args.workers, work / "no-weights")
        )  # fmt: skip
    return commands


def check_inputs(args: argparse.Namespace) -> None:
    if args.only == "detectron2" and args.dataset is None:
        raise Refusal("--only detectron2 trains on a merged dataset: give --dataset DIR (a run's RUN/dataset)")
    if args.dataset is not None and not (args.dataset / "stats.json").is_file():
        raise Refusal(f"{args.dataset} is not a merged bpgen dataset (no stats.json); give RUN/dataset")
    if args.cpu_reference is not None:
        missing = [p for p in args.presets if not (shard_of(args.cpu_reference / p) / "DONE.json").is_file()]
        if missing:
            raise Refusal(
                f"{args.cpu_reference} has no DONE CPU render of {missing}; make it with --make-cpu-reference DIR"
            )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = args.work or Path(tempfile.gettempdir()) / "bpgen_gpu_check.<temp>"
    if args.dry_run:
        for command in plan(args, work):
            print(" ".join(command))
        return 0
    started = time.perf_counter()
    try:
        check_inputs(args)
        gpu = found = None
        if args.make_cpu_reference is None:
            if args.only != "render":
                gpu = torch_cuda()
            if args.only != "detectron2":
                found = cycles_devices(args.devices)
    except Refusal as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.make_cpu_reference is not None:
        for preset in args.presets:
            command = render_command(args.make_cpu_reference / preset, args.images, preset, "cpu")
            run_step(command, args.make_cpu_reference / "logs" / f"{preset}_cpu.log")
        print(f"CPU references in {args.make_cpu_reference}; pass --cpu-reference {args.make_cpu_reference}")
        return 0
    keep = args.work is not None
    work = args.work or Path(tempfile.mkdtemp(prefix="bpgen_gpu_check_", dir=os.environ.get("BPGEN_SCRATCH")))
    results: dict[str, Any] = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {"hostname": platform.node(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "command": sys.argv,
    }
    status = 0
    try:
        if found is not None:
            render_part(args, work, found, results)
        if gpu is not None:
            detectron2_part(args, work, gpu, results)
    except (RuntimeError, OSError, ValueError, KeyError) as exc:
        results["error"] = str(exc)
        print(f"error: {exc}", file=sys.stderr)
        status = 1
    finally:
        results["seconds"] = round(time.perf_counter() - started, 1)
        if keep:
            results["work"] = str(work)
        else:
            shutil.rmtree(work, ignore_errors=True)
        write_results(args.output, results)
    print(f"results in {args.output}")
    return status


if __name__ == "__main__":
    sys.exit(main())
