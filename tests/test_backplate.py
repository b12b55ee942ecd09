"""HDRI backplates in Blender: the ground is a shadow catcher that shows the HDRI where nothing shadows it, and
it never changes a label (masks equal an opaque ground's; the catcher is never in a person's mask)."""

from pathlib import Path

import numpy as np
import pytest
from helpers import blender_probe, tiny

pytestmark = pytest.mark.blender

PROBE = """
import dataclasses, json, os, sys
import numpy as np
from pathlib import Path
from bpgen.bodies import load_body
from bpgen.render.config import compose_render_config
from bpgen.render.shard import stdout_to
from bpgen.scene.plan import plan_scene
from bpgen.blender.scene import BlenderScene
import bpy

config, _ = compose_render_config(sys.argv[1:])
body = load_body("mannequin")
plan = next(p for p in (plan_scene(np.random.default_rng(s), config, body, 1) for s in range(60))
            if p.layout == "backplate")
empty = dataclasses.replace(plan, people=[], person_materials=[], objects=[])
opaque = dataclasses.replace(plan, world=dataclasses.replace(plan.world, backplate=False))

catchers = []
def render(scene_plan, hide_floor=False):
    blender.build(scene_plan)
    catchers.append(bool(bpy.data.objects["floor"].is_shadow_catcher))
    bpy.data.objects["floor"].hide_render = hide_floor
    frame = blender.render()[0]
    return frame, blender.display(frame.linear)

with stdout_to(Path(os.environ["PROBE_LOG"])):
    blender = BlenderScene(config)
    caught, caught_rgb = render(empty)
    sky_only, sky_rgb = render(empty, hide_floor=True)
    people, people_rgb = render(plan)
    solid, solid_rgb = render(opaque)
floor = caught.instance_map == caught.index_of["floor"]
error = (caught_rgb[floor].astype(float) - sky_rgb[floor]) ** 2
persons = [i for n, i in people.index_of.items() if n.startswith("person_")]
floor_people = people.index_of["floor"]
print(json.dumps({
    "floor_pixels": int(floor.sum()),
    "psnr": float(10 * np.log10(255.0**2 / max(error.mean(), 1e-12))),
    "catchers": catchers,
    "same_masks": bool(np.array_equal(people.instance_map, solid.instance_map)),
    "same_index": people.index_of == solid.index_of,
    "person_pixels": int(np.isin(people.instance_map, persons).sum()),
    "shadow_darker": float(people_rgb[people.instance_map == floor_people].mean())
        < float(caught_rgb[caught.instance_map == caught.index_of["floor"]].mean()) + 1.0,
}))
sys.stdout.flush()
os._exit(0)
"""


def write_hdri(path: Path, width: int) -> None:
    """A textured equirectangular .hdr: a bright sky above the horizon, a mottled ground below."""
    import cv2

    rng = np.random.default_rng(0)
    image = np.full((width // 2, width, 3), (0.9, 1.0, 1.2), np.float32)
    ground = 0.15 + 0.1 * rng.random((width // 4, width // 8, 1), dtype=np.float32)
    image[width // 4 :] = cv2.resize(ground, (width, width // 4), interpolation=cv2.INTER_NEAREST)[..., None]
    image[width // 8 : width // 8 + 20, width // 3 : width // 3 + 20] = 400.0  # a sun, for a shadow
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)


def test_the_shadow_catcher_shows_the_hdri_and_leaves_the_masks_alone(tmp_path):
    library = tmp_path / "library"
    write_hdri(library / "hdris" / "field_4k.hdr", 4096)
    overrides = [
        *tiny(resolution=(96, 72), samples=16, body="mannequin"),
        "scene.layout_mix.room=0",
        "scene.layout_mix.random=0",
        "world.hdri_probability=1.0",
        "world.texture_probability=0.0",
        f"world.assets_dir={library}",
        "mode.people=[2,2]",
    ]
    probe = blender_probe(PROBE, tmp_path / "blender.log", *overrides)
    assert probe["catchers"] == [True, True, True, False]  # the last scene has an opaque ground
    assert probe["floor_pixels"] > 500
    assert probe["psnr"] >= 40.0, probe  # without people, the catcher is the HDRI itself
    assert probe["same_index"] and probe["same_masks"], probe  # the catcher never changes a mask
    assert probe["person_pixels"] > 0 and probe["shadow_darker"]
