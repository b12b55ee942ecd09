"""Scheduling overhead of 2-submit: the same shards through the local Slurm and through --local, side by side.

  python bench/bench_submit.py [--shards 8] [--images-per-shard 2] [--submit-shards 1000 5000]

Needs a running cluster (tests/slurm/cluster.sh start). Each Slurm task asks for 1 CPU and the array throttle
is the machine's core count, so both sides render the same number of shards at once (the local pool gets one
process per core). Wall = start of 2-submit to the last DONE.json. Per-shard overhead = (Slurm wall - local
wall) / waves, waves = shards / parallel shards.
Then submits --submit-shards tiny shards held (one sbatch call per MaxArraySize chunk), times it, cancels them.
Prints a markdown table for bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TINY = ["resolution=[64,48]", "samples=4", "denoiser=none", "scene.distractors=[0,1]"]


def submit(data_root: Path, *args: str, **env: str) -> float:
    """Seconds 2-submit took (for --wait / --local: until it returned)."""
    environ = dict(os.environ, BPGEN_DATA_ROOT=str(data_root), **env)
    start = time.perf_counter()
    subprocess.run([str(ROOT / "2-submit"), *args], check=True, env=environ, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def rendered_by(data_root: Path, *args: str, **env: str) -> float:
    """Seconds from starting 2-submit to the last DONE.json written (not counting --wait's polling)."""
    start = time.time()
    submit(data_root, *args, **env)
    run = data_root / args[args.index("--run") + 1]
    return max(p.stat().st_mtime for p in run.glob("shards/*/DONE.json")) - start


def records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "submissions.jsonl").read_text().splitlines()]


def task_seconds(run: Path) -> list[float]:
    """Each Slurm task's duration as submitit logged it (python started -> exiting), from the task logs."""
    stamp = re.compile(r"submitit INFO \((\S+ \S+)\) - (Starting with|Exiting after successful)")
    durations = []
    for path in (run / "slurm").glob("*_log.out"):
        times = {m[2]: datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S,%f") for m in stamp.finditer(path.read_text())}
        durations.append((times["Exiting after successful"] - times["Starting with"]).total_seconds())
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--images-per-shard", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--submit-shards", type=int, nargs="*", default=[1000, 5000])
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    env = {
        "BPGEN_RENDER_CPUS": "1",
        "BPGEN_RENDER_MEM": "1G",
        "BPGEN_RENDER_TIME": "00:30:00",
        "BPGEN_ARRAY_THROTTLE": str(cores),
    }
    common = ["--shards", str(args.shards), "--images-per-shard", str(args.images_per_shard), *TINY]
    waves = math.ceil(args.shards / cores)
    with tempfile.TemporaryDirectory(prefix="bpgen-bench-submit-") as tmp:
        root = Path(tmp)
        slurm, local, in_task = [], [], []
        for rep in range(args.repeat):
            slurm.append(rendered_by(root, *common, "--run", f"slurm{rep}", "--wait", **env))
            local.append(rendered_by(root, *common, "--run", f"local{rep}", "--local", "--workers", str(cores), **env))
            in_task += task_seconds(root / f"slurm{rep}")
        slurm_wall, local_wall = statistics.median(slurm), statistics.median(local)
        local_process = local_wall * cores / args.shards  # the pool keeps every slot busy
        slurm_task = statistics.mean(in_task)
        idle = (slurm_wall * cores - slurm_task * args.shards) / args.shards
        print(f"{args.shards} shards x {args.images_per_shard} images, {cores} at once, median of {args.repeat}:\n")
        print("| | seconds |")
        print("|---|---:|")
        runs = {name: ", ".join(f"{x:.1f}" for x in values) for name, values in (("slurm", slurm), ("local", local))}
        overhead = (slurm_wall - local_wall) / waves
        print(f"| wall, local Slurm (start of 2-submit -> last DONE.json) | {slurm_wall:.1f} ({runs['slurm']}) |")
        print(f"| wall, `--local` process pool | {local_wall:.1f} ({runs['local']}) |")
        print(f"| scheduling overhead per shard ((Slurm - local) / {waves} waves) | {overhead:.2f} |")
        print(f"| local: render process per shard (wall x {cores} / {args.shards}) | {local_process:.2f} |")
        print(f"| Slurm: task per shard, submitit start -> exit (mean) | {slurm_task:.2f} |")
        print(f"| Slurm: idle slot time per shard (queue latency, srun, python start) | {idle:.2f} |")
        print()
        print("| shards submitted (held) | sbatch calls | seconds |")
        print("|---:|---:|---:|")
        for count in args.submit_shards:
            name = f"submit{count}"
            seconds = submit(root, "--shards", str(count), "--images-per-shard", "1", "--run", name, "--hold", **env)
            calls = records(root / name)
            subprocess.run(["scancel", *(r["job_id"] for r in calls)], check=False)
            print(f"| {count} | {len(calls)} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
