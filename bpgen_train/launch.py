"""Multi-node launch arguments for Detectron2's ``launch`` derived from Slurm's variables (pure, golden-tested).

One Slurm task per node runs ``python -m bpgen_train.train_net``; Detectron2's ``launch`` then spawns one process per
GPU. The rendezvous is the allocation's first host; the machine rank is the node's index in the allocation.
``DieWithLauncher`` wraps the function ``launch`` runs so the per-GPU processes end with the launcher.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bpgen.run.procs import die_with_parent

_BRACKET = re.compile(r"^(?P<prefix>[^\[]*)\[(?P<ranges>[^\]]+)\](?P<rest>.*)$")


def split_top_level(nodelist: str) -> list[str]:
    """Split ``a[1-2],b,c[3,5]`` at the commas outside brackets."""
    parts, depth, current = [], 0, ""
    for char in nodelist:
        depth += char == "["
        depth -= char == "]"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current:
        parts.append(current)
    return parts


def expand_hostlist(nodelist: str) -> list[str]:
    """Slurm's compressed host list (``gpu[01-03,07],login1``) as host names, in order (zero padding kept)."""
    hosts: list[str] = []
    for part in split_top_level(nodelist.strip()):
        match = _BRACKET.match(part)
        if not match:
            hosts.append(part)
            continue
        for item in match["ranges"].split(","):
            low, _, high = item.partition("-")
            width = len(low)
            for number in range(int(low), int(high or low) + 1):
                hosts.extend(expand_hostlist(f"{match['prefix']}{number:0{width}d}{match['rest']}"))
    return hosts


@dataclass(frozen=True)
class LaunchPlan:
    """Arguments of detectron2.engine.launch for this node."""

    num_gpus_per_machine: int
    num_machines: int
    machine_rank: int
    dist_url: str


def rendezvous_port(job_id: str) -> int:
    """A port derived from the job id, so two jobs sharing a first host do not collide."""
    return 20000 + int(job_id) % 20000 if job_id.isdigit() else 29500


def launch_plan(environ: Mapping[str, str], gpus_on_node: int) -> LaunchPlan:
    """From SLURM_JOB_NODELIST / SLURM_JOB_NUM_NODES / SLURM_NODEID / SLURM_JOB_ID; a single machine without them."""
    gpus = max(1, gpus_on_node)
    nodes = int(environ.get("SLURM_JOB_NUM_NODES") or environ.get("SLURM_NNODES") or 1)
    if "SLURM_JOB_ID" not in environ or nodes <= 1:
        return LaunchPlan(gpus, 1, 0, "auto")
    job_id = environ["SLURM_JOB_ID"]
    first = expand_hostlist(environ["SLURM_JOB_NODELIST"])[0]
    return LaunchPlan(gpus, nodes, int(environ.get("SLURM_NODEID", 0)), f"tcp://{first}:{rendezvous_port(job_id)}")


class DieWithLauncher:
    """The per-process function for Detectron2's ``launch``, made to end with the launching process.

    With more than one GPU, ``launch`` starts one process per GPU (torch.multiprocessing, "spawn") and, on Linux,
    torch asks for SIGINT in each when the launcher ends. Outside Slurm (whose process tracking kills a job's
    processes), a launcher killed with SIGKILL leaves ranks that may never act on that SIGINT: Python handles a
    signal only between bytecodes, and a rank blocked in a collective waits for its dead peers until the process
    group's timeout, holding its GPU. This wrapper (picklable: it is sent to the spawned processes) asks for
    SIGKILL instead, as soon as the rank's function starts (after the rendezvous: until then torch's SIGINT is all
    there is). Run in the launcher itself (one GPU, or the CPU: ``launch`` calls the function directly), it only
    calls the function.
    """

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.launcher = os.getpid()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if os.getpid() != self.launcher:
            die_with_parent(self.launcher)
        return self.function(*args, **kwargs)
