"""A render task imports neither torch, anny, roma nor warp: anny's forward pass is bpgen's numpy port of it
(``bpgen.bodies.anny_model``) reading the export built at set-up; only ``bpgen.bodies.anny_export`` imports them."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, render_args, tiny

from bpgen.run import layout

HEAVY = ("torch", "anny", "roma", "warp")
# the module that may import them: set-up (./0-setup, the image's build stage) and the comparison tests
SETUP_ONLY = ROOT / "bpgen" / "bodies" / "anny_export.py"

# the render CLI in this process, then what it imported (with anny people, the default body)
TASK = """
import json, os, sys
from bpgen.render.cli import main
status = main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
print(json.dumps({{"status": status, "heavy": heavy, "anny": "bpgen.bodies.anny_model" in sys.modules}}), flush=True)
os._exit(0)  # no bpy teardown
"""


@pytest.mark.blender
@pytest.mark.anny
def test_a_render_task_imports_no_torch_anny_roma_or_warp(tmp_path: Path):
    args = render_args(tmp_path, 0, 1, *tiny(people=(2, 2)))
    code = TASK.format(heavy=HEAVY)
    result = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["status"] == 0, result.stderr
    assert report["anny"] and report["heavy"] == [], report  # anny people rendered, from the numpy port
    done = json.loads((layout.shard_dir(tmp_path, 0) / layout.DONE).read_text())
    assert done["counts"]["images"] == 1 and done["body"]["model_stamp"].startswith("anny ")


def test_only_the_export_module_imports_them():
    """No module of bpgen/ but the set-up one names torch, anny, roma or warp in an import (any scope)."""
    offenders = []
    for path in sorted((ROOT / "bpgen").rglob("*.py")):
        if path == SETUP_ONLY:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names if n.split(".")[0] in HEAVY]
    assert offenders == [], offenders
