"""Per-frame poses: distinct poses per 100 images and render cost, ``pose.per_frame=true`` vs ``false``.

  python bench/bench_per_frame.py [--images 16] [--resolution 640 480] [--quality standard] [--set KEY=VALUE ...]

``--set samples=1`` leaves Cycles almost nothing to sample, so what remains is the per-frame cost itself (planning
the new poses, Blender re-syncing the moved meshes): what decides the cost on a GPU node, where a frame's samples
take about a second.

Renders the same shard (same seed, same scenes) twice in fresh processes, once with one pose per person and
scene (``pose.per_frame=false``: the frames differ by camera only) and once posing every person anew in every
frame, and reports per arm: distinct (person, pose) pairs per 100 images, s/image (wall of the task and the
shard's own scene_build / render / labels split from DONE.json), and the added seconds per person-frame. Prints
a markdown table for bench/README.md and writes the numbers as JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bpgen.run import layout  # noqa: E402


def render(run_dir: Path, images: int, overrides: list[str]) -> float:
    command = [sys.executable, "-m", "bpgen.render", "--run-dir", str(run_dir), "--shard", "0"]
    started = time.perf_counter()
    subprocess.run([*command, "--images", str(images), *overrides], cwd=ROOT, check=True)
    return time.perf_counter() - started


def summarize(shard: Path, images: int, wall: float) -> dict[str, float]:
    """Distinct poses and person-frames of a rendered shard, and its seconds per image."""
    frames = [json.loads(line) for line in (shard / layout.FRAMES).read_text().splitlines() if line.strip()]
    poses = {(f["scene"], p["name"], json.dumps(p["body_pose"])) for f in frames for p in f["persons"]}
    person_frames = sum(len(f["persons"]) for f in frames)
    done = json.loads((shard / layout.DONE).read_text())
    seconds = done["seconds"]
    return {
        "images": images,
        "person_frames": person_frames,
        "distinct_poses": len(poses),
        "distinct_poses_per_100_images": round(100.0 * len(poses) / images, 1),
        "wall_s_per_image": round(wall / images, 3),
        **{f"{key}_s": round(value, 2) for key, value in seconds.items()},
        "body_load_s": done.get("body", {}).get("load_seconds", 0.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--resolution", type=int, nargs=2, default=(640, 480))
    parser.add_argument("--quality", default="standard")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", nargs="*", default=[], help="more render overrides for both arms, e.g. samples=1")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "per_frame.json")
    args = parser.parse_args()
    base = [
        f"resolution=[{args.resolution[0]},{args.resolution[1]}]",
        f"quality={args.quality}",
        f"seed={args.seed}",
        "device=cpu",
        *args.set,
    ]
    work = Path(tempfile.mkdtemp(prefix="bpgen_per_frame_"))
    results = {}
    for arm, flag in (("one_pose_per_scene", "false"), ("per_frame", "true")):
        run_dir = work / arm
        wall = render(run_dir, args.images, [*base, f"pose.per_frame={flag}"])
        results[arm] = summarize(layout.shard_dir(run_dir, 0), args.images, wall)
    before, after = results["one_pose_per_scene"], results["per_frame"]
    added = after["wall_s_per_image"] * args.images - before["wall_s_per_image"] * args.images
    results["ratio_s_per_image"] = round(after["wall_s_per_image"] / before["wall_s_per_image"], 3)
    results["added_s_per_person_frame"] = round(added / max(after["person_frames"], 1), 3)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2))
    tmp.replace(args.out)
    print("| arm | distinct poses / 100 images | s/image (wall) | scene_build s | render s | labels s |")
    print("|---|---|---|---|---|---|")
    for arm in ("one_pose_per_scene", "per_frame"):
        r = results[arm]
        print(
            f"| {arm} | {r['distinct_poses_per_100_images']} | {r['wall_s_per_image']} | {r['scene_build_s']} "
            f"| {r['render_s']} | {r['labels_and_writing_s']} |"
        )
    print(f"ratio {results['ratio_s_per_image']}x, added {results['added_s_per_person_frame']} s per person-frame")


if __name__ == "__main__":
    main()
