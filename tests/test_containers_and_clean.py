"""Containers (def files consistent with the pinned dependencies, 1-build commands) and 00-clean on a fabricated
run tree."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import stage_log
from spython.main.parse.parsers import SingularityParser

from bpgen.ops.containers import COPIED, content_hash, planned_builds, print_commands
from bpgen.run import layout
from bpgen.run.site import load_site_config

ROOT = Path(__file__).resolve().parent.parent
PINS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pins(requirements: list[str]) -> dict[str, str]:
    return dict(r.split(";")[0].split("==") for r in requirements if "==" in r)


def recipes(name: str):  # type: ignore[no-untyped-def]
    """The def file's stages by name (one unnamed stage: ``spython-base``)."""
    return SingularityParser(str(ROOT / "containers" / f"{name}.def")).recipe


def recipe(name: str):  # type: ignore[no-untyped-def]
    """The stage that becomes the image (the last one)."""
    return list(recipes(name).values())[-1]


def labels(name: str) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in recipe(name).labels)


@pytest.mark.parametrize("name", ["render", "train"])
def test_def_files_parse_and_have_every_section(name: str):
    parsed = recipe(name)
    text = (ROOT / "containers" / f"{name}.def").read_text()
    assert parsed.fromHeader and parsed.install and parsed.environ and parsed.files and parsed.cmd
    assert all(
        f"%{section}" in text for section in ("help", "labels", "files", "post", "environment", "runscript", "test")
    )
    assert {line.split()[0] for line in parsed.files} == set(COPIED)  # what the content hash covers
    assert "{{ CONTENT_HASH }}" in text


def test_def_files_install_the_projects_pins_and_nothing_else():
    render, train = labels("render"), labels("train")
    main, extra = pins(PINS["dependencies"]), pins(PINS["optional-dependencies"]["train"])
    anny = pins(PINS["optional-dependencies"]["anny"])  # set-up only: the render image's export stage
    assert render["org.bpgen.bpy"] == main["bpy"] and render["org.bpgen.blenderproc"] == main["blenderproc"]
    assert render["org.bpgen.mannequin-x"] == main["mannequin-x"] and render["org.bpgen.anny"] == anny["anny"]
    assert train["org.bpgen.torch"] == extra["torch"] and train["org.bpgen.torchvision"] == extra["torchvision"]
    assert render["org.bpgen.version"] == train["org.bpgen.version"] == PINS["version"]
    for name in ("render", "train"):
        for stage in recipes(name).values():
            post = "\n".join(stage.install)
            pinned = re.search(r"[A-Za-z0-9_.-]+==[0-9]", post)
            assert "/opt/bpgen" in post and not pinned, f"{name}.def pins on its own"
    final, export = "\n".join(recipe("render").install), "\n".join(recipes("render")["export"].install)
    assert "[anny" in export and "--build-cache" in export and "[anny" not in final  # no anny/torch in the image
    assert '"{{ DETECTRON2_SPEC }}"' in "\n".join(recipe("train").install)


def test_1_build_print_golden(tmp_path: Path, golden):
    site = load_site_config(ROOT / "environment.sh", environ={"BPGEN_RENDER_IMAGE": "/shared/images/render.sif"})
    site = dataclasses.replace(site, project_dir=ROOT)
    builds = planned_builds(site, ("render", "train"))
    out = tmp_path / "print.txt"
    with open(out, "w") as handle, contextlib_redirect(handle):
        print_commands(site, builds, "apptainer", fakeroot=True)
    text = re.sub(r"CONTENT_HASH=[0-9a-f]{16}", "CONTENT_HASH=<hash>", out.read_text()).replace(str(ROOT), "<project>")
    golden("1-build-print-all.txt", text)
    assert "--fakeroot" in text and "DETECTRON2_SPEC=" + site.values["BPGEN_DETECTRON2_SPEC"] in text


def contextlib_redirect(handle):  # type: ignore[no-untyped-def]
    import contextlib

    return contextlib.redirect_stdout(handle)


def test_content_hash_follows_the_inputs(tmp_path: Path):
    project = tmp_path / "p"
    for name in COPIED:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        if "." in name:
            (project / name).write_text(name)
        else:
            (project / name).mkdir()
            (project / name / "a.py").write_text("x = 1\n")
    definition = project / "image.def"
    definition.write_text("Bootstrap: docker\n")
    first = content_hash(project, definition, "spec")
    assert content_hash(project, definition, "spec") == first
    assert content_hash(project, definition, "other spec") != first
    (project / "bpgen" / "a.py").write_text("x = 2\n")
    assert content_hash(project, definition, "spec") != first


def test_1_build_without_apptainer_says_so():
    if any(Path(d, n).exists() for d in os.environ["PATH"].split(":") for n in ("apptainer", "singularity")):
        pytest.skip("apptainer is installed here: the missing-runtime error cannot be shown")
    result = subprocess.run([str(ROOT / "1-build"), "render"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "neither apptainer nor singularity" in result.stderr
    assert "./1-build --print" in result.stderr


# --- 00-clean -----------------------------------------------------------------------------------------------------

OLD = time.time() - 30 * 86400


def make(path: Path, old: bool = True, content: str = "x" * 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    if old:
        os.utime(path, (OLD, OLD))
    return path


def age(path: Path) -> Path:
    os.utime(path, (OLD, OLD), follow_symlinks=False)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    root, scratch, outside = tmp_path / "runs", tmp_path / "scratch", tmp_path / "outside"
    run = root / "acro"
    slurm, image = run / layout.SLURM, layout.image_file(0, "jpg")
    paths = {
        "done": make(layout.shard_dir(run, 0) / layout.DONE),
        "image": make(layout.shard_dir(run, 0) / image),
        "old_tmp": age(age(make(layout.temp_dir(run, 1) / image).parent).parent),
        "new_tmp": make(layout.scene_checkpoint(layout.temp_dir(run, 2), 0), old=False).parent.parent,
        "dataset": make(layout.dataset_dir(run) / layout.DATASET_STATS),
        "merge_tmp": make(layout.dataset_temp_dir(run) / layout.DATASET_STATS).parent,
        "old_pickle": make(slurm / "15_0_submitted.pkl"),  # submitit's own name (layout.job_of_file reads it)
        "old_log": make(layout.task_log(slurm, "15_0")),
        "new_log": make(layout.task_log(slurm, "16_0"), old=False),
        "old_job_log": make(stage_log(run / layout.LOGS, "merge", 17)),
        "config": make(run / layout.CONFIG),
        "bproc_tmp": age(make(scratch / f"{layout.SCRATCH_PREFIX}abc" / "blend.tmp").parent),  # its file is old too
        "foreign_tmp": age(make(scratch / "someone_else" / "f").parent),
        "outside_file": make(outside / "precious.txt"),
        "outside_run_file": make(layout.temp_dir(outside / "run", 0) / "x"),
    }
    (slurm / "link_out").symlink_to(outside)
    age(slurm / "link_out")
    (root / "evil").symlink_to(outside / "run")
    paths.update(root=root, scratch=scratch, run=run, link=slurm / "link_out")
    return paths


def clean(
    tree: dict[str, Path], *args: str, stdin: str | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, BPGEN_DATA_ROOT=str(tree["root"]), BPGEN_SCRATCH=str(tree["scratch"])) | extra
    return subprocess.run(
        [str(ROOT / "00-clean"), *args], capture_output=True, text=True, env=env, input=stdin, timeout=60
    )


def test_clean_removes_exactly_the_safe_paths(tree: dict[str, Path], fake_queue: Callable[..., None]):
    dry = clean(tree, "--dry-run")
    assert dry.returncode == 0 and "would be freed (dry run)" in dry.stdout
    assert all(p.exists() or p.is_symlink() for p in tree.values())  # a dry run deletes nothing
    result = clean(tree)
    assert result.returncode == 0, result.stderr
    removed = {"old_tmp", "merge_tmp", "old_pickle", "old_log", "old_job_log", "bproc_tmp", "link"}
    for name, path in tree.items():
        exists = path.exists() or path.is_symlink()
        assert exists == (name not in removed), f"{name}: {path} {'survived' if exists else 'was removed'}"
    assert tree["outside_file"].read_text() == "x" * 100  # the symlink was removed, not followed
    listed = {line.split("  (")[0].split(" ", 2)[-1] for line in dry.stdout.splitlines() if "  (" in line}
    assert listed == {line.split("  (")[0].split(" ", 1)[-1] for line in result.stdout.splitlines() if "  (" in line}


def test_clean_of_one_run_and_age_threshold(tree: dict[str, Path], fake_queue: Callable[..., None]):
    result = clean(tree, "acro", "--older-than", "0")
    assert result.returncode == 0
    assert not tree["new_tmp"].exists() and not tree["new_log"].exists()
    assert not tree["bproc_tmp"].exists() and tree["foreign_tmp"].exists()  # scratch: only bpgen's temp dirs
    assert tree["done"].exists() and tree["dataset"].exists()


def test_clean_all_needs_confirmation_and_stays_inside_the_data_root(
    tree: dict[str, Path], fake_queue: Callable[..., None]
):
    refused = clean(tree, "--all")
    assert refused.returncode == 2 and "--yes" in refused.stderr and tree["done"].exists()
    result = clean(tree, "--all", "--yes")
    assert result.returncode == 0 and not tree["run"].exists()
    assert tree["outside_run_file"].exists() and tree["outside_file"].exists()  # evil -> outside was not followed
    assert clean(tree, "nope").returncode == 2


def test_clean_of_a_named_run_stays_inside_the_data_root(tree: dict[str, Path], fake_queue: Callable[..., None]):
    nope = clean(tree, "nope", "--dry-run")
    assert nope.returncode == 2 and nope.stderr.startswith("error: nope is not a bpgen run")
    for given in ("evil", str(tree["root"] / "evil")):  # a link to a run outside
        refused = clean(tree, given, "--older-than", "0")
        assert refused.returncode == 2 and "symlink" in refused.stderr and len(refused.stderr.splitlines()) == 1
    outside = clean(tree, str(tree["outside_run_file"].parents[2]), "--older-than", "0")
    assert outside.returncode == 2 and "outside BPGEN_DATA_ROOT" in outside.stderr
    assert tree["outside_run_file"].exists()
    fresh = tree["root"] / "fresh"  # run.yaml only (nothing rendered yet) is a run too
    make(fresh / layout.RUN_MANIFEST)
    log = make(stage_log(fresh / layout.LOGS, "merge", 3))
    listed = clean(tree, "fresh", "--dry-run")
    assert listed.returncode == 0 and f"would remove {log}" in listed.stdout


def test_clean_keeps_what_queued_jobs_and_running_merges_need(tree: dict[str, Path]):
    import fcntl

    from bpgen.ops.clean import plan_removals

    def planned(**kwargs: object) -> set[Path]:
        removals = plan_removals(tree["root"], tree["scratch"], None, 7.0, False, time.time(), **kwargs)  # type: ignore[arg-type]
        return {r.path for r in removals}

    (tree["run"] / layout.SUBMISSIONS).write_text('{"kind": "render", "job_id": "15", "shards": [0, 1]}\n')
    queued = planned(queued_job_ids=frozenset({"15"}))
    assert tree["old_pickle"] not in queued and tree["old_log"] not in queued  # a pending task still reads them
    assert tree["old_tmp"] not in queued  # a queued task may resume it
    assert tree["old_job_log"] in queued
    with open(tree["run"] / layout.MERGE_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        busy = planned()
    assert tree["merge_tmp"] not in busy and tree["old_tmp"] not in busy and tree["old_pickle"] in busy
    unknown = plan_removals(tree["root"], tree["scratch"], None, 7.0, False, time.time(), queued_job_ids=None)
    doubtful = {r.path for r in unknown if r.queue_unknown}
    # what job 15 (render) and job 17 (merge, its log) could still need
    assert doubtful == {tree["old_tmp"], tree["old_pickle"], tree["old_log"], tree["old_job_log"]}
    assert {r.path for r in unknown} == planned()  # otherwise planned as with an empty queue
    os.utime(tree["old_tmp"] / layout.image_file(0, "jpg"))  # written just now: the shard is rendering
    assert tree["old_tmp"] not in planned()


def test_clean_without_the_queue_lists_but_removes_nothing(tree: dict[str, Path], dead_controller: str):
    (tree["run"] / layout.SUBMISSIONS).write_text('{"kind": "render", "job_id": "15", "shards": [0, 1]}\n')
    dry = clean(tree, "--dry-run", SLURM_CONF=dead_controller)
    assert dry.returncode == 0, dry.stderr
    assert "warning: cannot read the queue" in dry.stderr
    lines = {line.split("  (")[0].split(" ", 2)[-1]: line for line in dry.stdout.splitlines() if "  (" in line}
    for name in ("old_tmp", "old_pickle", "old_log", "old_job_log"):  # job 15's and 17's: kept if still queued
        assert lines[str(tree[name])].endswith("; unless a queued job still needs it: queue unknown)")
    for name in ("merge_tmp", "bproc_tmp"):  # no queued job uses these
        assert "queue unknown" not in lines[str(tree[name])]
    assert "4 kept if a queued job needs them: queue unknown" in dry.stdout.splitlines()[-1]
    real = clean(tree, SLURM_CONF=dead_controller)
    assert real.returncode == 2 and "cannot read the queue" in real.stderr and "--dry-run" in real.stderr
    assert all(p.exists() or p.is_symlink() for p in tree.values())  # nothing removed


def test_clean_keeps_the_only_copy_of_a_dataset_after_a_merge_killed_between_renames(
    tree: dict[str, Path], fake_queue: Callable[..., None]
):
    old = make(layout.dataset_old_dir(tree["run"]) / layout.DATASET_STATS).parent
    assert clean(tree).returncode == 0
    assert old.exists() is False  # dataset/ exists: .dataset.old is a leftover
    shutil.rmtree(tree["dataset"].parent)
    old = make(layout.dataset_old_dir(tree["run"]) / layout.DATASET_STATS).parent
    assert clean(tree).returncode == 0
    assert old.exists()  # the only copy: the next merge puts it back


def test_clean_all_never_removes_a_run_whose_jobs_are_queued(tree: dict[str, Path]):
    (tree["run"] / layout.SUBMISSIONS).write_text('{"kind": "merge", "job_id": "21", "dependency": ""}\n')

    from bpgen.ops.clean import plan_removals

    def whole_runs(queued: frozenset[str]) -> set[Path]:
        removals = plan_removals(tree["root"], tree["scratch"], None, 7.0, True, time.time(), queued)
        return {r.path for r in removals if r.reason == "whole run (--all)"}

    assert tree["run"] not in whole_runs(frozenset({"21"}))
    assert tree["run"] in whole_runs(frozenset({"22"}))


def test_clean_keeps_the_logs_of_queued_merge_and_train_jobs(tree: dict[str, Path], fake_queue: Callable[..., None]):
    """logs/<stage>_<job>.log belongs to job <job> (not to a job "merge"); a local shard log to no job."""
    from bpgen.ops.clean import plan_removals

    shard_log = make(layout.local_shard_log(tree["run"] / layout.LOGS, 3))
    train_log = make(stage_log(tree["run"] / layout.LOGS, "train", 18))
    fake_queue("17", "18")
    kept = clean(tree)
    assert kept.returncode == 0, kept.stderr
    assert tree["old_job_log"].exists() and train_log.exists()  # merge job 17 and train job 18 are queued
    assert not shard_log.exists() and not tree["old_pickle"].exists()  # no job / job 15, not queued
    fake_queue("18")
    gone = clean(tree)
    assert gone.returncode == 0, gone.stderr
    assert not tree["old_job_log"].exists() and train_log.exists()  # merge job 17 left the queue
    unknown = plan_removals(tree["root"], tree["scratch"], None, 7.0, False, time.time(), queued_job_ids=None)
    assert {r.path for r in unknown if r.queue_unknown} == {train_log}  # a job's log, the queue unknown
