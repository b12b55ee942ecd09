"""2-submit against a real Slurm (tests/slurm/cluster.sh start) and, without Slurm, the local process pool.

Tiny shards (64x48, 4 samples) so a shard renders in a few seconds; each task asks for 1 CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import ROOT, stage_log, tiny

from bpgen.ops.slurm import cluster
from bpgen.run import layout
from bpgen.run.directory import Run

TINY = tiny(distractors=(0, 1))
SMALL_JOBS = {
    "BPGEN_RENDER_CPUS": "1",
    "BPGEN_RENDER_MEM": "1G",
    "BPGEN_RENDER_TIME": "00:20:00",
    "BPGEN_RENDER_GPUS": "0",
    "BPGEN_MERGE_CPUS": "1",
    "BPGEN_MERGE_MEM": "1G",
    "BPGEN_ARRAY_THROTTLE": "2",
}
pytestmark = pytest.mark.blender


def submit(tmp_path: Path, *args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ, BPGEN_DATA_ROOT=str(tmp_path / "runs"), **SMALL_JOBS) | env
    result = subprocess.run(
        [str(ROOT / "2-submit"), *args], capture_output=True, text=True, env=environ, timeout=timeout, check=False
    )
    print(result.stdout, result.stderr)
    return result


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def render_submissions(run: Run) -> list[dict]:
    return [s for s in run.submissions() if s["kind"] == "render"]


def queue_ids(run: Run) -> list[str]:
    ids = {s["job_id"] for s in run.submissions()}
    return [j.job_id for j in cluster.queued_jobs() if j.array_job_id in ids]


def annotations(shard_dir: Path) -> list[dict]:
    return json.loads((shard_dir / layout.COCO).read_text())["annotations"]


@pytest.mark.slurm
def test_four_shards_through_sbatch_then_merge_then_the_same_command_submits_nothing(tmp_path: Path):
    args = ["--shards", "4", "--images-per-shard", "2", "--run", "four", *TINY]
    result = submit(tmp_path, *args, "--then", "merge", "--wait")
    assert result.returncode == 0, result.stderr
    run = Run(tmp_path / "runs" / "four")
    assert run.done_shards(4) == {0, 1, 2, 3}
    (record,) = render_submissions(run)
    array = record["job_id"]
    assert f"array {array}, tasks 0-3: shards 0-3" in result.stdout
    assert sorted(p.name for p in run.slurm_dir.glob("*_log.out")) == [
        layout.task_log(run.slurm_dir, f"{array}_{i}").name for i in range(4)
    ]
    for k in range(4):
        done = json.loads((layout.shard_dir(run.path, k) / layout.DONE).read_text())
        assert done["host"]["slurm"]["SLURM_ARRAY_JOB_ID"] == array
        assert done["host"]["slurm"]["SLURM_CPUS_PER_TASK"] == "1"
        assert done["host"]["render_device"].startswith("CPU") and "1 thread" in done["host"]["render_device"]
        assert done["counts"]["images"] == 2
    (merge,) = [s for s in run.submissions() if s["kind"] == "merge"]
    assert merge["dependency"] == f"afterok:{array}"
    merge_log = stage_log(run.logs_dir, "merge", merge["job_id"]).read_text()
    assert "dataset: valid" in merge_log and layout.instances_file(run.dataset_dir, "train").is_file()
    status = submit(tmp_path, "--status", "four")
    assert (
        status.returncode == 0 and "done                4  0-3" in status.stdout and "images: 8 of 8" in status.stdout
    )

    again = submit(tmp_path, *args)
    assert again.returncode == 0 and "nothing to submit" in again.stdout
    assert len(render_submissions(run)) == 1

    # The same config rendered by the local pool gives the same shards.
    local = submit(tmp_path, "--shards", "2", "--images-per-shard", "2", "--run", "four-local", "--local", *TINY)
    assert local.returncode == 0, local.stderr
    for k in range(2):
        assert annotations(layout.shard_dir(tmp_path / "runs" / "four-local", k)) == annotations(
            layout.shard_dir(run.path, k)
        )


@pytest.mark.slurm
def test_cancelled_task_leaves_its_shard_not_done_and_only_it_is_resubmitted(tmp_path: Path):
    args = ["--shards", "3", "--images-per-shard", "2", "--run", "cancel", *TINY]
    assert submit(tmp_path, *args, BPGEN_ARRAY_THROTTLE="1").returncode == 0
    run = Run(tmp_path / "runs" / "cancel")
    (record,) = render_submissions(run)
    partial = layout.temp_dir(run.path, 1)
    wait_until(partial.exists, 120, "shard 1 to start rendering")
    subprocess.run(["scancel", f"{record['job_id']}_1"], check=True)
    wait_until(lambda: not queue_ids(run), 180, "the array to leave the queue")
    assert run.done_shards(3) == {0, 2}
    status = submit(tmp_path, "--status", "cancel")
    assert (
        "failed              1  1" in status.stdout
        and layout.task_log(run.slurm_dir, f"{record['job_id']}_1").name in status.stdout
    )

    rerun = submit(tmp_path, *args, "--wait")
    assert rerun.returncode == 0, rerun.stderr
    assert "2 DONE, submitting 1 not DONE: 1" in rerun.stdout
    assert [s["shards"] for s in render_submissions(run)] == [[0, 1, 2], [1]]
    assert run.done_shards(3) == {0, 1, 2}


@pytest.mark.slurm
def test_time_limit_signal_requeues_the_task_and_the_shard_resumes(tmp_path: Path):
    """USR2 (sent by Slurm before the time limit, or by preemption) -> submitit checkpoint -> requeue -> resume."""
    args = ["--shards", "1", "--images-per-shard", "12", "--run", "requeue", *TINY, "frames_per_scene=1"]
    assert submit(tmp_path, *args).returncode == 0
    run = Run(tmp_path / "runs" / "requeue")
    job = render_submissions(run)[0]["job_id"]
    checkpoint = layout.scene_checkpoint(layout.temp_dir(run.path, 0), 1)
    wait_until(checkpoint.exists, 120, "two scenes to be checkpointed")
    subprocess.run(["scancel", "--signal=USR2", job], check=True)

    def requeued() -> bool:
        jobs = [j for j in cluster.queued_jobs() if j.job_id == job]
        return bool(jobs) and jobs[0].state == "PENDING"

    wait_until(requeued, 60, "the task to requeue itself")
    assert not run.done_shards(1)
    # Slurm starts a requeued job after the credential lifetime (cred_expire: 10 s in tests/slurm/cluster.sh)
    wait_until(lambda: not queue_ids(run), 240, "the requeued task to finish")
    done = json.loads((layout.shard_dir(run.path, 0) / layout.DONE).read_text())
    assert done["resumed_scenes"] >= 2 and done["counts"]["images"] == 12
    assert "Requeued job" in layout.task_log(run.slurm_dir, job).read_text()


@pytest.mark.slurm
def test_more_shards_than_max_array_size_split_and_merge_waits_on_every_array(tmp_path: Path):
    shards = cluster.job_limits().max_array_size + 499
    result = submit(
        tmp_path, "--shards", str(shards), "--images-per-shard", "1", "--run", "big", "--hold", "--then", "merge"
    )
    run = Run(tmp_path / "runs" / "big")
    try:
        assert result.returncode == 0, result.stderr
        records = render_submissions(run)
        assert len(records) == 2
        assert sorted(k for r in records for k in r["shards"]) == list(range(shards))
        (merge,) = [s for s in run.submissions() if s["kind"] == "merge"]
        assert merge["dependency"] == "afterok:" + ":".join(r["job_id"] for r in records)
        shown = subprocess.run(["scontrol", "show", "job", merge["job_id"]], capture_output=True, text=True).stdout
        assert all(f"afterok:{r['job_id']}_*" in shown for r in records), shown
        queued = cluster.queued_jobs()
        for record in records:
            tasks = {j.task_id for j in queued if j.array_job_id == record["job_id"]}
            assert tasks == set(range(len(record["shards"])))
    finally:
        subprocess.run(["scancel", *(s["job_id"] for s in run.submissions())], check=False)


@pytest.mark.slurm
def test_cluster_refusals_come_before_anything_is_written(tmp_path: Path):
    partition = submit(tmp_path, "--shards", "2", BPGEN_RENDER_PARTITION="no-such-partition")
    assert partition.returncode == 2 and "invalid partition" in partition.stderr.lower()
    assert "BPGEN_RENDER_" in partition.stderr and len(partition.stderr.strip().splitlines()) == 1
    cuda = submit(tmp_path, "--shards", "2", "device=cuda")
    assert cuda.returncode == 2 and "BPGEN_RENDER_GPUS=0" in cuda.stderr
    image = submit(tmp_path, "--shards", "2", BPGEN_RENDER_IMAGE=str(tmp_path / "missing.sif"))
    assert image.returncode == 2 and "./1-build render" in image.stderr
    assert not (tmp_path / "runs").exists()


def test_without_sbatch_the_shards_render_locally(tmp_path: Path):
    environ = dict(os.environ, BPGEN_DATA_ROOT=str(tmp_path / "runs"), PATH=str(Path(sys.executable).parent))
    command = [sys.executable, "-m", "bpgen.ops.submit", "--shards", "2", "--images-per-shard", "2", "--run", "l"]
    command += TINY
    result = subprocess.run(command, capture_output=True, text=True, env=environ, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "no sbatch on this machine" in result.stdout
    run = Run(tmp_path / "runs" / "l")
    assert run.done_shards(2) == {0, 1}
    assert [s["kind"] for s in run.submissions()] == ["local"]
    assert "done                2  0-1" in result.stdout


@pytest.mark.slurm
def test_two_submits_of_one_run_at_the_same_instant_submit_every_shard_once(tmp_path: Path):
    environ = dict(os.environ, BPGEN_DATA_ROOT=str(tmp_path / "runs"), **SMALL_JOBS)
    command = [str(ROOT / "2-submit"), "--shards", "6", "--images-per-shard", "1", "--run", "twin", "--hold", *TINY]
    both = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ)]
    both.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ))
    outputs = [process.communicate(timeout=300) for process in both]
    run = Run(tmp_path / "runs" / "twin")
    try:
        print(outputs)
        assert [process.returncode for process in both] == [0, 0]
        records = render_submissions(run)
        assert sorted(k for r in records for k in r["shards"]) == list(range(6))
        assert sum("nothing to submit" in stdout for stdout, _ in outputs) == 1
        arrays = {r["job_id"] for r in records}
        assert len([j for j in cluster.queued_jobs() if j.array_job_id in arrays]) == 6
        assert not run.submit_lock_path.exists()
    finally:
        subprocess.run(["scancel", *(s["job_id"] for s in run.submissions())], check=False)


@pytest.mark.slurm
def test_more_shards_than_the_queue_holds_need_force_and_say_why(tmp_path: Path):
    limit = cluster.job_limits().max_job_count
    many = submit(tmp_path, "--shards", str(limit + 1), "--images-per-shard", "1", "--hold")
    assert many.returncode == 2 and f"MaxJobCount={limit}" in many.stderr and "--force" in many.stderr
    assert len(many.stderr.strip().splitlines()) == 1
    too_many = submit(tmp_path, "--shards", "1000001", "--hold")
    assert too_many.returncode == 2 and "1000000" in too_many.stderr
    too_big = submit(tmp_path, "--shards", "1", "--images-per-shard", "1000000", "--hold")
    assert too_big.returncode == 2 and "999,999" in too_big.stderr and len(too_big.stderr.splitlines()) == 1
    assert not (tmp_path / "runs").exists()


@pytest.mark.slurm
def test_local_then_merge_merges_and_does_not_tell_the_user_to_merge(tmp_path: Path):
    result = submit(
        tmp_path, "--shards", "1", "--images-per-shard", "2", "--run", "m", "--local", "--then", "merge", *TINY
    )
    assert result.returncode == 0, result.stderr
    assert "merging next (--then merge)" in result.stdout
    assert "sbatch jobs/merge.sbatch" not in result.stdout
    assert (layout.dataset_dir(tmp_path / "runs" / "m") / layout.DATASET_STATS).is_file()


@pytest.mark.slurm
def test_local_run_needs_the_queue_only_when_slurm_tasks_may_render_its_shards(tmp_path: Path, dead_controller: str):
    fresh = submit(
        tmp_path, "--shards", "1", "--images-per-shard", "1", "--run", "l", "--local", *TINY, SLURM_CONF=dead_controller
    )
    assert fresh.returncode == 0, fresh.stderr
    run = Run(tmp_path / "runs" / "l")
    assert run.done_shards(1) == {0}
    run.record_submission({"kind": "render", "job_id": "99999", "array": False, "shards": [1]})
    grown = submit(
        tmp_path, "--shards", "2", "--images-per-shard", "1", "--run", "l", "--local", *TINY, SLURM_CONF=dead_controller
    )
    assert grown.returncode == 2 and "retry when slurmctld answers" in grown.stderr
    assert len(grown.stderr.strip().splitlines()) == 1 and run.done_shards(2) == {0}
