"""Shard directory lifecycle without Blender: temp dir reuse, stale config, finalisation order."""

import json

import pytest

from bpgen.blender.scene import render_threads
from bpgen.render import lifecycle
from bpgen.run import layout


def test_temp_dir_is_reused_for_the_same_config_and_discarded_for_another(tmp_path):
    tmp = lifecycle.prepare_temp_dir(tmp_path, 3, "seed: 1\n")
    lifecycle.save_scene(tmp, 0, {"scene": 0, "frames": []})
    assert lifecycle.prepare_temp_dir(tmp_path, 3, "seed: 1\n") == tmp
    assert lifecycle.finished_scene(tmp, 0) == {"scene": 0, "frames": []}
    tmp = lifecycle.prepare_temp_dir(tmp_path, 3, "seed: 2\n")
    assert lifecycle.finished_scene(tmp, 0) is None


def test_finalize_renames_then_writes_done_last(tmp_path):
    tmp = lifecycle.prepare_temp_dir(tmp_path, 0, "seed: 1\n")
    counts = lifecycle.assemble_shard(tmp, [{"frames": []}], {"description": "x"})
    assert counts["images"] == 0 and not layout.is_done(tmp_path, 0)
    final = lifecycle.finalize(tmp_path, 0, tmp, {"counts": counts})
    assert layout.is_done(tmp_path, 0) and not tmp.exists() and not (final / layout.SCENES).exists()
    assert json.loads((final / layout.COCO).read_text())["categories"][0]["name"] == "person"


def test_a_final_dir_without_done_goes_back_to_resume(tmp_path):
    tmp = lifecycle.prepare_temp_dir(tmp_path, 0, "seed: 1\n")
    tmp.rename(layout.shard_dir(tmp_path, 0))  # killed between the rename and DONE.json
    again = lifecycle.prepare_temp_dir(tmp_path, 0, "seed: 1\n")
    assert again == tmp and (again / layout.SCENES).is_dir() and not layout.shard_dir(tmp_path, 0).exists()


@pytest.mark.parametrize(("configured", "slurm", "expected"), [(3, "8", 3), (0, "6", 6), (0, "", None)])
def test_render_threads_follow_config_then_slurm_then_affinity(monkeypatch, configured, slurm, expected):
    import os

    monkeypatch.setenv("SLURM_CPUS_PER_TASK", slurm)
    assert render_threads(configured) == (expected or len(os.sched_getaffinity(0)))


def test_scene_seeds_are_independent_per_scene():
    import numpy as np

    first = np.random.default_rng(lifecycle.scene_seed(0, 1, 0)).integers(1 << 30, size=4)
    second = np.random.default_rng(lifecycle.scene_seed(0, 1, 1)).integers(1 << 30, size=4)
    other_shard = np.random.default_rng(lifecycle.scene_seed(0, 2, 0)).integers(1 << 30, size=4)
    assert not np.array_equal(first, second) and not np.array_equal(first, other_shard)
