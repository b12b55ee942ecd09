# Shared by ./1-build, ./2-submit, ./00-clean and jobs/*.sbatch (sourced once they found the checkout): sets and
# exports BPGEN_HOME (this checkout), reads environment.sh, and chooses the Python to run. Functions exit with a
# one-line error naming the fix.

BPGEN_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
export BPGEN_HOME
source "$BPGEN_HOME/environment.sh"

bpgen_log() { echo "[bpgen $(date +%H:%M:%S)] $*" >&2; }

# bpgen_abs PATH: environment.sh paths are relative to the checkout (~ is the home directory), as in bpgen.run.site.
bpgen_abs() {
  case "$1" in
    /*) echo "$1" ;;
    "~" | "~/"*) echo "$HOME${1#\~}" ;;
    *) echo "$BPGEN_HOME/${1#./}" ;;
  esac
}

# The data root and scratch as absolute paths, exported: every Python started from here (the venv's, or one in a
# container whose own copy of environment.sh lies elsewhere) resolves the same directories. Empty stays empty
# (Python refuses it, naming the variable).
if [ -n "$BPGEN_DATA_ROOT" ]; then BPGEN_DATA_ROOT="$(bpgen_abs "$BPGEN_DATA_ROOT")"; fi
if [ -n "$BPGEN_SCRATCH" ]; then BPGEN_SCRATCH="$(bpgen_abs "$BPGEN_SCRATCH")"; fi
export BPGEN_DATA_ROOT BPGEN_SCRATCH

# bpgen_runtime: the container runtime on PATH, apptainer else singularity (same CLI); prints nothing when neither.
# The same rule as bpgen.ops.containers.find_runtime (tests/test_admin_paths.py checks that both agree).
bpgen_runtime() { command -v apptainer || command -v singularity || true; }

# bpgen_python IMAGE: sets the array BPGEN_PY to the command that runs Python: python3 inside IMAGE (apptainer or
# singularity, binding the data root and scratch) when IMAGE is set, else the project venv's python. An array, not
# a string: a path with spaces stays one argument. Call it directly (not in $(...)): it sets BPGEN_PY.
bpgen_python() {
  local image="$1"
  if [ -n "$image" ]; then
    local runtime
    runtime="$(bpgen_runtime)"
    if [ -z "$runtime" ]; then
      echo "error: a container image is set ($image) but neither apptainer nor singularity is on PATH; load it or empty the image variable in environment.sh" >&2
      exit 2
    fi
    BPGEN_PY=("$runtime" exec)
    if [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then BPGEN_PY+=(--nv); fi
    BPGEN_PY+=(--bind "$(realpath -m "$BPGEN_DATA_ROOT"),$(realpath -m "$BPGEN_SCRATCH")" "$(bpgen_abs "$image")" python3)
    return
  fi
  local venv
  venv="$(bpgen_abs "$BPGEN_VENV")"
  if [ ! -x "$venv/bin/python" ]; then
    echo "error: no bpgen environment at $venv; run ./0-setup on a node that shares this file system" >&2
    exit 2
  fi
  BPGEN_PY=("$venv/bin/python")
}

# bpgen_system_python: sets BPGEN_PY to the python3 on PATH (3.8 or newer), standard library only: -E -s ignore
# PYTHONPATH and the user's site-packages. For ./1-build, which runs on build hosts that have no venv.
bpgen_system_python() {
  local python
  python="$(command -v python3 || true)"
  if [ -z "$python" ]; then
    echo "error: no python3 on PATH; install the system python3 (3.8 or newer, standard library only)" >&2
    exit 2
  fi
  BPGEN_PY=("$python" -E -s)
  if ! "${BPGEN_PY[@]}" -c 'import sys; sys.exit(sys.version_info < (3, 8))'; then
    echo "error: $python is $("$python" --version 2>&1); put python3 3.8 or newer first on PATH" >&2
    exit 2
  fi
}

# bpgen_exec [--system] MODULE ARGS...: replace this shell with `python -m MODULE ARGS...`, the venv's python
# (bpgen_python), or with --system the python3 on PATH run from the checkout (bpgen_system_python; ARGS must not be
# relative paths). The entry points ./1-build, ./2-submit and ./00-clean are this one call.
bpgen_exec() {
  if [ "${1:-}" = --system ]; then
    shift
    bpgen_system_python
    cd "$BPGEN_HOME"  # python -m imports this checkout's bpgen (-E: PYTHONPATH is ignored)
  else
    bpgen_python ""
  fi
  exec "${BPGEN_PY[@]}" -m "$@"
}

# bpgen_job IMAGE ARGS...: for jobs/*.sbatch. The run is the first of ARGS unless that is an option or key=value,
# else $BPGEN_RUN. Sets BPGEN_PY (bpgen_python IMAGE), BPGEN_RUN_DIR (the run's directory, as
# `python -m bpgen.run` resolves it: a name under BPGEN_DATA_ROOT or a directory) and BPGEN_SHIFT (1 when the
# run was the first argument: `shift "$BPGEN_SHIFT"` leaves the job's own arguments).
bpgen_job() {
  local image="$1" run
  shift
  if [ -n "${1:-}" ] && [ "${1#-}" = "$1" ] && [ "${1#*=}" = "$1" ]; then
    run="$1"
    BPGEN_SHIFT=1
  else
    run="${BPGEN_RUN:-}"
    BPGEN_SHIFT=0
  fi
  if [ -z "$run" ]; then
    echo "error: no run given; use: sbatch $0 RUN (a run name or directory), or export BPGEN_RUN=RUN" >&2
    exit 2
  fi
  bpgen_python "$image"
  BPGEN_RUN_DIR="$("${BPGEN_PY[@]}" -m bpgen.run "$run")" || exit  # its one error: line, exit 2
}
