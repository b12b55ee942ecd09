"""Realism: does a pose model trained on real photographs find our people? Anny vs. the wooden mannequin.

  bench/setup_realism_env.sh                                   # once: BlazePose's own venv (bench/.venv-realism)
  .venv/bin/python bench/bench_realism.py --families --publish-sheets          # 640x480, 64 samples

Renders the same shards (same seed, shard ids and settings; only ``body=`` differs) for every body: one shard
per mode (pose, occlusion, viewpoint) and, with --families, one ``mode=pose`` shard per pose family (the
strategy mix reduced to that family). Then bench/blazepose_eval.py (MediaPipe 0.10.14 BlazePose, whose
models ship in its wheel) runs in the realism venv on a square crop around every annotated person and
reports whether it finds the person and how well its keypoints agree with the labels (COCO OKS), per body,
mode, pose family and viewpoint; plus the render cost per image from the shards' DONE.json. Writes
OUT/results.json, OUT/people.jsonl, contact sheets (labels in colour, BlazePose's skeleton in white) in
OUT/sheets/ and, with --publish-sheets, copies them to bench/sheets/. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import json
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
from realism_metrics import aggregate, comparison_table, cost_summary, cost_table, summarize  # noqa: E402

MODES = ("pose", "occlusion", "viewpoint")
MODE_SHARD = {mode: i for i, mode in enumerate(MODES)}  # fixed ids: a subset of modes keeps its scenes
FAMILY_SHARD_BASE = 100
MAX_SHEET_BYTES = 1_500_000
NOISE = re.compile(  # TensorFlow Lite / absl / protobuf start-up chatter of the worker
    r"^(W0000|I0000|INFO: Created TensorFlow|WARNING: All log messages|.*GetPrototype|\s+warnings\.warn)"
)


def say(message: str) -> None:
    print(f"[realism {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def families() -> tuple[str, ...]:
    from bpgen.poses.families import FAMILIES

    return tuple(FAMILIES)


def plan_shards(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The shards every body renders: (shard id, images, label, overrides)."""
    shards = [
        {"shard": MODE_SHARD[mode], "images": args.images_per_mode, "kind": "mode", "name": mode,
         "overrides": [f"mode={mode}"]}
        for mode in args.modes
    ]  # fmt: skip
    all_families = families()
    for family in args.families:
        shards.append(
            {
                "shard": FAMILY_SHARD_BASE + all_families.index(family),
                "images": args.images_per_family,
                "kind": "family",
                "name": family,
                "overrides": ["mode=pose", "~pose.strategy_mix", f"+pose.strategy_mix={{{family}:1.0}}"],
            }
        )
    return shards


def shard_dir(out: Path, body: str, shard: int) -> Path:
    return out / "runs" / body / "shards" / f"shard_{shard:06d}"


def render(args: argparse.Namespace, body: str, spec: dict[str, Any]) -> None:
    width, height = args.resolution
    command = [
        sys.executable,
        "-m",
        "bpgen.render",
        "--run-dir",
        str(args.out / "runs" / body),
        "--shard",
        str(spec["shard"]),
        "--images",
        str(spec["images"]),
        f"body={body}",
        f"seed={args.seed}",
        f"resolution=[{width},{height}]",
        f"samples={args.samples}",
        f"frames_per_scene={args.frames_per_scene}",
        *spec["overrides"],
        *args.set,
    ]
    say(f"render body={body} {spec['kind']}={spec['name']} shard {spec['shard']}: {spec['images']} images")
    result = subprocess.run(command, cwd=ROOT, check=False)
    if result.returncode != 0:
        raise SystemExit(
            f"error: rendering body={body} {spec['kind']}={spec['name']} failed (exit {result.returncode}); "
            f"command: {' '.join(command)}"
        )


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


def by_group(records: list[dict[str, Any]], field: str, bodies: list[str]) -> dict[str, dict[str, Any]]:
    """{group: {body: summary}} with groups in the order they first appear per body."""
    table = aggregate(records, lambda r: (r[field], r["run"]))
    groups: dict[str, dict[str, Any]] = {}
    for (group, body), summary in table.items():
        if body in bodies:
            groups.setdefault(group, {})[body] = summary
    return groups


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
    bodies: list[str],
    pick: dict[str, list[tuple[Path, dict[str, Any], list[dict[str, Any]]]]],
    records: dict[tuple[str, str, int], dict[str, Any]],
    tile_width: int,
) -> np.ndarray | None:
    """One row of tiles per body: image with labels (bpgen.preview) and BlazePose's result on top."""
    from bpgen.preview.sheet import draw_annotations

    rows = []
    columns = max((len(v) for v in pick.values()), default=0)
    if not columns:
        return None
    for body in bodies:
        tiles = []
        for directory, image, anns in pick.get(body, []):
            pixels = cv2.imread(str(directory / image["file_name"]))
            scale = tile_width / image["width"]
            tile = draw_annotations(pixels, anns, scale)
            found = 0
            for ann in anns:
                record = records.get((body, directory.name, ann["id"]))
                if record is not None:
                    draw_prediction(tile, record, scale)
                    found += bool(record["found"])
            label = f"{body} {image['id']} {image.get('viewpoint', '')} found {found}/{len(anns)}"
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


def load_shard(directory: Path) -> tuple[dict[str, Any], dict[int, list[dict[str, Any]]], dict[int, dict[str, str]]]:
    coco = json.loads((directory / "coco.json").read_text())
    anns: dict[int, list[dict[str, Any]]] = {}
    for ann in coco["annotations"]:
        anns.setdefault(ann["image_id"], []).append(ann)
    strategy: dict[int, dict[str, str]] = {}
    for line in (directory / "frames.jsonl").read_text().splitlines():
        frame = json.loads(line)
        strategy[frame["image_id"]] = {
            str(p["annotation_id"]): p["strategy"] for p in frame["persons"] if p.get("annotation_id") is not None
        }
    return coco, anns, strategy


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
    """One sheet per mode and per pose family (family shards if rendered, else images of the mode shards with
    a person of that family, drawing only those people); rows = bodies, the same images in each row."""
    by_key = {(r["run"], r["shard"], r["annotation_id"]): r for r in records}
    sheets_dir = args.out / "sheets"
    shutil.rmtree(sheets_dir, ignore_errors=True)  # no stale sheets of an earlier plan
    sheets_dir.mkdir(parents=True)
    loaded = {
        (body, spec["shard"]): load_shard(shard_dir(args.out, body, spec["shard"]))
        for body in args.bodies
        for spec in shards
    }
    written: dict[str, str] = {}

    def first_images(body: str, specs: list[dict[str, Any]], family: str | None) -> list[tuple[Path, Any, list[Any]]]:
        chosen: list[tuple[Path, Any, list[Any]]] = []
        for spec in specs:
            coco, anns, strategy = loaded[(body, spec["shard"])]
            directory = shard_dir(args.out, body, spec["shard"])
            for image in coco["images"]:
                people = anns.get(image["id"], [])
                if family is not None:
                    people = [a for a in people if strategy[image["id"]].get(str(a["id"])) == family]
                if people and len(chosen) < args.sheet_images:
                    chosen.append((directory, image, people))
        return chosen

    mode_specs = [spec for spec in shards if spec["kind"] == "mode"]
    family_shards = {spec["name"]: spec for spec in shards if spec["kind"] == "family"}
    targets: list[tuple[str, list[dict[str, Any]], str | None]] = [
        (f"mode_{spec['name']}", [spec], None) for spec in mode_specs
    ]
    for family in families():
        if family in family_shards:
            targets.append((f"family_{family}", [family_shards[family]], None))
        else:  # no family shard: images of the mode shards with a person of that family, only those drawn
            targets.append((f"family_{family}", mode_specs, family))
    for name, specs, only in targets:
        pick = {body: first_images(body, specs, only) for body in args.bodies}
        sheet = sheet_rows(args.bodies, pick, by_key, args.sheet_tile_width)
        if sheet is None:
            continue
        path = sheets_dir / f"{name}.png"
        size = write_png(path, sheet, MAX_SHEET_BYTES)
        written[name] = str(path)
        say(f"sheet {path} ({size / 1e6:.2f} MB)")
    if args.publish_sheets:
        target = ROOT / "bench" / "sheets"
        target.mkdir(exist_ok=True)
        for path in written.values():
            shutil.copyfile(path, target / Path(path).name)
        say(f"copied {len(written)} sheets to {target}")
    return written


# -- main -----------------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", default="anny,mannequin", help="comma list; the first is compared with the last")
    parser.add_argument("--modes", default=",".join(MODES), help="comma list of pose,occlusion,viewpoint")
    parser.add_argument("--images-per-mode", type=int, default=8)
    parser.add_argument(
        "--families",
        nargs="?",
        const="all",
        default="",
        help="also render one mode=pose shard per pose family (all, or a comma list)",
    )
    parser.add_argument("--images-per-family", type=int, default=4)
    parser.add_argument("--resolution", default="640x480", help="WIDTHxHEIGHT")
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--frames-per-scene", type=int, default=4, help="more scenes (poses) per image count")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], help="extra render override, e.g. --set threads=2")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "realism")
    parser.add_argument("--realism-python", type=Path, default=ROOT / "bench" / ".venv-realism" / "bin" / "python")
    parser.add_argument("--skip-render", action="store_true", help="reuse the shards already rendered in OUT")
    parser.add_argument("--sheet-images", type=int, default=4, help="images per body in each contact sheet")
    parser.add_argument("--sheet-tile-width", type=int, default=320)
    parser.add_argument("--publish-sheets", action="store_true", help="copy the sheets to bench/sheets/")
    args = parser.parse_args(argv)
    args.bodies = [b for b in args.bodies.split(",") if b]
    args.modes = [m for m in args.modes.split(",") if m]
    unknown = sorted(set(args.modes) - set(MODES))
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")
    known = families()
    args.families = list(known) if args.families == "all" else [f for f in args.families.split(",") if f]
    unknown = sorted(set(args.families) - set(known))
    if unknown:
        parser.error(f"unknown famil(ies) {', '.join(unknown)}; choose from {', '.join(known)}")
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
    total = sum(s["images"] for s in shards) * len(args.bodies)
    say(
        f"{len(shards)} shards x {len(args.bodies)} bodies ({', '.join(args.bodies)}), {total} images, "
        f"{width}x{height}, {args.samples} samples, frames_per_scene={args.frames_per_scene}, out {args.out}"
    )
    started = time.perf_counter()
    if not args.skip_render:
        for spec in shards:  # bodies interleaved per shard: a partial run still compares like with like
            for body in args.bodies:
                render(args, body, spec)
    dirs: list[Path] = []
    dones: dict[str, list[dict[str, Any]]] = {}
    for body in args.bodies:
        for spec in shards:
            directory = shard_dir(args.out, body, spec["shard"])
            if not (directory / "DONE.json").is_file():
                raise SystemExit(f"error: {directory} is not rendered (no DONE.json); run without --skip-render")
            dirs.append(directory)
            done = json.loads((directory / "DONE.json").read_text())
            dones.setdefault(body, []).append(done)
    render_wall = time.perf_counter() - started
    records = evaluate(args, dirs)
    bodies = args.bodies
    results: dict[str, Any] = {
        "settings": {
            "bodies": bodies,
            "modes": args.modes,
            "families": args.families,
            "images_per_mode": args.images_per_mode,
            "images_per_family": args.images_per_family,
            "resolution": [width, height],
            "samples": args.samples,
            "frames_per_scene": args.frames_per_scene,
            "seed": args.seed,
            "overrides": args.set,
            "shards": [{k: v for k, v in s.items()} for s in shards],
            "detector": "MediaPipe 0.10.14 BlazePose (legacy solutions.pose, static_image_mode, model_complexity=1)",
            "found": "a pose returned for the square crop (box + 25%) and its 33 landmarks' centroid in the box",
            "oks": "COCO OKS (sigmas, scale = annotation area) over labelled (v>0) keypoints; mean over found people",
        },
        "overall": {body: summarize([r for r in records if r["run"] == body]) for body in bodies},
        "per_mode": by_group([r for r in records if r["shard"] in mode_shard_names(shards, "mode")], "mode", bodies),
        "per_family": by_group(records, "strategy", bodies),
        "per_viewpoint": by_group([r for r in records if r["mode"] == "viewpoint"], "viewpoint", bodies),
        "cost": {body: cost_summary(dones[body]) for body in bodies},
    }
    first, last = bodies[0], bodies[-1]
    if len(bodies) > 1:
        a, b = results["overall"][first], results["overall"][last]
        cost_a, cost_b = results["cost"][first], results["cost"][last]
        results["targets"] = {
            "found_share_difference": round((a["found_share"] or 0) - (b["found_share"] or 0), 4),
            f"cost_ratio_{first}_over_{last}": round(cost_a["s_per_image"] / cost_b["s_per_image"], 3),
            "cost_ratio_target": 1.5,
            f"build_share_{first}": cost_a["build_share"],
            f"build_share_{first}_at_8_frames_per_scene": cost_a["build_share_at_reference"],
            "build_share_target": 0.10,
        }
    results["render_wall_s"] = round(render_wall, 1)
    results["sheets"] = contact_sheets(args, shards, records)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results, bodies))
    say(f"wrote {args.out / 'results.json'}")
    return 0


def mode_shard_names(shards: list[dict[str, Any]], kind: str) -> set[str]:
    return {f"shard_{s['shard']:06d}" for s in shards if s["kind"] == kind}


def markdown(results: dict[str, Any], bodies: list[str]) -> str:
    s = results["settings"]
    parts = [
        f"\n{s['resolution'][0]}x{s['resolution'][1]}, {s['samples']} samples, frames_per_scene="
        f"{s['frames_per_scene']}, seed {s['seed']}; detector: {s['detector']}\n",
        "| body | people | found | found share | mean OKS (found) | mean OKS (all, miss = 0) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for body in bodies:
        o = results["overall"][body]
        share = "-" if o["found_share"] is None else f"{100 * o['found_share']:.0f}%"
        oks_found = "-" if o["mean_oks_found"] is None else f"{o['mean_oks_found']:.3f}"
        oks_all = "-" if o["mean_oks_all"] is None else f"{o['mean_oks_all']:.3f}"
        parts.append(f"| {body} | {o['people']} | {o['found']} | {share} | {oks_found} | {oks_all} |")
    parts += ["", comparison_table("mode", results["per_mode"], bodies)]
    parts += ["", comparison_table("pose family", results["per_family"], bodies)]
    if results["per_viewpoint"]:
        parts += ["", comparison_table("viewpoint (mode=viewpoint)", results["per_viewpoint"], bodies)]
    reference = bodies[-1] if len(bodies) > 1 else None
    parts += ["", cost_table(results["cost"], reference)]
    if "targets" in results:
        t = results["targets"]
        ratio = next(v for k, v in t.items() if k.startswith("cost_ratio_") and k != "cost_ratio_target")
        share = next(v for k, v in t.items() if k.endswith("_at_8_frames_per_scene"))
        parts += [
            "",
            f"found share {bodies[0]} - {bodies[-1]}: {100 * t['found_share_difference']:+.0f} points; "
            f"cost {bodies[0]}/{bodies[-1]}: {ratio:.2f}x (target <= 1.5x); "
            f"{bodies[0]} build / render at 8 frames per scene: {100 * share:.1f}% (target <= 10%)",
        ]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
