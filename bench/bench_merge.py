"""Merge at scale: bpgen.merge vs. a load-everything baseline, side by side on one fabricated run.

  python bench/bench_merge.py [--images 200000] [--annotations-per-image 5] [--shards 64] [--workdir DIR]

Fabricates a rendered-looking run without rendering: per shard a DONE.json, config.yaml, coco.json (RLE masks of
640x480 person-like blobs, 17 keypoints), frames.jsonl (per person the fields the renderer writes: pose, joints,
keypoints in 3D and 2D, amodal RLE, boxes, pixel counts) and images (hardlinks of one JPEG). Then runs, each as
its own process, the baseline (bench/baseline_merge.py: the approach of BlenderProc's merge_coco_annotations) and
``python -m bpgen.merge RUN bop.enabled=false`` (the baseline writes no BOP either), measuring wall time and the
peak resident memory of the whole process tree (sampled from /proc every 100 ms). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import orjson
from pycocotools import mask as mask_utils

from bpgen.geometry.keypoints import PERSON_CATEGORY

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 640, 480


def mask_pool(rng: np.random.Generator, size: int = 256) -> list[tuple[dict, int, list[float], dict]]:
    """(visible RLE, area, bbox, amodal RLE) of person-like blobs: a torso ellipse with limbs, partly cut."""
    pool = []
    for _ in range(size):
        mask = np.zeros((HEIGHT, WIDTH), np.uint8)
        cx, cy = int(rng.integers(40, WIDTH - 40)), int(rng.integers(40, HEIGHT - 40))
        scale = float(rng.uniform(0.2, 1.5))
        cv2.ellipse(mask, (cx, cy), (int(25 * scale), int(60 * scale)), float(rng.uniform(0, 180)), 0, 360, 1, -1)
        for _ in range(4):
            end = (cx + int(rng.normal(0, 70 * scale)), cy + int(rng.normal(0, 70 * scale)))
            cv2.line(mask, (cx, cy), end, 1, max(2, int(10 * scale)))
        amodal = mask_utils.encode(np.asfortranarray(mask))
        cut = mask.copy()
        cut[:, : int(rng.integers(0, WIDTH // 3))] = 0  # occluded on one side
        if cut.sum() == 0:
            cut = mask
        visible = mask_utils.encode(np.asfortranarray(cut))
        pool.append(
            (
                {"size": [HEIGHT, WIDTH], "counts": visible["counts"].decode()},
                int(mask_utils.area(visible)),
                [float(v) for v in mask_utils.toBbox(visible)],
                {"size": [HEIGHT, WIDTH], "counts": amodal["counts"].decode()},
            )
        )
    return pool


def fabricate(run_dir: Path, images: int, per_image: int, shards: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    pool = mask_pool(rng)
    jpeg = run_dir / "one.jpg"
    run_dir.mkdir(parents=True)
    cv2.imwrite(str(jpeg), rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8))
    config = "# bpgen shard config: fabricated\nresolution:\n- 640\n- 480\nseed: 0\n"
    (run_dir / "config.yaml").write_text(config)
    (run_dir / "run.yaml").write_text(f"name: bench\nshards: {shards}\nimages_per_shard: {images // shards}\n")
    per_shard = np.full(shards, images // shards)
    per_shard[: images % shards] += 1
    for shard, count in enumerate(per_shard):
        directory = run_dir / "shards" / f"shard_{shard:06d}"
        (directory / "images").mkdir(parents=True)
        source = directory / "source.jpg"  # one file per shard: ext4 allows 65000 links per inode
        shutil.copyfile(jpeg, source)
        (directory / "config.yaml").write_text(config)
        coco_images, coco_annotations, frames = [], [], []
        for frame in range(int(count)):
            image_id = frame + 1
            name = f"images/{frame:06d}.jpg"
            os.link(source, directory / name)
            coco_images.append(
                {
                    "file_name": name,
                    "width": WIDTH,
                    "height": HEIGHT,
                    "scene": frame // 8,
                    "viewpoint": "default",
                    "mode": "pose",
                    "id": image_id,
                }
            )
            persons = []
            for person in range(per_image):
                visible, area, bbox, amodal = pool[int(rng.integers(len(pool)))]
                keypoints = np.column_stack(
                    [rng.uniform(0, WIDTH, 17).round(2), rng.uniform(0, HEIGHT, 17).round(2), rng.integers(0, 3, 17)]
                )
                keypoints[keypoints[:, 2] == 0, :2] = 0
                extremeness = round(float(rng.random()), 4)
                annotation_id = len(coco_annotations) + 1
                coco_annotations.append(
                    {
                        "area": area,
                        "bbox": bbox,
                        "iscrowd": 0,
                        "category_id": 1,
                        "segmentation": visible,
                        "keypoints": [float(v) if i % 3 < 2 else int(v) for i, v in enumerate(keypoints.ravel())],
                        "num_keypoints": int((keypoints[:, 2] > 0).sum()),
                        "extremeness": extremeness,
                        "person_index": person,
                        "id": annotation_id,
                        "image_id": image_id,
                    }
                )
                persons.append(
                    {
                        "name": f"person_{person:02d}",
                        "strategy": "bridge",
                        "orientation": "support",
                        "extremeness": extremeness,
                        "inversion_deg": 44.1,
                        "shape": rng.normal(size=10).round(5).tolist(),
                        "body_pose": rng.normal(size=(21, 3)).round(5).tolist(),
                        "rotation_world": [0.1, 0.2, 0.3],
                        "translation_world": [1.0, 2.0, 0.0],
                        "cam_R_m2c": np.eye(3).tolist(),
                        "cam_t_m2c": [10.0, 20.0, 3000.0],
                        "joints_cam": rng.normal(size=(22, 3)).round(5).tolist(),
                        "joint_names": [f"j{i}" for i in range(22)],
                        "keypoints_cam": rng.normal(size=(17, 3)).round(5).tolist(),
                        "keypoints_2d": keypoints[:, :2].tolist(),
                        "keypoints_visibility": keypoints[:, 2].astype(int).tolist(),
                        "segmentation_amodal": amodal,
                        "bbox_obj": bbox,
                        "bbox_visib": bbox,
                        "px_count_all": area + 50,
                        "px_count_visib": area,
                        "visib_fract": round(area / (area + 50), 4),
                        "truncation": round(float(rng.random() * 0.3), 4),
                        "annotation_id": annotation_id,
                    }
                )
            frames.append(
                {
                    "viewpoint": "default",
                    "cam_K": [[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]],
                    "cam_R_w2c": np.eye(3).tolist(),
                    "cam_t_w2c": [0.0, 0.0, 0.0],
                    "depth_scale": 1.0,
                    "persons": persons,
                    "frame": frame,
                    "scene": frame // 8,
                    "file_name": name,
                    "image_id": image_id,
                }
            )
        coco = {
            "info": {"shard": shard},
            "images": coco_images,
            "annotations": coco_annotations,
            "categories": [PERSON_CATEGORY],
        }
        (directory / "coco.json").write_bytes(orjson.dumps(coco))
        (directory / "frames.jsonl").write_bytes(b"".join(orjson.dumps(f) + b"\n" for f in frames))
        done = {
            "shard": shard,
            "counts": {"images": int(count), "annotations": len(coco_annotations)},
            "mode": "pose",
            "end_time": "2026-11-21T00:00:00Z",
            "wall_seconds": 1.0,
            "seconds": {"render": 1.0},
        }
        (directory / "DONE.json").write_bytes(orjson.dumps(done))


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its descendants (following /proc/<pid>/task/<tid>/children: cheap enough to
    sample often without stealing the measured processes' CPU)."""
    total, stack, page = 0, [pid], os.sysconf("SC_PAGE_SIZE")
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/statm") as handle:
                total += int(handle.read().split()[1]) * page
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    stack.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            continue
    return total


def measure(command: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak process-tree RSS (bytes), stdout+stderr tail."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{command} failed:\n{output[-3000:]}")
    return wall, peak, output.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200_000)
    parser.add_argument("--annotations-per-image", type=int, default=5)
    parser.add_argument("--shards", type=int, default=64)
    parser.add_argument("--workdir", type=Path, help="where to fabricate (default: a temp dir, removed after)")
    parser.add_argument("--keep", type=Path, help="fabricate into KEEP/run once and reuse it on later calls")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bpgen-bench-merge-", dir=args.workdir) as tmp:
        run_dir = (args.keep or Path(tmp)) / "run"
        start = time.perf_counter()
        if not (run_dir / "run.yaml").is_file():
            fabricate(run_dir, args.images, args.annotations_per_image, args.shards)
        size = sum(p.stat().st_size for p in run_dir.glob("shards/*/*.json*")) / 1e9
        print(
            f"fabricated {args.images} images, {args.images * args.annotations_per_image} annotations in "
            f"{args.shards} shards ({size:.1f} GB of coco.json + frames.jsonl) in {time.perf_counter() - start:.0f}s"
        )
        baseline = measure(
            [sys.executable, str(ROOT / "bench" / "baseline_merge.py"), str(run_dir), str(Path(tmp) / "baseline.json")]
        )
        ours = measure([sys.executable, "-m", "bpgen.merge", str(run_dir), "bop.enabled=false"])
        check = measure([sys.executable, "-m", "bpgen.merge", str(run_dir), "--check"])
    cores = len(os.sched_getaffinity(0))
    annotations = args.images * args.annotations_per_image
    print(f"\n| merge of {args.images} images / {annotations} annotations, {cores} cores | wall s | peak RSS (tree) |")
    print("|---|---:|---:|")
    print(f"| baseline: load every shard json, dump one file | {baseline[0]:.1f} | {baseline[1] / 2**30:.2f} GiB |")
    ours_label = "bpgen.merge (COCO train/val, hardlinks, stats, plots, contact sheet; no BOP)"
    print(f"| {ours_label} | {ours[0]:.1f} | {ours[1] / 2**30:.2f} GiB |")
    print(f"| ratio | {baseline[0] / ours[0]:.2f}x faster | {ours[1] / baseline[1]:.2f} of the baseline's |")
    print(f"\n`--check` of the result: {check[0]:.1f} s, peak {check[1] / 2**30:.2f} GiB: {check[2]}")


if __name__ == "__main__":
    main()
