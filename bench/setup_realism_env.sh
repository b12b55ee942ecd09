#!/usr/bin/env bash
# Create the realism benchmark's own venv (MediaPipe's BlazePose, kept out of the project venv) and check that
# BlazePose runs on a photo bundled with matplotlib, with no download.
#   bench/setup_realism_env.sh [VENV]        # default bench/.venv-realism (gitignored)
# Versions: bench/requirements-realism.txt. Interpreter: BPGEN_REALISM_PYTHON (default python3.11; mediapipe
# 0.10.14 has wheels for CPython 3.9-3.12). Idempotent: an up-to-date venv only re-runs the check.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${1:-$here/.venv-realism}"
python="${BPGEN_REALISM_PYTHON:-python3.11}"
requirements="$here/requirements-realism.txt"

if ! command -v "$python" >/dev/null 2>&1; then
  echo "error: $python not found; install Python 3.11 or set BPGEN_REALISM_PYTHON" >&2
  exit 2
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "[realism-env] creating $venv"
  "$python" -m venv "$venv"
fi
stamp="$venv/.realism-stamp"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "[realism-env] $venv is up to date with $(basename "$requirements")"
else
  echo "[realism-env] installing $(basename "$requirements") into $venv (mediapipe, jax: ~400 MB)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" >"$stamp"
fi
"$venv/bin/python" - <<'PY'
import importlib.metadata as m
print("[realism-env] " + ", ".join(f"{p} {m.version(p)}" for p in ("mediapipe", "numpy", "protobuf", "opencv-contrib-python", "pycocotools")))
PY
"$venv/bin/python" "$here/blazepose_eval.py" --self-test 2> >(grep -v -e '^W0000' -e '^I0000' -e '^INFO: Created' -e 'absl::InitializeLog' -e 'GetPrototype' -e "warnings.warn('SymbolDatabase" >&2)
echo "[realism-env] ready: $venv/bin/python"
