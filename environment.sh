# bpgen site configuration: the one file cluster admins edit.
# Plain NAME=${NAME:-default} lines: a value already set in the environment wins. Shell entry points
# `source` this file; Python reads it with bpgen.settings (no shell evaluation of user strings).

# --- paths -------------------------------------------------------------------------------------------------
BPGEN_DATA_ROOT=${BPGEN_DATA_ROOT:-./runs}              # where runs (shards, merged datasets) are written
BPGEN_SCRATCH=${BPGEN_SCRATCH:-/tmp}                    # node-local scratch for Blender temp files
BPGEN_CACHE_DIR=${BPGEN_CACHE_DIR:-./cache}             # model caches built once by ./0-setup (anny: ~50 MB), read by every task
BPGEN_VENV=${BPGEN_VENV:-.venv}                         # project virtual environment made by ./0-setup
BPGEN_PYTHON=${BPGEN_PYTHON:-python3.11}                # interpreter 0-setup builds the venv from (3.11: bpy 4.2)
BPGEN_TORCH_INDEX=${BPGEN_TORCH_INDEX:-}                # extra pip index for the render venv's CPU torch, e.g. https://download.pytorch.org/whl/cpu
# Asset library on shared storage, filled once (README "World lighting and the asset library"): hdris/, textures/<set>/
# PBR sets (blenderproc download cc_textures / haven). Empty = bpy's 8 CC0 HDRIs and procedural materials only.
# ./2-submit checks it and freezes its path and file list into RUN/config.yaml (world.assets_dir).
BPGEN_ASSETS_DIR=${BPGEN_ASSETS_DIR:-}

# --- render stage (Slurm array, one task per shard) ---------------------------------------------------------
BPGEN_RENDER_PARTITION=${BPGEN_RENDER_PARTITION:-}      # empty = cluster default partition
BPGEN_RENDER_ACCOUNT=${BPGEN_RENDER_ACCOUNT:-}          # empty = user's default account
BPGEN_RENDER_QOS=${BPGEN_RENDER_QOS:-}                  # empty = default QOS
BPGEN_RENDER_TIME=${BPGEN_RENDER_TIME:-04:00:00}        # wall time per shard
BPGEN_RENDER_CPUS=${BPGEN_RENDER_CPUS:-8}               # CPUs per shard (Cycles threads = SLURM_CPUS_PER_TASK)
BPGEN_RENDER_MEM=${BPGEN_RENDER_MEM:-16G}               # memory per shard
BPGEN_RENDER_GPUS=${BPGEN_RENDER_GPUS:-0}               # GPUs per shard (0 = CPU rendering)
BPGEN_ARRAY_THROTTLE=${BPGEN_ARRAY_THROTTLE:-64}        # max shards running at once (sbatch --array=...%N)

# --- merge stage -------------------------------------------------------------------------------------------
BPGEN_MERGE_PARTITION=${BPGEN_MERGE_PARTITION:-}
BPGEN_MERGE_ACCOUNT=${BPGEN_MERGE_ACCOUNT:-}
BPGEN_MERGE_QOS=${BPGEN_MERGE_QOS:-}
BPGEN_MERGE_TIME=${BPGEN_MERGE_TIME:-02:00:00}
BPGEN_MERGE_CPUS=${BPGEN_MERGE_CPUS:-4}
BPGEN_MERGE_MEM=${BPGEN_MERGE_MEM:-8G}

# --- train stage -------------------------------------------------------------------------------------------
BPGEN_TRAIN_PARTITION=${BPGEN_TRAIN_PARTITION:-}
BPGEN_TRAIN_ACCOUNT=${BPGEN_TRAIN_ACCOUNT:-}
BPGEN_TRAIN_QOS=${BPGEN_TRAIN_QOS:-}
BPGEN_TRAIN_TIME=${BPGEN_TRAIN_TIME:-24:00:00}
BPGEN_TRAIN_NODES=${BPGEN_TRAIN_NODES:-1}
BPGEN_TRAIN_CPUS=${BPGEN_TRAIN_CPUS:-16}
BPGEN_TRAIN_MEM=${BPGEN_TRAIN_MEM:-64G}
BPGEN_TRAIN_GPUS=${BPGEN_TRAIN_GPUS:-4}                 # GPUs per node

# --- containers (Apptainer); empty = run in the project venv ---------------------------------------------------
BPGEN_RENDER_IMAGE=${BPGEN_RENDER_IMAGE:-}               # e.g. /shared/images/bpgen-render.sif
BPGEN_TRAIN_IMAGE=${BPGEN_TRAIN_IMAGE:-}                 # e.g. /shared/images/bpgen-train.sif
BPGEN_IMAGE_DIR=${BPGEN_IMAGE_DIR:-./images}             # where ./1-build writes an image whose path above is empty
BPGEN_APPTAINER_CACHEDIR=${BPGEN_APPTAINER_CACHEDIR:-/tmp/bpgen-apptainer-cache}  # apptainer build cache
BPGEN_APPTAINER_TMPDIR=${BPGEN_APPTAINER_TMPDIR:-/tmp}   # apptainer build temp space (needs a few GB)

# --- training inputs ---------------------------------------------------------------------------------------
BPGEN_WEIGHTS_DIR=${BPGEN_WEIGHTS_DIR:-./weights}        # pretrained weights, e.g. R-50.pkl (compute nodes have no internet)
BPGEN_EXTRA_EVAL=${BPGEN_EXTRA_EVAL:-}                   # optional extra evaluation set NAME:JSON:IMAGE_ROOT (e.g. real COCO persons)
BPGEN_DETECTRON2_SPEC=${BPGEN_DETECTRON2_SPEC:-git+https://github.com/facebookresearch/detectron2.git@02b5c4e295e990042a714712c21dc79b731e8833}  # pip spec: official repo, pinned commit (or a local clone)
BPGEN_SMPLX_MODEL_DIR=${BPGEN_SMPLX_MODEL_DIR:-}         # optional user-supplied SMPL-X model files (future body)
