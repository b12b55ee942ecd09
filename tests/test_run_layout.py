"""The run directory layout's actual spellings (bpgen/run/layout.py), pinned once.

The other tests build their paths with ``layout``; the literals here are the contract that jobs, users and older
runs rely on, so a change to any name fails here and nowhere else by accident."""

from __future__ import annotations

from pathlib import Path

from helpers import stage_log

from bpgen.run import layout

R = Path("R")


def test_run_files_and_directories():
    assert (layout.RUN_MANIFEST, layout.CONFIG) == ("run.yaml", "config.yaml")
    assert (layout.ENVIRONMENT_COPY, layout.SUBMISSIONS) == ("environment.sh", "submissions.jsonl")
    assert (layout.SHARDS, layout.SLURM, layout.LOGS, layout.DATASET) == ("shards", "slurm", "logs", "dataset")
    assert (layout.MERGE_LOCK, layout.LOCAL_LOCK, layout.SUPERSEDED) == (".merge.lock", ".local.lock", "superseded")
    assert layout.submit_lock(Path("/data/acro")) == Path("/data/.acro.submit.lock")  # next to the run
    assert layout.SCRATCH_PREFIX == "bpgen_bproc_"
    assert layout.train_output_dir(R, "cpu_smoke") == Path("R/train/cpu_smoke")


def test_shard_directories_and_their_files():
    assert layout.shard_name(3) == "shard_000003"
    assert layout.shards_dir(R) == Path("R/shards")
    assert layout.shard_dir(R, 3) == Path("R/shards/shard_000003")
    assert layout.temp_dir(R, 3) == Path("R/shards/.shard_000003.tmp")
    assert (layout.DONE, layout.COCO, layout.FRAMES) == ("DONE.json", "coco.json", "frames.jsonl")
    assert (layout.IMAGES, layout.DEPTH, layout.SCENES) == ("images", "depth", "scenes")
    assert layout.BLENDER_LOG == "blender.log"
    assert layout.image_file(12, "jpg") == "images/000012.jpg"
    assert layout.depth_file(12) == "depth/000012.png"
    checkpoint = Path("R/shards/.shard_000003.tmp/scenes/scene_00001.json")
    assert layout.scene_checkpoint(layout.temp_dir(R, 3), 1) == checkpoint


def test_dataset_directories_and_files():
    dataset = layout.dataset_dir(R)
    assert dataset == Path("R/dataset")
    assert layout.dataset_temp_dir(R) == Path("R/.dataset.tmp")
    assert layout.dataset_old_dir(R) == Path("R/.dataset.old")
    assert layout.instances_file(dataset, "train") == Path("R/dataset/annotations/instances_train.json")
    assert layout.dataset_images_dir(dataset, "val") == Path("R/dataset/images/val")
    assert layout.merged_image_name(3, 12, ".jpg") == "000003_000012.jpg"
    assert layout.DATASET_STATS == "stats.json"
    assert layout.bop_split_dir(dataset, "train") == Path("R/dataset/train_pbr")
    assert layout.bop_chunk_dir(dataset, "train", 0) == Path("R/dataset/train_pbr/000000")
    assert layout.merge_part(layout.merge_parts_dir(dataset, "train"), 3, "images") == Path(
        "R/dataset/parts/train/000003.images"
    )


def test_logs():
    assert layout.local_shard_log(Path("R/logs"), 3) == Path("R/logs/shard_000003.log")
    assert layout.stage_log_pattern(Path("R/logs"), "merge") == "R/logs/merge_%j.log"
    assert stage_log(Path("R/logs"), "merge", 17) == Path("R/logs/merge_17.log")  # tests' helper: the filled pattern
    assert layout.task_log(Path("R/slurm"), "123_4") == Path("R/slurm/123_4_0_log.out")
    assert layout.task_log(Path("R/slurm"), "123") == Path("R/slurm/123_0_log.out")


def test_job_of_file():
    assert layout.job_of_file("123_4_0_log.out") == "123"
    assert layout.job_of_file("123_submitted.pkl") == "123"
    assert layout.job_of_file("merge_17.log") == "17"
    assert layout.job_of_file("train_18.log") == "18"
    assert layout.job_of_file("shard_000003.log") is None  # a local shard log belongs to no job
    assert layout.job_of_file("notes.txt") is None


def test_image_of_name():
    assert layout.image_of_name("000003_000012.jpg") == (3, 12)
    assert layout.image_of_name("images/train/000003_000012.png") == (3, 12)
    assert layout.image_of_name("shard_000003/images/000012.jpg") == (3, 12)
    assert layout.image_of_name("/R/shards/shard_000003/images/000012.jpg") == (3, 12)
    assert layout.image_of_name("cat.jpg") is None
    assert layout.image_of_name("shard_3/images/12.jpg") is None


def test_shard_ids_present_and_temp_dirs(tmp_path: Path):
    shards = layout.shards_dir(tmp_path)
    for name in ("shard_000001", ".shard_000004.tmp", "my_shard_000005", "shard_000007.bak", "notes"):
        (shards / name).mkdir(parents=True)
    (shards / "shard_000009.txt").write_text("junk")
    assert layout.shard_ids_present(tmp_path) == [1, 4]
    assert layout.temp_dirs(tmp_path) == [shards / ".shard_000004.tmp"]
    (shards / "shard_000001" / "DONE.json").write_text("{}")
    assert layout.is_done(tmp_path, 1) and not layout.is_done(tmp_path, 4)
