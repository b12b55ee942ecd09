"""Look at one person up close: render full-body and head shots of anny people in a neutral pose.

    .venv/bin/python bench/portrait.py --people 4 --output bench/out/portraits.png [overrides...]

A development aid for checking skin, eyes, brows, hair and clothes by eye (not a benchmark).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=Path("bench/out/portraits.png"))
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()

    import cv2

    from bpgen.blender.scene import BlenderScene
    from bpgen.bodies import load_body
    from bpgen.geometry.camera import Camera, fx_from_fov, look_at
    from bpgen.render.config import compose_render_config
    from bpgen.render.shard import develop_frame, stdout_to
    from bpgen.scene.plan import plan_scene

    overrides = ["mode.people=[1,1]", "pose=uniform", "pose.orientation_mix={upright:1.0}", "scene.distractors=[0,0]"]
    config, _ = compose_render_config([*overrides, f"resolution=[{args.size},{args.size}]", *args.overrides])
    body = load_body(config.body.name)
    log = Path("/tmp/bpgen-portrait-blender.log")
    with stdout_to(log):
        blender = BlenderScene(config)
    tiles = []
    for index in range(args.people):
        rng = np.random.default_rng([args.seed, index])
        plan = plan_scene(rng, config, body, 2)
        person = plan.people[0]
        head = person.posed.keypoints[0]
        pelvis = person.posed.joint("Pelvis")
        forward = -person.rotation[:, 1]  # anny faces -y in its body frame
        forward[2] = 0.0
        forward /= max(np.linalg.norm(forward), 1e-9)
        height = float(np.ptp(person.posed.vertices[:, 2]))
        fx = fx_from_fov(30.0, args.size)
        up = np.array([0.0, 0.0, 1.0])
        full = look_at(pelvis + forward * (height * 2.4) + 0.2 * up, pelvis + 0.05 * up)
        close = look_at(head + forward * 0.55 + 0.05 * up, head)
        frames = [
            dataclasses.replace(plan.frames[0], camera=Camera(args.size, args.size, fx, full)),
            dataclasses.replace(plan.frames[1], camera=Camera(args.size, args.size, fx, close)),
        ]
        plan = dataclasses.replace(plan, frames=frames, frame_people=())  # one pose, several cameras
        blender.build(plan)
        with stdout_to(log):
            rendered = blender.render()
        shown = [
            develop_frame(plan.people, v, f, config, blender)[0] for v, f in zip(plan.frames, rendered, strict=True)
        ]
        tiles.append(np.concatenate(shown, axis=0)[..., ::-1])
        print(person.shape.attributes | (person.look.labels() if person.look else {}), flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.output), np.concatenate(tiles, axis=1))
    print(args.output)
    sys.stdout.flush()
    import os

    os._exit(0)


if __name__ == "__main__":
    main()
