"""Task start-up: what a render task spends before Cycles renders its first sample, per phase, in fresh processes.

  python bench/bench_task_start.py [--runs 5] [--body anny] [--json FILE]

Each run is a fresh interpreter that does what ``python -m bpgen.render`` does before its first render, in the
same order, timing each phase with ``time.perf_counter``: Python's own start (from the parent's spawn to the
child's first statement), bpgen's imports (the render CLI), composing the config, loading the body model,
importing bpy, importing BlenderProc (its API modules), BlenderProc's init (``bproc_adapter.load_blenderproc``),
the renderer's set-up (devices, passes, outputs: the rest of ``BlenderScene``), planning and building the first
scene, and its render (one frame at 64x48, 1 sample: Cycles' scene sync and kernel set-up, what precedes the first
sample of any render). Prints a markdown table (median, min, max over the runs) for bench/README.md, "Task
start-up"; ``--json`` also writes every run's phases.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# the child: one render task's start, phase by phase; prints {"phase": seconds, ...} as its last line
CHILD = r"""
import sys, time
spawned = float(sys.argv[1])
first = time.time()
t = time.perf_counter()
phases = {"python_start": first - spawned}

def mark(name):
    global t
    now = time.perf_counter()
    phases[name] = now - t
    t = now

import os
devnull = os.open(os.devnull, os.O_WRONLY)
saved = os.dup(1)
os.dup2(devnull, 1)  # Blender's and Cycles' prints
import bpgen.render.cli  # noqa: F401  (what python -m bpgen.render imports first)
from bpgen.render.config import compose_render_config
mark("import_bpgen")
config, _ = compose_render_config(sys.argv[2:])
mark("compose_config")
from bpgen.bodies import load_body
body = load_body(config.body.name)
mark("body_load")
import bpy  # noqa: F401
mark("import_bpy")
import importlib
from bpgen.blender import bproc_adapter
if os.environ.get("BENCH_ALL_TOPICS"):  # --all-topics: every BlenderProc API topic imported at load, as before
    bproc_adapter.USED_TOPICS = bproc_adapter.API_TOPICS
os.environ[bproc_adapter._ENV_FLAG] = "1"
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
import blenderproc
for topic in getattr(bproc_adapter, "USED_TOPICS", bproc_adapter.API_TOPICS):  # what load_blenderproc imports
    importlib.import_module(f"blenderproc.api.{topic}")
mark("import_blenderproc")
bproc_adapter.load_blenderproc()
mark("blenderproc_init")
from bpgen.blender.scene import BlenderScene
renderer = BlenderScene(config)
mark("renderer_setup")
import numpy as np
from bpgen.render import lifecycle
from bpgen.scene.plan import plan_scene
plan = plan_scene(np.random.default_rng(lifecycle.scene_seed(config.seed, 0, 0)), config, body, 1)
mark("first_scene_plan")
renderer.build(plan)
mark("first_scene_build")
renderer.render()
mark("first_render")
os.dup2(saved, 1)
import json
print(json.dumps(phases), flush=True)
from bpgen.render.cli import exit_now
exit_now(0)
"""
PHASES = (
    "python_start",
    "import_bpgen",
    "compose_config",
    "body_load",
    "import_bpy",
    "import_blenderproc",
    "blenderproc_init",
    "renderer_setup",
    "first_scene_plan",
    "first_scene_build",
    "first_render",
)
BEFORE_RENDER = PHASES[:-1]  # what the task spends before it asks Cycles to render


def run_once(overrides: list[str], all_topics: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bpgen_task_start_") as tmp:  # Blender leaves its temp dir behind
        env = dict(os.environ, TMPDIR=tmp, BPGEN_SCRATCH=tmp, BENCH_ALL_TOPICS="1" if all_topics else "")
        spawned = time.time()
        result = subprocess.run(
            [sys.executable, "-c", CHILD, repr(spawned), *overrides],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise SystemExit(f"error: the task start failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes (default 5)")
    parser.add_argument("--body", default="anny")
    parser.add_argument("--json", type=Path, help="also write every run's phases here")
    parser.add_argument(
        "--all-topics", action="store_true", help="import every BlenderProc API topic at load (the start before)"
    )
    parser.add_argument("overrides", nargs="*", help="more render overrides")
    args = parser.parse_args()
    overrides = [f"body={args.body}", "resolution=[64,48]", "samples=1", "denoiser=none", *args.overrides]
    runs = []
    for index in range(args.runs):
        runs.append(run_once(overrides, args.all_topics))
        before = sum(runs[-1][p] for p in BEFORE_RENDER)
        render = runs[-1]["first_render"]
        print(
            f"run {index + 1}/{args.runs}: {before:.2f} s before the render, first render {render:.2f} s",
            file=sys.stderr,
        )
    topics = ", every BlenderProc topic at load" if args.all_topics else ""
    print(f"| phase ({args.runs} fresh processes, {' '.join(overrides)}{topics}) | median s | min s | max s |")
    print("|---|---:|---:|---:|")
    for phase in PHASES:
        values = [run[phase] for run in runs]
        print(f"| {phase} | {statistics.median(values):.3f} | {min(values):.3f} | {max(values):.3f} |")
    for label, names in (("before the render", BEFORE_RENDER), ("to the first sample", PHASES)):
        totals = [sum(run[p] for p in names) for run in runs]
        print(f"| **{label}** | **{statistics.median(totals):.3f}** | {min(totals):.3f} | {max(totals):.3f} |")
    if args.json:
        args.json.write_text(json.dumps({"overrides": overrides, "runs": runs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
