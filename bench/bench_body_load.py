"""What a render task pays for its anny body: load, first pose and first dress, in fresh processes (run by hand).

    .venv/bin/python bench/bench_body_load.py                    # this checkout, 7 runs
    .venv/bin/python bench/bench_body_load.py --tree /tmp/snap_old --cache /tmp/snap_old/cache

``--tree`` runs another checkout (e.g. ``git archive <commit> | tar -x -C /tmp/snap_old``: its PYTHONPATH) with
the anny cache ``--cache`` (its BPGEN_CACHE_DIR). Prints per run the seconds of ``load_body("anny")``, of the
first sample_shape + pose + dress and their sum, then the median sum, and the top ``-X importtime`` entries
(cumulative) of the render entry module and of the body load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, time
import numpy as np
from bpgen.appearance.look import sample_look
from bpgen.render.config import compose_render_config
config = compose_render_config([])[0]  # not timed: every task composes its config anyway
t0 = time.perf_counter()
from bpgen.bodies import load_body
body = load_body("anny")
t1 = time.perf_counter()
rng = np.random.default_rng(0)
shape = body.sample_shape(rng, config.body)
posed = body.pose(np.zeros((21, 3)), shape)
dressed = body.dress(posed, shape, sample_look(rng, config.look, shape.attributes))
t2 = time.perf_counter()
assert len(dressed.vertices) >= len(posed.vertices) > 10000
print(json.dumps({"load": t1 - t0, "first_person": t2 - t1}))
"""

BODY_LOAD = "from bpgen.bodies import load_body; load_body('anny')"


def environment(tree: Path, cache: Path | None) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    if cache is not None:
        env["BPGEN_CACHE_DIR"] = str(cache)
    return env


def importtime(code: str, tree: Path, env: dict[str, str], top: int) -> list[tuple[float, str]]:
    """The ``top`` largest cumulative import times (seconds, module) of ``python -X importtime -c code``."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], cwd=tree, env=env, capture_output=True, text=True, check=True
    )
    rows = []
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
            rows.append((int(cumulative) / 1e6, name.strip()))
    return sorted(rows, reverse=True)[:top]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to run (default: this one)")
    parser.add_argument("--cache", type=Path, help="its BPGEN_CACHE_DIR (default: environment.sh's)")
    parser.add_argument("--runs", type=int, default=7, help="fresh processes (at least 5)")
    parser.add_argument("--top", type=int, default=8, help="import-time entries to show")
    args = parser.parse_args()
    env = environment(args.tree.resolve(), args.cache)
    totals = []
    for run in range(max(args.runs, 5)):
        result = subprocess.run(
            [sys.executable, "-c", CHILD], cwd=args.tree, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            print(result.stderr, file=sys.stderr)
            return 1
        times = json.loads(result.stdout.strip().splitlines()[-1])
        totals.append(times["load"] + times["first_person"])
        print(f"run {run}: load {times['load']:.3f} s, first shape+pose+dress {times['first_person']:.3f} s")
    print(f"median body load incl. first pose and dress: {statistics.median(totals):.3f} s over {len(totals)} runs")
    for title, code in (("import bpgen.render.cli", "import bpgen.render.cli"), ("body load", BODY_LOAD)):
        print(f"-X importtime, {title} (cumulative s):")
        for seconds, name in importtime(code, args.tree, env, args.top):
            print(f"  {seconds:7.3f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
