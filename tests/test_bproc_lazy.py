"""BlenderProc's API topics that bpgen never calls are imported on first use, not in every render task's start
(bench/README.md, "Task start-up"), and then work as before."""

from __future__ import annotations

import pytest
from helpers import blender_probe

pytestmark = pytest.mark.blender

PROBE = """
import json, os, sys
saved = os.dup(1)
os.dup2(os.open(os.environ["PROBE_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND), 1)  # Blender's prints
from bpgen.blender import bproc_adapter
bproc = bproc_adapter.load_blenderproc()
heavy = lambda: sorted(m for m in ("sklearn", "matplotlib") if m in sys.modules)
at_load = heavy()
create_primitive = bproc.object.create_primitive  # bound at load, from MeshObjectUtility
after_object = heavy()
writer = bproc.writer.write_coco_annotations  # imports blenderproc.api.writer now
import blenderproc.api.object, blenderproc.api.writer
same = create_primitive is blenderproc.api.object.create_primitive
same = same and writer is blenderproc.api.writer.write_coco_annotations
os.dup2(saved, 1)
print(json.dumps({"at_load": at_load, "after_object": after_object, "same": same}), flush=True)
from bpgen.render.cli import exit_now
exit_now(0)
"""


def test_unused_blenderproc_topics_are_imported_on_first_use(tmp_path):
    result = blender_probe(PROBE, tmp_path / "probe.log")
    assert result == {"at_load": [], "after_object": [], "same": True}
