# Shared by jobs/*.sbatch (sourced after they found the checkout): environment.sh, the run, the Python to use.
# Functions exit with a one-line error naming the fix.

source "$BPGEN_HOME/environment.sh"

bpgen_log() { echo "[bpgen $(date +%H:%M:%S)] $*" >&2; }

# bpgen_abs PATH: environment.sh paths are relative to the checkout.
bpgen_abs() { case "$1" in /*) echo "$1" ;; *) echo "$BPGEN_HOME/${1#./}" ;; esac; }

# bpgen_run_dir NAME_OR_PATH: a run directory (holding run.yaml) given by path or by name under BPGEN_DATA_ROOT.
bpgen_run_dir() {
  local run="$1" root
  root="$(bpgen_abs "$BPGEN_DATA_ROOT")"
  if [ -z "$run" ]; then
    echo "error: no run given; use: sbatch $0 RUN (a run name or directory), or export BPGEN_RUN=RUN" >&2
    exit 2
  fi
  local dir
  for dir in "$run" "$root/$run"; do
    if [ -f "$dir/run.yaml" ]; then
      (cd "$dir" && pwd)
      return
    fi
  done
  echo "error: run $run not found (no run.yaml in $run or $root/$run); render it first with ./2-submit --run NAME" >&2
  exit 2
}

# bpgen_python IMAGE: the command that runs Python: inside IMAGE with apptainer when set, else the project venv.
bpgen_python() {
  local image="$1"
  if [ -n "$image" ]; then
    local runtime
    runtime="$(command -v apptainer || command -v singularity || true)"
    if [ -z "$runtime" ]; then
      echo "error: a container image is set ($image) but neither apptainer nor singularity is on PATH; load it or empty the image variable in environment.sh" >&2
      exit 2
    fi
    local nv=""
    if [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then nv="--nv"; fi
    echo "$runtime exec $nv --bind $(realpath -m "$(bpgen_abs "$BPGEN_DATA_ROOT")"),$(realpath -m "$BPGEN_SCRATCH") $image python3"
    return
  fi
  local venv
  venv="$(bpgen_abs "$BPGEN_VENV")"
  if [ ! -x "$venv/bin/python" ]; then
    echo "error: no bpgen environment at $venv; run ./0-setup on a node that shares this file system" >&2
    exit 2
  fi
  echo "$venv/bin/python"
}
