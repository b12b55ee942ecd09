"""The run directory layout: the one place in bpgen that spells its file and directory names.

``RUN/`` holds
  run.yaml           name, shard count, images per shard, the overrides it was composed from, creation time
  config.yaml        the resolved render config every shard renders with (frozen at the first submission)
  environment.sh     the environment.sh values of the latest submission (NAME=${NAME:-value} lines)
  submissions.jsonl  one line per sbatch / local run: job id, and for arrays the shard of each task
  shards/            shard_<K:06d>/ (DONE.json when complete), .shard_<K:06d>.tmp/ while rendering
  slurm/             submitit's folder: sbatch scripts, task pickles, logs <array job>_<task>_0_log.out
  logs/              merge/train job logs <stage>_<job id>.log and local-run shard logs shard_<K:06d>.log
  dataset/           the merged dataset (.dataset.tmp/ while merging, .dataset.old/ during the swap):
                     images/<split>/<shard:06d>_<frame:06d>.<ext>, annotations/instances_<split>.json, stats.json,
                     <split>_pbr/<chunk:06d>/ (BOP; the names inside a chunk are BOP's own, bpgen.merge.shard_merge)
  train/<name>/      a training's output (bpgen_train)
  superseded/<time>/ shards and config of an earlier config (--force-new-config)

A shard directory (the contract that merge and training read) holds config.yaml, images/<frame:06d>.<ext>,
depth/<frame:06d>.png (with write_depth), coco.json, frames.jsonl and DONE.json (written last); while it renders,
its temp dir also holds scenes/scene_<S:05d>.json checkpoints and blender.log. The dataset's BOP part is
``<split>_pbr/<chunk:06d>/``. Standard library only.
"""

from __future__ import annotations

import re
from pathlib import Path

from bpgen.errors import UserError

# files and directories of RUN/
RUN_MANIFEST = "run.yaml"
CONFIG = "config.yaml"
ENVIRONMENT_COPY = "environment.sh"
SUBMISSIONS = "submissions.jsonl"
SHARDS = "shards"
SLURM = "slurm"
LOGS = "logs"
DATASET = "dataset"
SUPERSEDED = "superseded"
MERGE_LOCK = ".merge.lock"
LOCAL_LOCK = ".local.lock"
TRAIN = "train"  # trainings: train/<config name>/
# the merged dataset
ANNOTATIONS = "annotations"
DATASET_STATS = "stats.json"
PARTS = "parts"
# files of a shard directory
DONE = "DONE.json"
IMAGES = "images"
DEPTH = "depth"
SCENES = "scenes"
BLENDER_LOG = "blender.log"
COCO = "coco.json"
FRAMES = "frames.jsonl"
# Blender's temp dirs under BPGEN_SCRATCH (or the system temp dir), one per render process
SCRATCH_PREFIX = "bpgen_bproc_"
SPLITS = ("train", "val")  # the merged dataset's splits
MERGE_CONFIG = "merge.yaml"  # the merge's resolved config, in the dataset
PLOTS = "plots"  # the dataset's stats plots
CONTACT_SHEET = "contact_sheet.png"  # the dataset's labelled sample sheet
PREVIEW = "preview.png"  # a shard's labelled contact sheet (python -m bpgen.preview)

MAX_SHARDS = 1_000_000  # shard ids are named with 6 digits (shard_000000 .. shard_999999)
# Frames are named with 6 digits in a shard (images/<frame:06d>.jpg, depth/<frame:06d>.png) and in the merged
# dataset (<shard:06d>_<frame:06d>.jpg, badlists): the one bound of images per shard, for render and 2-submit.
MAX_IMAGES_PER_SHARD = 999_999

_SHARD_ENTRY = re.compile(r"^\.?shard_(\d+)(?:\.tmp)?$")
_MERGED_IMAGE = re.compile(r"^(\d{6})_(\d{6})\.\w+$")
_SHARD_IMAGE = re.compile(r"^(?:.*/)?shard_(\d{6})/images/(\d{6})\.\w+$")
_STAGE_LOG = re.compile(r"^(?P<stage>[a-z]+)_(?P<job>\d+)\.log$")


class ShardLimitError(UserError, ValueError):
    """A shard id or image count the shard layout cannot name; the message names the bound and the fix."""


def check_images_per_shard(images: int, flag: str = "--images") -> None:
    """Refuse more images than a shard can name (``MAX_IMAGES_PER_SHARD``); cheap, before any allocation."""
    if images > MAX_IMAGES_PER_SHARD:
        raise ShardLimitError(
            f"{flag} {images} is more than one shard can hold ({MAX_IMAGES_PER_SHARD:,} images: frames are named "
            f"with 6 digits); render them as more shards of at most {MAX_IMAGES_PER_SHARD:,} images"
        )


def check_shard_id(shard: int, flag: str = "--shard") -> None:
    """Refuse a shard id the layout cannot name (ids 0 .. ``MAX_SHARDS - 1``, 6 digits)."""
    if shard >= MAX_SHARDS:
        raise ShardLimitError(
            f"{flag} {shard} is above {MAX_SHARDS - 1:,}, the highest shard id (shard_<6 digits>); use a smaller id"
        )


def submit_lock(run_dir: Path) -> Path:
    """The submission lock of a run: next to the run directory, so it exists before the run does."""
    run_dir = Path(run_dir)
    return run_dir.parent / f".{run_dir.name}.submit.lock"


def shard_name(shard: int) -> str:
    return f"shard_{shard:06d}"


def shards_dir(run_dir: Path) -> Path:
    return Path(run_dir) / SHARDS


def shard_dir(run_dir: Path, shard: int) -> Path:
    return shards_dir(run_dir) / shard_name(shard)


def temp_dir(run_dir: Path, shard: int) -> Path:
    return shards_dir(run_dir) / f".{shard_name(shard)}.tmp"


def temp_dirs(run_dir: Path) -> list[Path]:
    """The shard temp dirs present (incomplete shards)."""
    return sorted(shards_dir(run_dir).glob(".shard_*.tmp"))


def shard_ids_present(run_dir: Path) -> list[int]:
    """Ids of the shard directories and temp dirs present, complete or not."""
    found = (_SHARD_ENTRY.match(p.name) for p in shards_dir(run_dir).glob("*shard_*"))
    return sorted({int(match[1]) for match in found if match})


def is_done(run_dir: Path, shard: int) -> bool:
    return (shard_dir(run_dir, shard) / DONE).is_file()


def image_file(frame: int, image_format: str) -> str:
    """A frame's image, relative to its shard directory."""
    return f"{IMAGES}/{frame:06d}.{image_format}"


def depth_file(frame: int) -> str:
    """A frame's depth map, relative to its shard directory."""
    return f"{DEPTH}/{frame:06d}.png"


def scene_checkpoint(tmp: Path, scene: int) -> Path:
    return tmp / SCENES / f"scene_{scene:05d}.json"


def dataset_dir(run_dir: Path) -> Path:
    return Path(run_dir) / DATASET


def dataset_temp_dir(run_dir: Path) -> Path:
    """Where a merge builds the dataset before it is swapped into place."""
    return Path(run_dir) / f".{DATASET}.tmp"


def dataset_old_dir(run_dir: Path) -> Path:
    """The previous dataset during the swap (the only copy when a merge was killed between two renames)."""
    return Path(run_dir) / f".{DATASET}.old"


def instances_file(dataset: Path, split: str) -> Path:
    """A split's COCO file in a merged dataset."""
    return Path(dataset) / ANNOTATIONS / f"instances_{split}.json"


def dataset_images_dir(dataset: Path, split: str) -> Path:
    """A split's images in a merged dataset (``<shard:06d>_<frame:06d>.<ext>``, ``merged_image_name``)."""
    return Path(dataset) / IMAGES / split


def merged_image_name(shard: int, frame: int, extension: str) -> str:
    """A frame's name in the merged dataset; ``extension`` with its dot."""
    return f"{shard:06d}_{frame:06d}{extension}"


def image_of_name(name: str) -> tuple[int, int] | None:
    """(shard, frame) of an image named as merged (``000003_000012.jpg``, any directory before it) or as in its
    shard (``.../shard_000003/images/000012.jpg``); None for any other name."""
    match = _MERGED_IMAGE.match(name.rsplit("/", 1)[-1]) or _SHARD_IMAGE.match(name)
    return (int(match[1]), int(match[2])) if match else None


def merge_parts_dir(dataset: Path, split: str) -> Path:
    """Where merge workers leave a split's per-shard annotation parts (removed when the merge finishes)."""
    return Path(dataset) / PARTS / split


def merge_part(parts_dir: Path, shard: int, key: str) -> Path:
    """One shard's fragment of a split's COCO ``key`` ("images" or "annotations") in its parts dir."""
    return Path(parts_dir) / f"{shard:06d}.{key}"


def shard_merge_outputs(dataset: Path, split: str, shard: int) -> list[Path]:
    """What merging one shard wrote into a split's images and parts (to take it back when the shard is skipped)."""
    images = dataset_images_dir(dataset, split).glob(f"{shard:06d}_*")
    return sorted(images) + sorted(merge_parts_dir(dataset, split).glob(f"{shard:06d}.*"))


def train_output_dir(run_dir: Path, name: str) -> Path:
    """Where ``bpgen_train.train_net`` writes a training of the run's dataset by default."""
    return Path(run_dir) / TRAIN / name


def bop_chunk_dir(dataset: Path, split: str, chunk: int) -> Path:
    """BOP-style ``<split>_pbr/<chunk:06d>/``."""
    return bop_split_dir(dataset, split) / f"{chunk:06d}"


def bop_split_dir(dataset: Path, split: str) -> Path:
    return Path(dataset) / f"{split}_pbr"


def local_shard_log(logs_dir: Path, shard: int) -> Path:
    """The log of a shard rendered by ``2-submit --local``."""
    return Path(logs_dir) / f"{shard_name(shard)}.log"


def stage_log_pattern(logs_dir: Path, stage: str) -> str:
    """sbatch ``--output`` of a merge or train job (``%j``: Slurm writes the job id)."""
    return f"{logs_dir}/{stage}_%j.log"


def task_log(slurm_dir: Path, stem: str) -> Path:
    """submitit's log of one task, ``stem`` = ``<array job>_<task>`` or ``<job id>``."""
    return Path(slurm_dir) / f"{stem}_0_log.out"


def job_of_file(name: str) -> str | None:
    """The Slurm job id a file of slurm/ or logs/ belongs to, or None for a file of no job.

    submitit's files start with the job id (``<job>_<task>_0_log.out``, ``<job>_submitted.pkl``); merge and train
    logs end with it (``merge_<job>.log``); local shard logs (``shard_<K>.log``) belong to no job.
    """
    stage = _STAGE_LOG.match(name)
    if stage:
        return None if stage["stage"] == "shard" else stage["job"]
    head = name.split("_", 1)[0]
    return head if head.isdigit() else None
