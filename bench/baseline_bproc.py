"""Baseline for bench_render.py: BlenderProc run the way its examples run it.

One process per image: start Blender (import bpy + BlenderProc), build the same scene content as bpgen
(same planner, same builder), render ONE frame, and write it with BlenderProc's own COCO writer
(``bproc.writer.write_coco_annotations``, appending to one growing coco_annotations.json).
Usage: python bench/baseline_bproc.py --out DIR --index I [overrides...]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    t0 = time.perf_counter()
    from bpgen.blender.bproc_adapter import load_blenderproc
    from bpgen.blender.scene import BlenderScene
    from bpgen.bodies.mannequin import MannequinBody
    from bpgen.render.config import compose_render_config
    from bpgen.render.lifecycle import scene_seed
    from bpgen.scene.plan import plan_scene

    bproc = load_blenderproc()
    config, _ = compose_render_config(args.overrides)
    t1 = time.perf_counter()
    # exactly the scene and camera of bpgen's frame ``index`` in shard 0 (same planner, same seed stream)
    per_scene = config.frames_per_scene
    rng = np.random.default_rng(scene_seed(config.seed, 0, args.index // per_scene))
    plan = plan_scene(rng, config, MannequinBody(), per_scene)
    plan = dataclasses.replace(plan, frames=[plan.frames[args.index % per_scene]])
    scene = BlenderScene(config, segmentation_keys=("category_id", "instance", "name"))
    scene.build(plan)
    t2 = time.perf_counter()
    data = bproc.renderer.render()
    t3 = time.perf_counter()
    bproc.writer.write_coco_annotations(
        os.path.join(args.out, "coco_data"),
        instance_segmaps=data["instance_segmaps"],
        instance_attribute_maps=data["instance_attribute_maps"],
        colors=data["colors"],
        color_file_format="JPEG",
        append_to_existing_output=True,
    )
    t4 = time.perf_counter()
    print(
        f"BASELINE startup={t1 - t0:.3f} build={t2 - t1:.3f} render={t3 - t2:.3f} write={t4 - t3:.3f}",
        file=sys.stderr,
        flush=True,
    )
    os._exit(0)


if __name__ == "__main__":
    main()
