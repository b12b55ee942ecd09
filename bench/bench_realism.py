"""Realism, look vs pose: does a pose model trained on real photographs find our people, and is it how they look
or how hard they pose that it misses?

  bench/setup_realism_env.sh                                    # once: BlazePose's own venv (bench/.venv-realism)
  nice .venv/bin/python bench/bench_realism.py --publish-sheets  # 640x480, quality=standard

Renders one run per *arm* with ``python -m bpgen.render`` (the same seed, shard ids and settings; only the arm's
overrides differ), then bench/blazepose_eval.py (MediaPipe 0.10.14 BlazePose with its person segmentation; the
models ship in its wheel) runs in the realism venv on a square crop around every annotated person. Default arms:
``control`` (``pose=everyday mode=pose``: ordinary poses, so the bench measures how our people *look* to a
real-photo model), ``default`` (the default strategy mix, ``mode=pose``), and small ``occlusion`` and
``viewpoint`` arms (the default mix in those modes). Reported per arm and per group (pose strategy or everyday
template and base, mode, viewpoint kind, person-height band at 640x480, extremeness band): people, found share,
mean OKS of found people, OKS >= 0.5 share, mean IoU of BlazePose's person mask with our visible mask, each with
a 95% interval from a bootstrap over scenes; plus the render cost per image of each arm from the shards' DONE.json.
Writes OUT/results.json, OUT/people.jsonl, contact sheets (labels in colour, BlazePose's skeleton in white) in
OUT/sheets/ (``--publish-sheets`` copies them to bench/sheets/) and prints markdown tables.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from realism_metrics import (  # noqa: E402
    EXTREMENESS_BANDS,
    HEIGHT_BANDS,
    band,
    cost_summary,
    cost_table,
    with_intervals,
)

# name -> (images, overrides); the default plan: >= 200 people in each of the two arms the bench compares
DEFAULT_ARMS = {
    "control": (112, ("pose=everyday", "mode=pose")),
    "default": (112, ("mode=pose",)),
    "occlusion": (12, ("mode=occlusion",)),
    "viewpoint": (12, ("mode=viewpoint",)),
}
MAX_SHEET_BYTES = 1_500_000
NOISE = re.compile(  # TensorFlow Lite / absl / protobuf start-up chatter of the worker
    r"^(W0000|I0000|INFO: Created TensorFlow|WARNING: All log messages|.*GetPrototype|\s+warnings\.warn)"
)
GROUPINGS = {  # results key -> (table title, record -> group)
    "per_pose_kind": ("pose kind", lambda r: "everyday" if r["strategy"] == "everyday" else "random/extreme/acrobatic"),
    "per_strategy": ("pose strategy", lambda r: r["strategy"]),
    "per_pose": ("pose strategy or everyday template", lambda r: r.get("template") or r["strategy"]),
    "per_everyday_base": ("everyday base", lambda r: r["template"].split("/")[0] if r.get("template") else None),
    "per_mode": ("mode", lambda r: r["mode"]),
    "per_viewpoint": ("viewpoint kind", lambda r: r["viewpoint"]),
    "per_layout": ("world layout", lambda r: r.get("layout", "unknown")),
    "per_camera": ("camera class", lambda r: r.get("camera", "unknown")),
    "per_height": ("person height (visible box, px at 640x480)", lambda r: band(r.get("height_px"), HEIGHT_BANDS)),
    "per_extremeness": ("pose extremeness", lambda r: band(r.get("extremeness"), EXTREMENESS_BANDS)),
}


def say(message: str) -> None:
    print(f"[realism {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def families() -> tuple[str, ...]:
    from bpgen.poses.families import FAMILIES

    return tuple(FAMILIES)


def plan_shards(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every arm's shards: (arm, shard id, images, overrides), interleaved by shard id so that a partial run
    still compares like with like."""
    per_arm = []
    for arm, (images, overrides) in args.arms.items():
        count = math.ceil(images / args.shard_images)
        per_arm.append(
            [
                {"arm": arm, "shard": k, "images": min(args.shard_images, images - k * args.shard_images),
                 "overrides": list(overrides)}
                for k in range(count)
            ]
        )  # fmt: skip
    depth = max((len(a) for a in per_arm), default=0)
    return [shards[k] for k in range(depth) for shards in per_arm if k < len(shards)]


def shard_dir(out: Path, arm: str, shard: int) -> Path:
    return out / "runs" / arm / "shards" / f"shard_{shard:06d}"


def render(args: argparse.Namespace, spec: dict[str, Any]) -> None:
    width, height = args.resolution
    command = [
        sys.executable, "-m", "bpgen.render", "--run-dir", str(args.out / "runs" / spec["arm"]),
        "--shard", str(spec["shard"]), "--images", str(spec["images"]), f"seed={args.seed}",
        f"resolution=[{width},{height}]", f"frames_per_scene={args.frames_per_scene}", *spec["overrides"],
        *(f"samples={args.samples}" for _ in range(args.samples is not None)), *args.set,
    ]  # fmt: skip
    say(f"render arm={spec['arm']} shard {spec['shard']}: {spec['images']} images ({' '.join(spec['overrides'])})")
    result = subprocess.run(command, cwd=ROOT, check=False)
    if result.returncode != 0:
        raise SystemExit(f"error: rendering arm {spec['arm']} failed (exit {result.returncode}): {' '.join(command)}")


def evaluate(args: argparse.Namespace, dirs: list[Path]) -> list[dict[str, Any]]:
    python = args.realism_python
    if not python.exists():
        raise SystemExit(f"error: {python} not found; run bench/setup_realism_env.sh first (or --realism-python)")
    output = args.out / "people.jsonl"
    say(f"BlazePose on every annotated person of {len(dirs)} shards ({python})")
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(python), str(ROOT / "bench" / "blazepose_eval.py"), "--output", str(output), *map(str, dirs)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if not NOISE.match(line):
            print(line, end="", file=sys.stderr, flush=True)
    if process.wait() != 0:
        raise SystemExit(f"error: bench/blazepose_eval.py failed (exit {process.returncode})")
    say(f"BlazePose done in {time.perf_counter() - started:.1f}s")
    return [json.loads(line) for line in output.read_text().splitlines() if line.strip()]


def scene_of(record: dict[str, Any]) -> tuple[str, str, Any]:
    return (record["run"], record["shard"], record.get("scene", record["image_id"]))


def by_group(records: list[dict[str, Any]], key: Any, arms: list[str], seed: int) -> dict[str, dict[str, Any]]:
    """{group: {arm: summary with 95% intervals}}, groups sorted; records whose group is None are left out."""
    cells: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        group = key(record)
        if group is not None and record["run"] in arms:
            cells.setdefault((str(group), record["run"]), []).append(record)
    table: dict[str, dict[str, Any]] = {}
    for (group, arm), members in sorted(cells.items()):
        rng = np.random.default_rng([seed, len(members), sum(map(ord, group + arm))])
        table.setdefault(group, {})[arm] = with_intervals(members, scene_of, rng)
    return table


# -- contact sheets ---------------------------------------------------------------------------------------------
def draw_prediction(tile: np.ndarray, record: dict[str, Any], scale: float) -> None:
    """BlazePose's COCO skeleton in white; a red "miss" at the box of a person it did not find."""
    from bpgen.geometry.keypoints import COCO_SKELETON

    if record.get("predicted") and record["found"]:
        points = np.array(record["predicted"], dtype=float)[:, :2] * scale
        for a, b in COCO_SKELETON:
            cv2.line(tile, tuple(points[a - 1].astype(int)), tuple(points[b - 1].astype(int)), (255, 255, 255), 1)
    else:
        x, y = (int(v * scale) for v in record["bbox"][:2])
        cv2.putText(tile, "miss", (x, max(10, y - 2)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 255), 1, cv2.LINE_AA)


def sheet_rows(
    arms: list[str],
    pick: dict[str, list[tuple[Path, dict[str, Any], list[dict[str, Any]]]]],
    records: dict[tuple[str, str, int], dict[str, Any]],
    tile_width: int,
) -> np.ndarray | None:
    """One row of tiles per arm: image with labels (bpgen.preview) and BlazePose's result on top."""
    from bpgen.preview.sheet import draw_annotations

    rows = []
    columns = max((len(v) for v in pick.values()), default=0)
    if not columns:
        return None
    for arm in arms:
        tiles = []
        for directory, image, anns in pick.get(arm, []):
            pixels = cv2.imread(str(directory / image["file_name"]))
            scale = tile_width / image["width"]
            tile = draw_annotations(pixels, anns, scale)
            found = 0
            for ann in anns:
                record = records.get((arm, directory.name, ann["id"]))
                if record is not None:
                    draw_prediction(tile, record, scale)
                    found += bool(record["found"])
            label = f"{arm} {image['id']} {image.get('viewpoint', '')} found {found}/{len(anns)}"
            cv2.putText(tile, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
            tiles.append(tile)
        if not tiles:
            continue
        height = tiles[0].shape[0]
        while len(tiles) < columns:
            tiles.append(np.zeros((height, tile_width, 3), dtype=np.uint8))
        rows.append(np.hstack([cv2.resize(t, (tile_width, height)) for t in tiles]))
    width = max(r.shape[1] for r in rows)
    return np.vstack([cv2.copyMakeBorder(r, 0, 0, 0, width - r.shape[1], cv2.BORDER_CONSTANT) for r in rows])


def write_png(path: Path, sheet: np.ndarray, max_bytes: int) -> int:
    """PNG at most ``max_bytes`` (shrunk in 15% steps until it fits); returns its size."""
    while True:
        ok, encoded = cv2.imencode(".png", sheet, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        if not ok:
            raise RuntimeError(f"could not encode {path}")
        if encoded.nbytes <= max_bytes or sheet.shape[1] < 200:
            path.write_bytes(encoded.tobytes())
            return int(encoded.nbytes)
        sheet = cv2.resize(sheet, None, fx=0.85, fy=0.85, interpolation=cv2.INTER_AREA)


def contact_sheets(
    args: argparse.Namespace, shards: list[dict[str, Any]], records: list[dict[str, Any]]
) -> dict[str, str]:
    """One sheet per arm (its first images with people) and one of the control's seated people; raw images are the
    shards' own files."""
    by_key = {(r["run"], r["shard"], r["annotation_id"]): r for r in records}
    sheets_dir = args.out / "sheets"
    shutil.rmtree(sheets_dir, ignore_errors=True)  # no stale sheets of an earlier plan
    sheets_dir.mkdir(parents=True)
    written: dict[str, str] = {}
    for arm in args.arms:
        pick: list[tuple[Path, Any, list[Any]]] = []
        for spec in (s for s in shards if s["arm"] == arm):
            directory = shard_dir(args.out, arm, spec["shard"])
            coco = json.loads((directory / "coco.json").read_text())
            anns: dict[int, list[dict[str, Any]]] = {}
            for ann in coco["annotations"]:
                anns.setdefault(ann["image_id"], []).append(ann)
            pick += [(directory, image, anns[image["id"]]) for image in coco["images"] if image["id"] in anns]
        rows = [
            pick[i : i + args.sheet_columns] for i in range(0, min(len(pick), args.sheet_images), args.sheet_columns)
        ]
        parts = [sheet_rows([arm], {arm: row}, by_key, args.sheet_tile_width) for row in rows]
        parts = [p for p in parts if p is not None]
        if not parts:
            continue
        width = max(p.shape[1] for p in parts)
        sheet = np.vstack([cv2.copyMakeBorder(p, 0, 0, 0, width - p.shape[1], cv2.BORDER_CONSTANT) for p in parts])
        path = sheets_dir / f"realism_{arm}.png"
        size = write_png(path, sheet, MAX_SHEET_BYTES)
        written[arm] = str(path)
        say(f"sheet {path} ({size / 1e6:.2f} MB)")
    if args.publish_sheets:
        target = ROOT / "bench" / "sheets"
        target.mkdir(exist_ok=True)
        for path in written.values():
            shutil.copyfile(path, target / Path(path).name)
        say(f"copied {len(written)} sheets to {target}")
    return written


# -- main -----------------------------------------------------------------------------------------------------
def parse_arm(text: str) -> tuple[str, tuple[int, tuple[str, ...]]]:
    """NAME:IMAGES:OVERRIDE[,OVERRIDE...] -> (name, (images, overrides))."""
    match = re.fullmatch(r"([A-Za-z0-9_-]+):(\d+):(.*)", text)
    if not match:
        raise argparse.ArgumentTypeError(f"--arm {text!r}: use NAME:IMAGES:OVERRIDE,... e.g. control:112:pose=everyday")
    overrides = tuple(o for o in match.group(3).split(",") if o)
    return match.group(1), (int(match.group(2)), overrides)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arm", action="append", type=parse_arm, default=[],
                        help="NAME:IMAGES:OVERRIDES (comma list); repeat; replaces the default arms")  # fmt: skip
    parser.add_argument("--families", nargs="?", const="all", default="",
                        help="also an arm per pose family, mode=pose (all, or a comma list)")  # fmt: skip
    parser.add_argument("--images-per-family", type=int, default=8)
    parser.add_argument("--shard-images", type=int, default=28, help="images per shard of an arm")
    parser.add_argument("--resolution", default="640x480", help="WIDTHxHEIGHT")
    parser.add_argument("--samples", type=int, default=None, help="default: the quality preset's (standard: 16)")
    parser.add_argument("--frames-per-scene", type=int, default=2, help="more scenes (people) per image count")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], help="extra render override for every arm")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "realism")
    parser.add_argument("--realism-python", type=Path, default=ROOT / "bench" / ".venv-realism" / "bin" / "python")
    parser.add_argument("--skip-render", action="store_true", help="evaluate the shards already rendered in OUT")
    parser.add_argument("--sheet-images", type=int, default=8, help="images per arm in its contact sheet")
    parser.add_argument("--sheet-columns", type=int, default=4)
    parser.add_argument("--sheet-tile-width", type=int, default=320)
    parser.add_argument("--publish-sheets", action="store_true", help="copy the sheets to bench/sheets/")
    args = parser.parse_args(argv)
    args.arms = dict(args.arm) if args.arm else dict(DEFAULT_ARMS)
    known = families()
    chosen = list(known) if args.families == "all" else [f for f in args.families.split(",") if f]
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        parser.error(f"unknown famil(ies) {', '.join(unknown)}; choose from {', '.join(known)}")
    for family in chosen:
        args.arms[f"family_{family}"] = (
            args.images_per_family,
            ("mode=pose", "~pose.strategy_mix", f"+pose.strategy_mix={{{family}:1.0}}"),
        )
    match = re.fullmatch(r"(\d+)x(\d+)", args.resolution)
    if not match:
        parser.error(f"--resolution must be WIDTHxHEIGHT, got {args.resolution}")
    args.resolution = (int(match.group(1)), int(match.group(2)))
    args.out = args.out.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    shards = plan_shards(args)
    width, height = args.resolution
    arms = list(args.arms)
    say(f"{len(shards)} shards, arms {', '.join(arms)}, {sum(s['images'] for s in shards)} images, {width}x{height}")
    started = time.perf_counter()
    if not args.skip_render:
        for spec in shards:
            render(args, spec)
    dirs: list[Path] = []
    dones: dict[str, list[dict[str, Any]]] = {}
    for spec in shards:
        directory = shard_dir(args.out, spec["arm"], spec["shard"])
        if not (directory / "DONE.json").is_file():
            raise SystemExit(f"error: {directory} is not rendered (no DONE.json); run without --skip-render")
        dirs.append(directory)
        dones.setdefault(spec["arm"], []).append(json.loads((directory / "DONE.json").read_text()))
    render_wall = time.perf_counter() - started
    records = evaluate(args, dirs)
    results: dict[str, Any] = {
        "settings": {
            "arms": {arm: {"images": images, "overrides": list(o)} for arm, (images, o) in args.arms.items()},
            "resolution": [width, height],
            "samples": args.samples or "quality preset",
            "frames_per_scene": args.frames_per_scene,
            "seed": args.seed,
            "overrides": args.set,
            "shards": shards,
            "detector": "MediaPipe 0.10.14 BlazePose (solutions.pose, static_image_mode, model_complexity=1, "
            "enable_segmentation)",
            "found": "a pose returned for the square crop (box + 25%) and its 33 landmarks' centroid in the box",
            "oks": "COCO OKS (sigmas, scale = annotation area) over labelled (v>0) keypoints",
            "oks50_share": "share of people with labelled keypoints found with OKS >= 0.5 (a miss fails)",
            "seg_iou": "IoU of BlazePose's person mask (> 0.5) with our visible mask within the crop, found people",
            "intervals": "95% percentile bootstrap over scenes (1000 resamples)",
        },
        "overall": by_group(records, lambda r: "all", arms, args.seed)["all"],
    }
    for name, (_, key) in GROUPINGS.items():
        results[name] = by_group(records, key, arms, args.seed)
    results["cost"] = {arm: cost_summary(dones[arm]) for arm in arms}
    results["render_wall_s"] = round(render_wall, 1)
    results["sheets"] = contact_sheets(args, shards, records)
    tmp = args.out / "results.json.tmp"
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    tmp.replace(args.out / "results.json")
    print(markdown(results, arms))
    say(f"wrote {args.out / 'results.json'}")
    return 0


def _cell(summary: dict[str, Any], metric: str, percent: bool) -> str:
    value, interval = summary.get(metric), summary.get(f"{metric}_ci")
    if value is None:
        return "-"
    fmt = (lambda v: f"{100 * v:.0f}%") if percent else (lambda v: f"{v:.2f}")
    return fmt(value) + (f" [{fmt(interval[0])}, {fmt(interval[1])}]" if interval else "")


def group_table(title: str, groups: dict[str, dict[str, Any]], arms: list[str]) -> str:
    lines = [
        f"| {title} | arm | people | found | OKS (found) | OKS >= 0.5 | mask IoU (found) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for group, per_arm in groups.items():
        for arm in arms:
            s = per_arm.get(arm)
            if s is None:
                continue
            lines.append(
                f"| {group} | {arm} | {s['people']} | {_cell(s, 'found_share', True)} | "
                f"{_cell(s, 'mean_oks_found', False)} | {_cell(s, 'oks50_share', True)} | "
                f"{_cell(s, 'mean_seg_iou', False)} |"
            )
    return "\n".join(lines)


def markdown(results: dict[str, Any], arms: list[str]) -> str:
    s = results["settings"]
    parts = [
        f"\n{s['resolution'][0]}x{s['resolution'][1]}, samples: {s['samples']}, frames_per_scene="
        f"{s['frames_per_scene']}, seed {s['seed']}; detector: {s['detector']}; intervals: {s['intervals']}\n",
        group_table("arm", {"all": results["overall"]}, arms),
    ]
    for name, (title, _) in GROUPINGS.items():
        parts += ["", group_table(title, results[name], arms)]
    reference = "default" if "default" in results["cost"] else None
    parts += ["", cost_table(results["cost"], reference, label="arm")]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
