"""2-submit without a cluster: site config, array splitting, sbatch text (golden files), status table, task env."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GOLDEN_DIR

from bpgen.ops.local import cpu_slots, default_workers
from bpgen.ops.slurm.arrays import ArrayChunk, plan_arrays
from bpgen.ops.slurm.cluster import QueuedJob, parse_scontrol_config, parse_squeue
from bpgen.ops.slurm.params import afterok, container_runtime, sbatch_text, stage_job_argv, task_python
from bpgen.ops.status import RunStatus, format_status, queued_shards, shard_states
from bpgen.ops.task import child_environment, render_command
from bpgen.progress import compact_ranges
from bpgen.run import layout
from bpgen.run.directory import Run, RunError, RunSpec
from bpgen.run.site import SiteConfig, SiteConfigError, load_site_config, slurm_time_minutes

ROOT = Path(__file__).resolve().parent.parent
SITE_ENV = {
    "BPGEN_DATA_ROOT": "/shared/bpgen/runs",
    "BPGEN_SCRATCH": "/local/scratch",
    "BPGEN_RENDER_PARTITION": "cpu",
    "BPGEN_RENDER_ACCOUNT": "vision",
    "BPGEN_RENDER_QOS": "",
    "BPGEN_RENDER_TIME": "04:00:00",
    "BPGEN_RENDER_CPUS": "8",
    "BPGEN_RENDER_MEM": "16G",
    "BPGEN_RENDER_GPUS": "0",
    "BPGEN_ARRAY_THROTTLE": "64",
}


def site_config(**environ: str) -> SiteConfig:
    """The repository's environment.sh with SITE_ENV (and ``environ``) overriding it; project dir = /opt/bpgen."""
    site = load_site_config(ROOT / "environment.sh", environ=SITE_ENV | environ)
    return dataclasses.replace(site, project_dir=Path("/opt/bpgen"), venv=Path("/opt/bpgen/.venv"))


# --- environment.sh -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "minutes"),
    [("30", 30), ("30:30", 31), ("04:00:00", 240), ("1-00", 1440), ("2-03:30", 3090), ("1-00:00:01", 1441)],
)
def test_slurm_time_formats(value: str, minutes: int):
    assert slurm_time_minutes(value) == minutes


@pytest.mark.parametrize("value", ["", "abc", "4h", "0", "00:00:00", "1-", "UNLIMITED"])
def test_bad_slurm_times(value: str):
    with pytest.raises(ValueError):
        slurm_time_minutes(value)


def test_site_config_types_and_relative_paths():
    site = load_site_config(ROOT / "environment.sh", environ={})
    assert site.data_root == ROOT / "runs" or site.data_root == ROOT / "./runs"
    assert site.render.cpus == 8 and site.render.mem == "16G" and site.render.time_minutes == 240
    assert site.render_image is None and site.array_throttle == 64 and site.train.nodes == 1


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BPGEN_RENDER_TIME", "", "BPGEN_RENDER_TIME is empty"),
        ("BPGEN_RENDER_TIME", "soon", "not a Slurm time limit"),
        ("BPGEN_RENDER_CPUS", "0", "BPGEN_RENDER_CPUS='0' must be an integer >= 1"),
        ("BPGEN_RENDER_MEM", "lots", "BPGEN_RENDER_MEM='lots' must look like 16G"),
        ("BPGEN_ARRAY_THROTTLE", "", "BPGEN_ARRAY_THROTTLE is empty"),
        ("BPGEN_DATA_ROOT", " ", "BPGEN_DATA_ROOT is empty"),
    ],
)
def test_bad_site_values_name_the_variable(tmp_path: Path, name: str, value: str, message: str):
    env = tmp_path / "environment.sh"
    lines = (ROOT / "environment.sh").read_text().splitlines()
    env.write_text("\n".join(f"{name}=${{{name}:-{value}}}" if ln.startswith(f"{name}=") else ln for ln in lines))
    with pytest.raises(SiteConfigError, match=message):
        load_site_config(env, environ={})


def test_missing_site_line(tmp_path: Path):
    env = tmp_path / "environment.sh"
    env.write_text("\n".join(ln for ln in (ROOT / "environment.sh").read_text().splitlines() if "MERGE_MEM" not in ln))
    with pytest.raises(SiteConfigError, match="no BPGEN_MERGE_MEM line"):
        load_site_config(env, environ={})


# --- arrays ---------------------------------------------------------------------------------------------------


def test_arrays_split_at_max_array_size_and_share_the_throttle():
    chunks = plan_arrays(range(5000), max_array_size=1001, throttle=64)
    assert [len(c.shards) for c in chunks] == [1000] * 5
    assert [c.throttle for c in chunks] == [13, 13, 13, 13, 12]
    assert sum(c.throttle for c in chunks) == 64
    assert [c.shards[0] for c in chunks] == [0, 1000, 2000, 3000, 4000]
    assert sorted(k for c in chunks for k in c.shards) == list(range(5000))
    assert all(len(c.shards) <= 1001 for c in chunks)
    assert chunks[0].array_spec == "0-999%13"


def test_arrays_of_sparse_resubmissions():
    chunks = plan_arrays([3, 17, 17, 40, 2], max_array_size=3, throttle=1)
    assert [c.shards for c in chunks] == [(2, 3), (17, 40)]
    assert [c.throttle for c in chunks] == [1, 1]  # at least one each
    assert plan_arrays([], 1001, 64) == []
    assert plan_arrays([5], 1001, 64) == [ArrayChunk((5,), 64)]


def test_compact_ranges():
    assert compact_ranges([7, 0, 1, 2, 5, 8]) == "0-2,5,7-8"
    assert compact_ranges([]) == ""


# --- cluster output parsing -----------------------------------------------------------------------------------


def test_parse_scontrol_show_config():
    config = parse_scontrol_config((GOLDEN_DIR / "scontrol_show_config.txt").read_text())
    assert config["MaxArraySize"] == "1001"
    assert config["AccountingStorageType"] == "accounting_storage/none"
    assert "Configuration data as of" not in " ".join(config)


def test_parse_squeue_array_tasks():
    jobs = parse_squeue(
        "15|2|15_2|PENDING|Resources|bpgen-render-a\n15|0|15_0|RUNNING|None|bpgen-render-a\n"
        "16|N/A|16|PENDING|Dependency|m\n"
    )
    assert jobs[0] == QueuedJob("15_2", "15", 2, "PENDING", "Resources", "bpgen-render-a")
    assert jobs[1].running and not jobs[0].running
    assert jobs[2].task_id is None and jobs[2].job_id == "16"


# --- status ---------------------------------------------------------------------------------------------------

SUBMISSIONS = [
    {"kind": "render", "job_id": "15", "array": True, "shards": [0, 1, 2, 3, 4, 5]},
    {"kind": "render", "job_id": "21", "array": False, "shards": [3]},
    {"kind": "merge", "job_id": "22", "dependency": "afterok:15"},
]


def test_queue_maps_to_shards_through_recorded_arrays():
    jobs = parse_squeue(
        "15|4|15_4|RUNNING|None|x\n15|5|15_5|PENDING|JobArrayTaskLimit|x\n21|N/A|21|PENDING|Priority|x\n"
    )
    jobs.append(QueuedJob("99_0", "99", 0, "RUNNING", "None", "someone else's"))
    queued = queued_shards(SUBMISSIONS, jobs)
    assert {k: j.state for k, j in queued.items()} == {4: "RUNNING", 5: "PENDING", 3: "PENDING"}
    states = shard_states(8, {0, 1}, queued, {0, 1, 2, 3, 4, 5})
    assert states == {
        0: "done",
        1: "done",
        2: "failed",
        3: "pending",
        4: "running",
        5: "pending",
        6: "not submitted",
        7: "not submitted",
    }


def test_status_table_golden(golden):
    states = shard_states(8, {0, 1}, queued_shards(SUBMISSIONS, parse_squeue("15|4|15_4|RUNNING|None|x\n")), {2, 4})
    status = RunStatus(
        "acro",
        "/shared/runs/acro",
        10,
        states,
        done_images=20,
        partial_images=3,
        done_wall_seconds=[600.0, 660.0],
        failed_logs={2: str(layout.task_log(Path("/shared/runs/acro") / layout.SLURM, "15_2"))},
    )
    assert status.eta_seconds() == pytest.approx(630.0)
    golden("status_table.txt", format_status(status) + "\n")


def test_eta_unknown_without_done_shards_or_queue():
    assert RunStatus("a", "/a", 1, {0: "running"}).eta_seconds() is None
    assert RunStatus("a", "/a", 1, {0: "failed"}, done_wall_seconds=[5.0]).eta_seconds() is None


# --- sbatch text and job arguments (golden) ----------------------------------------------------------------------


def test_render_array_sbatch_golden(golden):
    site = site_config()
    chunk = plan_arrays(range(2500), 1001, site.array_throttle)[1]
    text = sbatch_text(site, "acro", chunk, task_python(site), str(Path("/shared/bpgen/runs/acro") / layout.SLURM))
    golden("render_array.sbatch", text)
    assert "#SBATCH --array=0-832%21" in text and "--gres" not in text and "--qos" not in text


def test_render_array_with_gpus_and_container_golden(tmp_path: Path, golden):
    site = site_config(
        BPGEN_RENDER_GPUS="1", BPGEN_RENDER_IMAGE="/shared/images/bpgen-render.sif", BPGEN_RENDER_QOS="high"
    )
    chunk = ArrayChunk((0, 1, 2, 3), 64)
    python = task_python(site, container_runtime(["singularity"]))
    assert (
        python
        == "singularity exec --nv --bind /shared/bpgen/runs,/local/scratch /shared/images/bpgen-render.sif python3"
    )
    text = sbatch_text(site, "gpu", chunk, python, str(Path("/r") / layout.SLURM))
    golden("render_array_gpu_container.sbatch", text)


def test_merge_and_train_job_arguments_golden(golden):
    site = site_config(BPGEN_TRAIN_NODES="2", BPGEN_TRAIN_PARTITION="gpu")
    run_dir = Path("/shared/bpgen/runs/acro")
    merge = stage_job_argv("merge", site, "acro", run_dir, run_dir / layout.LOGS, afterok(["15", "16", "12_7"]))
    train = stage_job_argv("train", site, "acro", run_dir, run_dir / layout.LOGS, afterok(["17"]))
    golden("stage_jobs.txt", "sbatch --parsable " + " ".join(merge) + "\nsbatch --parsable " + " ".join(train) + "\n")
    assert afterok([]) == ""
    assert "--dependency" not in " ".join(stage_job_argv("merge", site, "a", run_dir, run_dir, ""))


# --- task environment ------------------------------------------------------------------------------------------


def test_task_hides_gpus_it_was_not_given_and_uses_its_cpus():
    env = child_environment({"SLURM_CPUS_PER_TASK": "8", "CUDA_VISIBLE_DEVICES": "0,1,2,3", "PATH": "/bin"}, gpus=0)
    assert env["CUDA_VISIBLE_DEVICES"] == "" and env["HIP_VISIBLE_DEVICES"] == ""
    assert env["BPGEN_RENDER_THREADS"] == "8" and env["OMP_NUM_THREADS"] == "8" and env["PATH"] == "/bin"


def test_task_keeps_the_gpus_slurm_gave_it():
    assert child_environment({"CUDA_VISIBLE_DEVICES": "2"}, gpus=1)["CUDA_VISIBLE_DEVICES"] == "2"
    assert "CUDA_VISIBLE_DEVICES" not in child_environment({"SLURM_JOB_GPUS": "3"}, gpus=1)  # global ids: not copied
    local = child_environment({"CUDA_VISIBLE_DEVICES": "0"}, gpus=None, threads=4)
    assert local["CUDA_VISIBLE_DEVICES"] == "0" and local["BPGEN_RENDER_THREADS"] == "4"


def test_render_command_uses_the_frozen_config():
    command = render_command(Path("/r/acro"), 7, 100, python="py")
    assert command == [
        "py",
        "-m",
        "bpgen.render",
        "--run-dir",
        "/r/acro",
        "--shard",
        "7",
        "--images",
        "100",
        "--config",
        str(Path("/r/acro") / layout.CONFIG),
    ]


def test_local_pool_sizes():
    assert default_workers(16, 8) == 2 and default_workers(2, 8) == 1 and default_workers(6, 1) == 6
    assert cpu_slots([0, 1, 2, 3, 4], 2) == [[0, 1, 2], [3, 4]]
    assert cpu_slots([0, 1], 4) == [[0], [1]]


# --- run directory ---------------------------------------------------------------------------------------------


def test_run_refuses_a_changed_config_and_sets_old_shards_aside(tmp_path: Path):
    run = Run(tmp_path / "acro")
    spec = RunSpec("acro", 4, 2, ("samples=4",), "# bpgen shard config: 2 images\nseed: 0\n")
    assert run.check_request(spec, force_new_config=False) == "new"
    run.freeze(spec, {"BPGEN_RENDER_CPUS": "8"})
    assert run.check_request(spec, False) == "same"
    assert run.check_request(dataclasses.replace(spec, shards=8), False) == "same"  # growing is fine
    with pytest.raises(RunError, match="can only grow"):
        run.check_request(dataclasses.replace(spec, shards=2), False)
    changed = dataclasses.replace(spec, config_text="# bpgen shard config: 2 images\nseed: 1\n")
    with pytest.raises(RunError, match="--force-new-config"):
        run.check_request(changed, False)
    assert run.check_request(changed, True) == "changed"
    layout.shard_dir(run.path, 0).mkdir(parents=True)
    aside = run.supersede()
    assert layout.shard_dir(aside, 0).is_dir() and not layout.shards_dir(run.path).exists()
    assert "BPGEN_RENDER_CPUS=${BPGEN_RENDER_CPUS:-8}" in (aside.parent.parent / layout.ENVIRONMENT_COPY).read_text()


# --- command line: refused before anything is written ------------------------------------------------------------


def submit(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ, BPGEN_DATA_ROOT=str(tmp_path / "runs")) | env
    return subprocess.run([str(ROOT / "2-submit"), *args], capture_output=True, text=True, env=environ, timeout=120)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--shards", "0"], {}, "--shards must be a positive integer, got '0'"),
        (["--shards", "-1"], {}, "--shards must be a positive integer, got '-1'"),
        (["--shards", "abc"], {}, "--shards must be a positive integer, got 'abc'"),
        (["--shards", "2", "--images-per-shard", "0"], {}, "--images-per-shard must be a positive integer"),
        (["--shards", "2", "no_such_key=3"], {}, "bad config override (Could not override 'no_such_key'"),
        (["--shards", "2"], {"BPGEN_RENDER_TIME": "soon"}, "BPGEN_RENDER_TIME='soon' is not a Slurm time limit"),
        (["--shards", "2"], {"BPGEN_RENDER_MEM": "many"}, "BPGEN_RENDER_MEM='many'"),
        (["--shards", "2", "--run", "../x"], {}, "not a valid run name"),
        (["--status", "nope"], {}, "is not a bpgen run"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, args: list[str], env: dict[str, str], message: str):
    result = submit(args, tmp_path, **env)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: ")
    assert message in result.stderr
    assert not (tmp_path / "runs").exists()


def test_unwritable_data_root_is_refused(tmp_path: Path):
    if not Path("/proc/self").exists():
        pytest.skip("needs /proc")
    result = submit(["--shards", "2", "--local"], tmp_path, BPGEN_DATA_ROOT="/proc/bpgen-runs")
    assert result.returncode == 2 and "cannot be written" in result.stderr and "BPGEN_DATA_ROOT" in result.stderr


def test_same_run_with_another_config_is_refused(tmp_path: Path):
    run = Run(tmp_path / "runs" / "acro")
    run.freeze(RunSpec("acro", 2, 2, (), "# bpgen shard config: 2 images\nold: config\n"), {})
    result = submit(["--shards", "2", "--images-per-shard", "2", "--run", "acro", "--dry-run"], tmp_path)
    assert result.returncode == 2 and "--force-new-config" in result.stderr
    assert sorted(p.name for p in run.path.iterdir()) == sorted(
        [layout.CONFIG, layout.ENVIRONMENT_COPY, layout.RUN_MANIFEST]
    )


def test_help_of_every_entry_point():
    for command in (["2-submit"], ["jobs/merge.sbatch"], ["jobs/train.sbatch"], ["tests/slurm/cluster.sh"]):
        result = subprocess.run(["bash", str(ROOT / command[0]), "--help"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and result.stdout.strip(), command
    assert (
        "--shards"
        in subprocess.run([sys.executable, "-m", "bpgen.ops.submit", "--help"], capture_output=True, text=True).stdout
    )


def test_a_task_pickled_by_the_previous_release_still_loads():
    """Pending Slurm arrays hold cloudpickled ``RenderShardTask`` objects (submitit's *_submitted.pkl): one
    pickled by the release before the restructuring (commit 3dbd768) must load and run the same command."""
    import pickle

    from bpgen.ops.task import RenderShardTask

    task = pickle.loads((GOLDEN_DIR / "render_shard_task_3dbd768.pkl").read_bytes())
    assert isinstance(task, RenderShardTask)
    assert (task.run_dir, task.shard, task.images, task.gpus, task.scratch) == ("/data/runs/acro", 3, 4, 1, "/scratch")
    command = render_command(Path(task.run_dir), task.shard, task.images)
    assert command[command.index("--config") + 1] == "/data/runs/acro/config.yaml"
