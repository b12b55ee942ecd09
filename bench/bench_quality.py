"""Render quality against cost: PSNR/SSIM vs a 1024-sample reference and core-seconds per image, per setting.

  python bench/bench_quality.py [--rows baseline draft standard high ...] [--images 4] [--frames-per-scene 2]
                                [--resolution 640 480] [--window 256 192] [--baseline-source DIR]
                                [--device cpu|optix] [--out bench/out/quality]

Every row renders the same shard (seed 0, shard 0: the same scenes, cameras and Cycles seeds) in its own
``python -m bpgen.render`` process, with the photo post-process's random parts off (no sensor noise, no depth
of field, PNG instead of JPEG), so the only differences between rows are the renderer's. The reference is the
same shard at ``quality=reference`` (1024 samples, no adaptive sampling, no denoiser, no clamping, caustics on,
12 bounces), rendered only inside a centred window (bench/quality_window.py, Cycles' render border) to keep
its cost at a fraction of a full frame; PSNR and SSIM (scikit-image) are measured on the final 8-bit image
inside that window. The ``baseline`` row renders with another checkout (``--baseline-source``: the commit
before the quality presets, exported with ``git archive``) at its own defaults: 64 samples, OpenImageDenoise
in the compositor, 4 bounces.

Cost: core-seconds per image = CPU time (user + system, ``os.wait4``) of the row's whole render process
divided by its images: imports, body model, scene building, rendering, labels and writing, as a cluster bills
them. On a GPU (``--device optix``) s/image (wall) is the cost instead. Rows already rendered in --out are
reused with their saved measurement; ``--fresh`` renders them again. Prints a markdown table and writes
results.json and a sheet of the window crops (sheet.png) to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.quality_window import window_bounds  # noqa: E402

# the photo post-process's random parts off: rows differ by the renderer only
FIXED = [
    "image_format=png",
    "photo.sensor_noise=false",
    "photo.depth_of_field=false",
    "photo.sharpening=false",
    "seed=0",
]
# Cycles settings of the commit before the presets, spelled in the presets' keys (Cycles' own OIDN instead of
# the compositor's): isolates what the denoiser's placement changes.
TODAY = [
    "samples=64",
    "max_bounces=4",
    "cycles.noise_threshold=0.01",
    "cycles.light_tree=false",
    "cycles.diffuse_bounces=4",
    "cycles.glossy_bounces=4",
    "cycles.transmission_bounces=4",
    "cycles.transparent_bounces=4",
    "cycles.clamp_indirect=10",
    "cycles.caustics=true",
    "cycles.filter_glossy=0",
]
ROWS: dict[str, list[str]] = {
    "baseline": [],  # rendered by --baseline-source at its own defaults
    "today_cycles_oidn": ["quality=high", *TODAY],
    "draft": ["quality=draft"],
    "standard": ["quality=standard"],
    "high": ["quality=high"],
    # one lever of `standard` at a time
    "std_8spp": ["quality=standard", "samples=8"],
    "std_32spp": ["quality=standard", "samples=32"],
    "std_threshold_0.01": ["quality=standard", "cycles.noise_threshold=0.01"],
    "std_threshold_0.1": ["quality=standard", "cycles.noise_threshold=0.1"],
    "std_no_adaptive": ["quality=standard", "cycles.noise_threshold=0"],
    "std_no_light_tree": ["quality=standard", "cycles.light_tree=false"],
    "std_caustics_off": ["quality=standard", "cycles.caustics=false"],
    "std_filter_glossy": ["quality=standard", "cycles.filter_glossy=1"],
    "std_bounces_2_2_4": ["quality=standard", "cycles.diffuse_bounces=2", "cycles.glossy_bounces=2"],
    "std_bounces_8": [
        "quality=standard",
        "max_bounces=8",
        "cycles.transmission_bounces=8",
    ],
    "std_clamp_3": ["quality=standard", "cycles.clamp_indirect=3"],
    "std_no_clamp": ["quality=standard", "cycles.clamp_indirect=0"],
    "std_passes_rgb": ["quality=standard", "cycles.denoise_passes=rgb"],
    "std_prefilter_none": ["quality=standard", "cycles.denoise_prefilter=none"],
    "std_oidn_balanced": ["quality=standard", "cycles.denoise_quality=balanced"],
    "std_no_denoiser": ["quality=standard", "denoiser=none"],
    "std_guiding": ["quality=standard", "cycles.path_guiding=true"],
    "std_texture_1024": ["quality=standard", "cycles.texture_limit=1024"],
    "std_optix_denoiser": ["quality=standard", "denoiser=OPTIX"],  # GPU only (--device optix)
}
GPU_ONLY = {"std_optix_denoiser"}
PRESET_ROWS = ["baseline", "draft", "standard", "high"]


def render(
    row: str, out: Path, images: int, common: list[str], source: Path, window: tuple[int, int] | None, fresh: bool
) -> dict[str, float]:
    """Render the row's shard (or reuse it); its cost measurement."""
    run_dir = out / row
    shard = run_dir / "shards" / "shard_000000"
    measured = run_dir / "measure.json"
    if not fresh and (shard / "DONE.json").exists() and measured.exists():
        return json.loads(measured.read_text())
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    overrides = [*common, *(ROWS.get(row, ["quality=reference"]))]
    entry = ["bench/quality_window.py"] if window else ["-m", "bpgen.render"]
    command = [sys.executable, *entry, "--run-dir", str(run_dir), "--shard", "0", "--images", str(images), *overrides]
    env = dict(os.environ, PYTHONPATH=str(source), PYTHONUNBUFFERED="1")
    env.setdefault("BPGEN_CACHE_DIR", str(ROOT / "cache"))  # the anny cache built by ./0-setup, for any source
    if window:
        env["BPGEN_BENCH_WINDOW"] = f"{window[0]}x{window[1]}"
    start = time.perf_counter()
    with open(run_dir / "render.log", "w") as log:
        process = subprocess.Popen(command, cwd=source, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own CPU time
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"row {row} failed; see {run_dir / 'render.log'}")
    done = json.loads((shard / "DONE.json").read_text())
    result = {
        "images": images,
        "core_seconds": usage.ru_utime + usage.ru_stime,
        "wall_seconds": wall,
        "render_seconds": done["seconds"]["render"],
        "device": done["host"]["render_device"],
    }
    measured.write_text(json.dumps(result, indent=1))
    return result


def images_of(out: Path, row: str) -> list[np.ndarray]:
    folder = out / row / "shards" / "shard_000000" / "images"
    return [cv2.imread(str(path))[..., ::-1] for path in sorted(folder.glob("*.png"))]


def quality(images: list[np.ndarray], references: list[np.ndarray], box: tuple[int, int, int, int]) -> dict:
    """PSNR (dB, over all window pixels of all images) and mean SSIM of the 8-bit images inside ``box``."""
    from skimage.metrics import structural_similarity

    x0, y0, x1, y1 = box
    crops = [
        (i[y0:y1, x0:x1].astype(np.float64), r[y0:y1, x0:x1].astype(np.float64))
        for i, r in zip(images, references, strict=True)
    ]
    errors = [max(float(np.mean((a - b) ** 2)), 1e-12) for a, b in crops]
    ssim = float(np.mean([structural_similarity(a, b, channel_axis=2, data_range=255.0) for a, b in crops]))
    return {
        "psnr": psnr(float(np.mean(errors))),
        "ssim": ssim,
        "per_image_psnr": [psnr(e) for e in errors],
    }


def psnr(mean_squared_error: float) -> float:
    return float(10.0 * np.log10(255.0**2 / mean_squared_error))


def sheet(out: Path, rows: list[str], box: tuple[int, int, int, int]) -> None:
    """One column per row (reference first), one line per image: the window crops, labelled."""
    x0, y0, x1, y1 = box
    columns = []
    for row in ["reference", *rows]:
        crops = [image[y0:y1, x0:x1][..., ::-1].copy() for image in images_of(out, row)]
        cv2.putText(crops[0], row, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
        columns.append(np.concatenate(crops, axis=0))
    cv2.imwrite(str(out / "sheet.png"), np.concatenate(columns, axis=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", default=PRESET_ROWS, help=f"rows to render: {', '.join(ROWS)}, or all")
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--frames-per-scene", type=int, default=2)
    parser.add_argument("--resolution", type=int, nargs=2, default=(640, 480))
    parser.add_argument("--window", type=int, nargs=2, default=(256, 192), help="reference window (pixels)")
    parser.add_argument("--baseline-source", type=Path, help="checkout of the commit before the presets")
    parser.add_argument("--device", default="cpu", help="cpu | optix | cuda (the reference always renders here too)")
    parser.add_argument("--out", type=Path, help="default bench/out/quality (cpu), bench/out/quality_DEVICE")
    parser.add_argument("--fresh", action="store_true", help="render again rows already in --out")
    args = parser.parse_args()
    gpu = args.device != "cpu"
    rows = [r for r in ROWS if gpu or r not in GPU_ONLY] if args.rows == ["all"] else args.rows
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; known: {', '.join(ROWS)}")
    if "baseline" in rows and args.baseline_source is None:
        parser.error("the baseline row needs --baseline-source DIR (e.g. git archive f0c64a5 | tar -x -C DIR)")
    width, height = args.resolution
    common = [*FIXED, f"resolution=[{width},{height}]", f"frames_per_scene={args.frames_per_scene}"]
    common.append(f"device={args.device}")
    out = (args.out or ROOT / "bench" / "out" / ("quality" if not gpu else f"quality_{args.device}")).resolve()
    box = window_bounds(width, height, tuple(args.window))
    print(f"reference: 1024 samples in the {box[2] - box[0]}x{box[3] - box[1]} window ...", file=sys.stderr)
    render("reference", out, args.images, common, ROOT, tuple(args.window), False)
    references = images_of(out, "reference")
    inner = (box[0] + 2, box[1] + 2, box[2] - 2, box[3] - 2)  # clear of the border's edge pixels
    results = {}
    for row in rows:
        print(f"{row} ...", file=sys.stderr)
        source = args.baseline_source.resolve() if row == "baseline" else ROOT
        cost = render(row, out, args.images, common, source, None, args.fresh)
        results[row] = cost | quality(images_of(out, row), references, inner) | {"overrides": ROWS[row]}
        r = results[row]
        print(
            f"  {r['psnr']:.2f} dB, SSIM {r['ssim']:.4f}, {r['core_seconds'] / r['images']:.1f} core-s/image, "
            f"{r['wall_seconds'] / r['images']:.1f} s/image",
            file=sys.stderr,
        )
    (out / "results.json").write_text(json.dumps(results, indent=1))
    sheet(out, rows, inner)
    base = results.get("baseline")
    window = f"{inner[2] - inner[0]}x{inner[3] - inner[1]}"
    print(f"\n{len(references)} images, {width}x{height}, device={args.device}, PSNR/SSIM in the {window} window\n")
    print("| row | PSNR dB | SSIM | core-s/image | s/image | render s/image | baseline cost / row cost | overrides |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for row, r in results.items():
        per_image = r["core_seconds"] / r["images"]
        cost = "wall_seconds" if gpu else "core_seconds"  # a GPU node bills the GPU's time
        ratio = f"{base[cost] / r[cost]:.2f}x" if base else ""
        print(
            f"| {row} | {r['psnr']:.2f} | {r['ssim']:.4f} | {per_image:.1f} | {r['wall_seconds'] / r['images']:.1f} "
            f"| {r['render_seconds'] / r['images']:.1f} | {ratio} | {' '.join(r['overrides'])} |"
        )
    print(f"\nresults: {out / 'results.json'}; crops: {out / 'sheet.png'}", file=sys.stderr)


if __name__ == "__main__":
    main()
