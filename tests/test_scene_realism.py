"""Photographic scenes as plain data: skin albedo, garment palette, framing, rooms and outdoor ground, HDRI
backplates (headers, ground albedo, sidecars, camera placement). Pure numpy; the Blender side is
tests/test_backplate.py and the render tests."""

from collections import Counter
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from helpers import tiny

from bpgen.appearance.config import look_config_from_dict
from bpgen.appearance.look import sample_fabric
from bpgen.appearance.palette import GARMENT_COLOURS, SATURATED_SHARE, SKIN_ALBEDO, garment_colour, skin_albedo
from bpgen.bodies.mannequin import MannequinBody
from bpgen.colour import REC709_LUMA
from bpgen.geometry.camera import fx_from_fov
from bpgen.render.config import compose_render_config
from bpgen.scene.framing import draw_fraction, frame_subject, size_class_shares, size_fraction
from bpgen.scene.plan import Backdrop, plan_scene
from bpgen.scene.rooms import FLOORS, GROUNDS, SURFACES, WALLS, natural_material, plan_room
from bpgen.world.assets import AssetsError, ground_albedo, hdri_sidecar, hdri_size, look_azimuth

TINY = tiny(frames_per_scene=4, body="mannequin", resolution=(160, 120))
ONLY = {
    layout: [f"scene.layout_mix.{other}=0" for other in ("room", "outdoor", "random") if other != layout]
    for layout in ("room", "outdoor", "random")
}


# --- skin and clothes ------------------------------------------------------------------------------------------
def test_skin_albedo_spans_measured_skin_reflectance_darkening_with_the_monk_scale():
    luminance = SKIN_ALBEDO @ REC709_LUMA
    assert luminance[0] == pytest.approx(0.45) and luminance[-1] == pytest.approx(0.05)
    assert all(a >= b - 0.01 for a, b in pairwise(luminance))  # the swatches Monk 2 and 3 are near-equal
    # X-Rite ColorChecker "light skin" (0.358) and "dark skin" (0.101) patches land mid-scale, as designed
    tones = np.linspace(0.0, 1.0, 201)
    curve = np.array([np.dot(skin_albedo(t), REC709_LUMA) for t in tones])
    assert 0.3 < tones[np.argmin(abs(curve - 0.358))] < 0.5 and 0.7 < tones[np.argmin(abs(curve - 0.101))] < 0.85
    assert all(skin_albedo(t)[0] > skin_albedo(t)[2] for t in tones)  # skin reflects more red than blue


def test_garment_colours_follow_the_palette_with_saturated_colours_a_minority():
    rng = np.random.default_rng(0)
    draws = [garment_colour(rng) for _ in range(6000)]
    counts = Counter(name for name, _ in draws)
    total = sum(v[0] for v in GARMENT_COLOURS.values())
    for name, (share, *_ranges) in GARMENT_COLOURS.items():
        assert abs(counts[name] / len(draws) - share / total) < 0.02, (name, counts[name])
    assert SATURATED_SHARE < 0.15
    assert all(0.0 <= c <= 0.9 for _, rgb in draws for c in rgb)  # white cloth reflects ~0.8 at most


def test_default_fabrics_are_mostly_plain_and_patterns_a_minority():
    _config, resolved = compose_render_config([])
    look = look_config_from_dict(resolved["body"])
    rng = np.random.default_rng(1)
    patterns = Counter(sample_fabric(rng, look, "short_sleeve").pattern for _ in range(3000))
    patterned = (patterns["stripes"] + patterns["checks"] + patterns["printed"]) / 3000
    assert 0.1 < patterned < 0.22 and patterns["solid"] / 3000 > 0.6


# --- framing ---------------------------------------------------------------------------------------------------
def standing(height: float = 1.7) -> np.ndarray:
    """Points of a standing person's rough outline at the origin."""
    z = np.linspace(0.0, height, 30)
    return np.concatenate([np.stack([np.full(30, x), np.full(30, y), z], 1) for x in (-0.2, 0.2) for y in (-0.1, 0.1)])


@pytest.mark.parametrize(
    ("fraction", "camera_z"), [(0.15, 0.5), (0.42, 0.5), (0.9, 0.5), (0.15, 1.6), (0.42, 1.6), (0.9, 1.6), (0.15, 3.5)]
)
def test_the_camera_distance_gives_the_drawn_person_size(fraction, camera_z):
    """(From 3.5 m a person is foreshortened when the camera comes near: large sizes are out of reach there.)"""
    points = standing()
    camera = frame_subject(points, 68.0, 640, 480, camera_z, 0.7, fraction, 2.0, (0.5, -0.3))
    assert size_fraction(camera, points) == pytest.approx(fraction, rel=0.06)
    uv, z = camera.project(points)
    assert (z > 0).all() and (uv >= -1).all() and (uv[:, 0] <= 641).all() and (uv[:, 1] <= 481).all()
    distance = np.linalg.norm(camera.position[:2])
    if distance > abs(camera_z - 0.85) * 1.02:  # reachable: the camera stands at the photographer's height
        assert camera.position[2] == pytest.approx(camera_z, abs=0.02)


def test_person_size_draws_follow_the_configured_log_normal():
    config, _ = compose_render_config(["body=mannequin"])
    rng = np.random.default_rng(2)
    draws = np.array([draw_fraction(rng, config.camera) for _ in range(5000)])
    assert np.median(draws) == pytest.approx(0.42, rel=0.05) and draws.min() >= 0.12 and draws.max() <= 1.0
    shares = size_class_shares(config.camera)
    assert shares["small"] < 0.05 and shares["medium"] > 0.4 and shares["large"] > 0.3


def test_framed_people_are_bigger_than_before_and_rarely_tiny():
    config, _ = compose_render_config([*TINY, *ONLY["outdoor"]])
    body = MannequinBody()
    heights = []
    for seed in range(12):
        plan = plan_scene(np.random.default_rng(seed), config, body, 4)
        for frame in plan.frames:
            for person in plan.people:
                uv, z = frame.camera.project(person.posed.vertices[::11])
                if (z > 0).all():
                    heights.append((uv[:, 1].max() - uv[:, 1].min()) / 120)
    assert np.median(heights) > 0.25, np.median(heights)  # the old default: 0.21


# --- rooms -----------------------------------------------------------------------------------------------------
def test_natural_materials_have_real_albedos_and_sizes():
    rng = np.random.default_rng(3)
    for name, surface in SURFACES.items():
        for _ in range(50):
            material = natural_material(rng, name)
            assert all(0.01 <= c <= 0.85 for c in material.color), (name, material.color)
            assert material.pattern == surface.pattern
            if material.pattern in ("planks", "tiles"):
                assert 0.05 <= material.element_m[1] <= material.element_m[0] + 1e-9 <= 2.0
                assert 0.0005 <= material.gap_m <= 0.012
    assert set(FLOORS) | set(WALLS) | set(GROUNDS) <= set(SURFACES)


def test_a_room_holds_its_people_has_openings_and_lamps():
    for seed in range(20):
        rng = np.random.default_rng(seed)
        center, radius = np.array([0.3, -0.2, 0.8]), 1.4
        room = plan_room(rng, center, radius)
        assert room.contains(np.array([center[0] + radius, center[1], 0.5]), 0.3)
        assert room.contains(np.array([center[0], center[1] - radius, 0.5]), 0.3)
        assert 2.5 <= room.height <= 6.0 and min(room.half_extents) >= 1.5
        walls = [p for p in room.parts[2:]]
        assert len(walls) >= 4 and all(p.role == "room" and p.kind == "CUBE" for p in room.parts)
        assert room.lamps and all(abs(lamp.location[2] - room.height) < 0.05 for lamp in room.lamps)
        assert all(room.contains(np.array([*lamp.location[:2], room.height / 2]), 0.0) for lamp in room.lamps)
    openings = sum(len(plan_room(np.random.default_rng(s), np.zeros(3), 1.0).parts) > 6 for s in range(20))
    assert openings >= 15  # most rooms have a window or a door: daylight comes in


def test_room_pulls_a_point_inside_along_the_line_to_the_target():
    room = plan_room(np.random.default_rng(0), np.zeros(3), 1.0)
    target = np.array([room.center[0], room.center[1], 1.2])
    outside = target + np.array([40.0, 3.0, 0.5])
    inside = room.pull_inside(outside, target)
    assert room.contains(inside, 0.2)
    assert np.allclose(np.cross(inside - target, outside - target), 0.0, atol=1e-6)


@pytest.mark.parametrize("layout", ["room", "outdoor", "random"])
def test_each_layout_plans_what_it_names(layout):
    config, _ = compose_render_config([*TINY, *ONLY[layout]])
    body = MannequinBody()
    for seed in range(4):
        plan = plan_scene(np.random.default_rng(seed), config, body, 4)
        assert plan.layout == layout
        roles = {o.role for o in plan.objects}
        if layout == "room":
            assert plan.room is not None and "room" in roles and "wall" not in roles
            assert all(plan.room.contains(f.camera.position, 0.2) for f in plan.frames)
            assert plan.lights == list(plan.room.lamps)
        else:
            assert plan.room is None and "room" not in roles
        if layout == "outdoor":
            assert not plan.lights and plan.floor.pattern in ("grain", "tiles")
        if layout != "random":
            assert all(o.material.pattern != "checker" for o in plan.objects)


def test_layouts_keep_the_people_and_are_drawn_by_their_shares():
    body = MannequinBody()
    room, _ = compose_render_config([*TINY, *ONLY["room"]])
    random_set, _ = compose_render_config([*TINY, *ONLY["random"]])
    for seed in range(3):  # the layout has its own stream: the same people whatever the layout
        a = plan_scene(np.random.default_rng(seed), room, body, 2)
        b = plan_scene(np.random.default_rng(seed), random_set, body, 2)
        for pa, pb in zip(a.people, b.people, strict=True):
            assert np.array_equal(pa.posed.vertices, pb.posed.vertices)
    mixed, _ = compose_render_config(TINY)
    layouts = Counter(plan_scene(np.random.default_rng(s), mixed, body, 1).layout for s in range(60))
    assert layouts["room"] > layouts["outdoor"] > layouts["random"] > 0, layouts


# --- backplates ------------------------------------------------------------------------------------------------
def write_hdri(path: Path, width: int, sky: float = 1.0, ground: float = 0.3) -> Path:
    """An equirectangular Radiance .hdr: uniform sky radiance ``sky`` above the horizon, ``ground`` below."""
    import cv2

    image = np.full((width // 2, width, 3), sky, np.float32)
    image[width // 4 :] = ground
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)
    return path


def test_hdri_sizes_are_read_from_headers(tmp_path):
    from bpgen.world.assets import bpy_hdris

    assert hdri_size(str(write_hdri(tmp_path / "a.hdr", 512))) == (512, 256)
    for exr in bpy_hdris():  # bpy's CC0 HDRIs: lighting only, too small for a backplate
        assert hdri_size(exr) == (1024, 512)
    (tmp_path / "bad.exr").write_bytes(b"nope")
    with pytest.raises(AssetsError, match="is not an OpenEXR file"):
        hdri_size(str(tmp_path / "bad.exr"))


def test_ground_albedo_is_pi_ground_radiance_over_sky_irradiance(tmp_path):
    # a uniform sky of radiance 1 gives irradiance pi: ground radiance 0.3 is albedo 0.3
    assert ground_albedo(str(write_hdri(tmp_path / "g.hdr", 512))) == pytest.approx((0.3, 0.3, 0.3), rel=0.03)


def test_sidecar_gives_capture_height_and_open_azimuths_and_refuses_nonsense(tmp_path):
    hdri = write_hdri(tmp_path / "s.hdr", 64)
    assert hdri_sidecar(str(hdri)).capture_height_m is None
    hdri.with_suffix(".json").write_text('{"capture_height_m": 1.7, "open_azimuths_deg": [[90, 180]]}')
    hdri_sidecar.cache_clear()
    sidecar = hdri_sidecar(str(hdri))
    assert sidecar.capture_height_m == 1.7 and sidecar.open_azimuths_deg == ((90.0, 180.0),)
    hdri.with_suffix(".json").write_text('{"open_azimuths_deg": [[90]]}')
    hdri_sidecar.cache_clear()
    with pytest.raises(AssetsError) as error:
        hdri_sidecar(str(hdri))
    assert "is not a valid sidecar" in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("rotation", [0.0, 75.0, 300.0])
def test_a_backplate_camera_looks_at_the_open_columns(rotation):
    backdrop = Backdrop(None, ((40.0, 100.0), (250.0, 260.0)), rotation)
    for u in np.linspace(0.0, 0.999, 25):
        look = backdrop.camera_azimuth(float(u)) + np.pi  # from the camera towards the people
        # Cycles' equirectangular lookup of that direction, after the world's rotation
        column = (0.5 - (look + np.radians(rotation)) / (2 * np.pi)) % 1.0 * 360.0
        assert 40.0 - 1e-6 <= column <= 100.0 + 1e-6 or 250.0 - 1e-6 <= column <= 260.0 + 1e-6, column
        assert 1.5 <= backdrop.camera_z(float(u)) <= 1.7
    assert look_azimuth(180.0, 0.0) == pytest.approx(0.0)


def test_outdoor_scenes_before_a_sharp_hdri_become_backplates(tmp_path):
    library = tmp_path / "library"
    write_hdri(library / "hdris" / "open_4k.hdr", 4096)
    overrides = [*TINY, *ONLY["outdoor"], "world.hdri_probability=1.0", "world.texture_probability=0.0"]
    config, _ = compose_render_config(overrides, assets_dir=library)
    body = MannequinBody()
    plans = [plan_scene(np.random.default_rng(s), config, body, 3) for s in range(30)]
    backplates = [p for p in plans if p.layout == "backplate"]
    assert backplates and all(p.world.backplate and p.world.hdri.endswith("open_4k.hdr") for p in backplates)
    assert all(not p.world.backplate for p in plans if p.layout != "backplate")  # bpy's 1k HDRIs: lighting only
    for plan in backplates:
        assert plan.world.ground_albedo == pytest.approx((0.3, 0.3, 0.3), rel=0.05) and not plan.lights
        assert all(1.5 <= f.camera.position[2] <= 1.7 for f in plan.frames if f.viewpoint == "default")
    viewpoint, _ = compose_render_config([*overrides, "mode=viewpoint"], assets_dir=library)
    assert not any(plan_scene(np.random.default_rng(s), viewpoint, body, 1).world.backplate for s in range(30))


def test_field_of_view_comes_from_the_camera_class():
    config, _ = compose_render_config(TINY)
    plan = plan_scene(np.random.default_rng(0), config, MannequinBody(), 4)
    for frame in plan.frames:
        assert frame.camera.fx == pytest.approx(fx_from_fov(frame.photo.fov_deg, 160))


def test_a_room_camera_pulled_inside_still_sees_the_person():
    """A narrow lens needs a distance a room may not have: after its last try the camera is pulled inside, and an
    off-centre subject would leave its narrow view as it comes closer; it is turned to the people then."""
    overrides = [
        "mode=pose", "mode.people=[1,1]", "resolution=[64,48]",
        "scene.layout_mix={room: 1.0, outdoor: 0.0, random: 0.0}",
        "photo.camera_mix={phone_main: 0.0, phone_wide: 0.0, phone_tele: 1.0, mirrorless: 0.0, action_cctv: 0.0}",
    ]  # fmt: skip
    config, _ = compose_render_config(overrides)
    for seed in range(6):
        plan = plan_scene(np.random.default_rng(seed), config, MannequinBody(), 4)
        for frame, view in enumerate(plan.frames):
            (person,) = plan.people_in(frame)
            (u, v), depth = (c[0] for c in view.camera.project(person.posed.vertices.mean(axis=0)[None]))
            assert depth > 0 and 0 <= u < 64 and 0 <= v < 48, (seed, frame, u, v, depth)
