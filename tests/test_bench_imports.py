"""Every bench/*.py module imports (CI runs no benchmark): by file path, in a fresh interpreter in which the
optional and heavy packages (Blender, mediapipe, torch, Detectron2, the body models) cannot be imported, so a
bench script imports them only where it uses them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import ROOT

BENCH = ROOT / "bench"
MODULES = sorted(p.stem for p in BENCH.glob("*.py"))
BLOCKED = ("bpy", "blenderproc", "mathutils", "mediapipe", "torch", "torchvision", "detectron2", "anny", "mannequin")

# sys.modules[name] = None makes ``import name`` raise ImportError and importlib.util.find_spec(name) answer None,
# as if the package were not installed. Each module is imported under its file's stem (what its siblings import).
_IMPORT_ALL = """
import importlib.util, json, sys, traceback
bench, blocked, modules = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
for name in blocked:
    sys.modules[name] = None
errors = {}
for name in modules:
    try:
        spec = importlib.util.spec_from_file_location(name, f"{bench}/{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        errors[name] = None
    except BaseException:
        sys.modules.pop(name, None)
        errors[name] = traceback.format_exc(limit=-3)
print(json.dumps(errors))
"""


@pytest.fixture(scope="module")
def import_errors() -> dict[str, str | None]:
    command = [sys.executable, "-c", _IMPORT_ALL, str(BENCH), ",".join(BLOCKED), ",".join(MODULES)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_bench_holds_the_modules_this_test_imports():
    assert len(MODULES) >= 10 and {"bench_render", "realism_metrics", "blazepose_eval"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_bench_module_imports_without_optional_packages(import_errors: dict[str, str | None], module: str):
    assert import_errors[module] is None, f"bench/{module}.py does not import:\n{import_errors[module]}"
