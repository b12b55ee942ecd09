"""Camera photometry: pure numpy draws and post-processing; in Blender: view transform, exposure keyframes, and
annotations that do not depend on any of it."""

from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    assert_one_line_error,
    assert_same_people_and_cameras,
    blender_probe,
    coco_of,
    frames_of,
    run_render,
    tiny,
)

from bpgen.photo.config import PhotoConfig, photo_config_from_dict
from bpgen.photo.develop import (
    apply_depth_of_field,
    apply_noise,
    apply_white_balance,
    circle_of_confusion,
    develop,
    focal_length_m,
    focus_distance,
    white_balance_gains,
)
from bpgen.photo.sampling import PhotoSpec, sample_photo
from bpgen.render.config import compose_render_config
from bpgen.run import layout

OFF = [
    "photo.exposure_ev=[0,0]",
    "photo.white_balance_k=[6500,6500]",
    "photo.tint=[0,0]",
    "photo.dof_probability=0",
    "photo.read_noise=[0,0]",
    "photo.shot_gain=[0,0]",
    "photo.jpeg_quality=[95,95]",
]
STRONG = [
    "photo.exposure_ev=[-2,2]",
    "photo.white_balance_k=[3000,12000]",
    "photo.tint=[-0.1,0.1]",
    "photo.dof_probability=1",
    "photo.f_number=[1.0,1.4]",
    "photo.read_noise=[3,6]",
    "photo.shot_gain=[0.5,1]",
    "photo.jpeg_quality=[40,60]",
]


def texture(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """A checkerboard with some colour noise: lots of edges to blur."""
    yy, xx = np.mgrid[:height, :width]
    board = (((yy // 4) + (xx // 4)) % 2 * 160 + 40).astype(np.float64)
    rng = np.random.default_rng(seed)
    rgb = board[..., None] + rng.normal(0.0, 10.0, (height, width, 3))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def sharpness(rgb: np.ndarray) -> float:
    grey = rgb.astype(np.float64).mean(axis=2)
    return float(np.abs(np.diff(grey, axis=1)).mean() + np.abs(np.diff(grey, axis=0)).mean())


# --- config ----------------------------------------------------------------------------------------------------
def test_defaults_compose_and_match_the_dataclass():
    config, resolved = compose_render_config(["body=mannequin"])
    assert config.photo == PhotoConfig()
    assert "jpeg_quality" not in resolved and resolved["photo"]["jpeg_quality"] == [70, 97]
    assert config.photo.blender_look == "None"
    assert replace(config.photo, look="Punchy").blender_look == "AgX - Punchy"
    filmic = photo_config_from_dict(resolved["photo"] | {"view_transform": "Filmic", "look": "Medium Contrast"})
    assert filmic.blender_look == "Medium Contrast"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("photo.view_transform=Sepia", "photo.view_transform='Sepia' is not valid"),
        ("photo.look=Sharp", "photo.look='Sharp' is not a AgX look"),
        ("photo.exposure_ev=[1,-1]", "photo.exposure_ev=[1, -1] must satisfy -10.0 <= min <= max"),
        ("photo.exposure_ev=[-20,0]", "photo.exposure_ev=[-20, 0] must satisfy -10.0 <= min <= max"),
        ("photo.white_balance_k=[1000,6500]", "photo.white_balance_k=[1000, 6500] must satisfy 1667.0 <= min"),
        ("photo.white_balance_k=[6500,40000]", "photo.white_balance_k=[6500, 40000] must lie in [1667, 25000] kelvin"),
        ("photo.tint=[0,0.9]", "photo.tint=[0, 0.9] must lie in [-0.5, 0.5]"),
        ("photo.dof_probability=2", "photo.dof_probability must be in [0, 1]"),
        ("photo.dof_probability=often", "photo.dof_probability must be a number"),
        ("photo.f_number=[0.1,2]", "photo.f_number=[0.1, 2] must satisfy 0.5 <= min <= max"),
        ("photo.read_noise=[-1,2]", "photo.read_noise=[-1, 2] must satisfy 0.0 <= min <= max"),
        ("photo.shot_gain=nope", "photo.shot_gain must be a [min, max] pair"),
        ("photo.jpeg_quality=[50,120]", "photo.jpeg_quality=[50, 120] must lie in [1, 100]"),
        ("+photo.iso=800", "photo has unknown keys ['iso']"),
        ("~photo.tint", "photo.tint is missing"),
    ],
)
def test_bad_photo_config_is_one_line_naming_the_key(override, message):
    assert_one_line_error(compose_render_config, ["body=mannequin", override], message)


def test_top_level_jpeg_quality_is_gone():
    """Hydra itself refuses the key (it moved to photo.jpeg_quality): its one line names the key."""
    message = assert_one_line_error(compose_render_config, ["body=mannequin", "jpeg_quality=90"], "'jpeg_quality'")
    assert message.startswith("bad config override (") and "photo.jpeg_quality" not in message


# --- draws -----------------------------------------------------------------------------------------------------
def test_sample_photo_is_deterministic_and_within_the_ranges():
    config = PhotoConfig()
    a = [sample_photo(np.random.default_rng(3), config, 3) for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(4)
    specs = [sample_photo(rng, config, 3) for _ in range(400)]
    assert all(-1.0 <= s.exposure_ev <= 1.0 and 4500 <= s.white_balance_k <= 9000 for s in specs)
    assert {s.jpeg_quality for s in specs} == set(range(70, 98))
    assert {s.focus_person for s in specs} == {0, 1, 2}
    with_dof = [s for s in specs if s.f_number is not None]
    assert 0.15 < len(with_dof) / len(specs) < 0.35 and all(1.4 <= s.f_number <= 4.0 for s in with_dof)


def test_switching_photometry_off_draws_the_same_count_of_numbers():
    """The scene plan after the photo draws (lights, materials, ...) must not depend on the photo config."""
    off = photo_config_from_dict(compose_render_config(["body=mannequin", *OFF])[1]["photo"])
    on = photo_config_from_dict(compose_render_config(["body=mannequin", *STRONG])[1]["photo"])
    for people in (1, 4):
        rng_off, rng_on = np.random.default_rng(9), np.random.default_rng(9)
        spec_off = sample_photo(rng_off, off, people)
        spec_on = sample_photo(rng_on, on, people)
        assert spec_off.f_number is None and spec_on.f_number is not None and spec_off.jpeg_quality == 95
        assert rng_off.uniform() == rng_on.uniform()


def test_scene_plans_with_photometry_off_and_on_have_the_same_geometry():
    from bpgen.bodies.mannequin import MannequinBody
    from bpgen.scene.plan import plan_scene

    body = MannequinBody()
    plans = []
    for overrides in (OFF, STRONG):
        config, _ = compose_render_config(["body=mannequin", "mode=occlusion", "resolution=[64,48]", *overrides])
        plans.append(plan_scene(np.random.default_rng(5), config, body, 3))
    off, on = plans
    assert_same_people_and_cameras(off, on)
    assert all(a.photo != b.photo for a, b in zip(off.frames, on.frames, strict=True))
    assert off.lights == on.lights and off.objects == on.objects and off.cycles_seed == on.cycles_seed


# --- white balance, noise --------------------------------------------------------------------------------------
def test_white_balance_at_6500k_and_no_tint_is_identity():
    rgb = texture()
    assert np.array_equal(apply_white_balance(rgb, 6500.0, 0.0), rgb)
    assert np.allclose(white_balance_gains(6500.0, 0.0), 1.0)


def test_white_balance_casts_warm_below_and_cool_above_6500k_keeping_luminance():
    grey = np.full((4, 4, 3), 128, np.uint8)
    warm = apply_white_balance(grey, 3500.0, 0.0)[0, 0].astype(int)
    cool = apply_white_balance(grey, 10000.0, 0.0)[0, 0].astype(int)
    assert warm[0] > warm[1] > warm[2] and cool[2] > cool[1] > cool[0]
    magenta = apply_white_balance(grey, 6500.0, 0.05)[0, 0].astype(int)
    assert magenta[1] < magenta[0] == magenta[2]
    for kelvin, tint in ((3500.0, 0.0), (10000.0, 0.02)):
        assert np.dot([0.2126, 0.7152, 0.0722], white_balance_gains(kelvin, tint)) == pytest.approx(1.0)


def test_noise_with_zero_parameters_is_identity_and_is_seeded():
    rgb = texture()
    assert np.array_equal(apply_noise(rgb, 0.0, 0.0, 1), rgb)
    assert np.array_equal(apply_noise(rgb, 2.0, 0.2, 1), apply_noise(rgb, 2.0, 0.2, 1))
    assert not np.array_equal(apply_noise(rgb, 2.0, 0.2, 1), apply_noise(rgb, 2.0, 0.2, 2))


def test_noise_is_poisson_gaussian_in_8bit_levels():
    flat = np.full((200, 200, 3), 100, np.uint8)
    noisy = apply_noise(flat, 3.0, 0.5, 7).astype(np.float64)
    assert abs(noisy.mean() - 100.0) < 0.2
    assert noisy.std() == pytest.approx(np.sqrt(0.5 * 100 + 3.0**2), rel=0.05)


# --- depth of field --------------------------------------------------------------------------------------------
def test_circle_of_confusion_is_the_thin_lens_one():
    fx, width = 600.0, 640
    f = focal_length_m(fx, width)  # 33.75 mm on the 36 mm sensor
    coc = circle_of_confusion(np.array([1.0, 2.0, 4.0, np.inf, 0.0]), fx, width, 2.0, 2.0)
    # blur-circle diameter on the sensor: f^2 / (N (s - f)) * |z - s| / z, in pixels of 36 mm / width
    on_sensor = f**2 / (2.0 * (2.0 - f)) * (np.array([1.0, 2.0, 4.0]) - 2.0) / np.array([1.0, 2.0, 4.0])
    assert np.allclose(coc[:3], on_sensor / (0.036 / width))
    assert coc[0] < 0 and coc[1] == 0 and coc[2] > 0 and coc[3] == coc[4] > coc[2]


def test_depth_of_field_with_the_focus_plane_at_the_only_depth_is_identity():
    rgb = texture()
    depth = np.full(rgb.shape[:2], 3.0, np.float32)
    assert np.array_equal(apply_depth_of_field(rgb, depth, 80.0, 1.4, 3.0), rgb)
    slightly_off = apply_depth_of_field(rgb, depth, 80.0, 1.4, 3.02)
    assert np.abs(slightly_off.astype(int) - rgb).max() <= 1


def test_blur_grows_with_defocus_and_wider_aperture():
    rgb = texture(96, 128)
    fx = 400.0  # 128 px wide: a long lens, visible blur
    depth = np.full(rgb.shape[:2], 6.0, np.float32)
    by_focus = [sharpness(apply_depth_of_field(rgb, depth, fx, 2.0, focus)) for focus in (6.0, 4.5, 3.5, 2.5, 1.5)]
    assert all(a > b for a, b in pairwise(by_focus)), by_focus
    by_aperture = [sharpness(apply_depth_of_field(rgb, depth, fx, n, 3.0)) for n in (16.0, 5.6, 2.0)]
    assert all(a > b for a, b in pairwise(by_aperture)), by_aperture


def test_focused_foreground_stays_sharp_over_a_blurred_background():
    rgb = texture(96, 128)
    depth = np.full(rgb.shape[:2], 50.0, np.float32)
    depth[20:76, 30:98] = 3.0  # a "person" at 3 m
    out = apply_depth_of_field(rgb, depth, 400.0, 1.4, 3.0)
    inner = (slice(24, 72), slice(34, 94))
    assert np.abs(out[inner].astype(int) - rgb[inner]).max() <= 1
    assert sharpness(out[:16]) < 0.5 * sharpness(rgb[:16])


def test_focus_distance_takes_the_persons_median_depth_then_the_fallback():
    depth = np.full((10, 10), 1e10, np.float32)
    depth[2:5, 2:5] = 4.0
    depth[5:7, 2:5] = 9.0
    mask = np.zeros((10, 10), bool)
    mask[2:7, 2:5] = True
    assert focus_distance(depth, mask, 2.0) == 4.0
    assert focus_distance(depth, np.zeros_like(mask), 2.5) == 2.5
    assert focus_distance(depth, None, -1.0) == 4.0


def test_develop_is_deterministic_and_off_is_identity():
    rgb = texture()
    depth = np.full(rgb.shape[:2], 4.0, np.float32)
    depth[:, :20] = 30.0
    spec = PhotoSpec(0.3, 5000.0, 0.01, 2.0, 0, 1.5, 0.1, 11, 90)
    assert np.array_equal(develop(rgb, depth, spec, 60.0, 4.0), develop(rgb, depth, spec, 60.0, 4.0))
    off = PhotoSpec(0.0, 6500.0, 0.0, None, 0, 0.0, 0.0, 11, 95)
    assert np.array_equal(develop(rgb, depth, off, 60.0, None), rgb)


# --- in Blender ------------------------------------------------------------------------------------------------
TINY = tiny(distractors=(1, 2), body="mannequin")

EXPOSURE_PROBE = """
import dataclasses, json, os, sys
import numpy as np
from bpgen.bodies import load_body
from bpgen.render.config import compose_render_config
from bpgen.render.shard import stdout_to
from bpgen.scene.plan import plan_scene
from pathlib import Path
from bpgen.blender.scene import BlenderScene
import bpy

config, _ = compose_render_config(sys.argv[1:])
plan = plan_scene(np.random.default_rng(1), config, load_body("mannequin"), 1)
view = plan.frames[0]
frames = [dataclasses.replace(view, photo=dataclasses.replace(view.photo, exposure_ev=ev)) for ev in (-2.0, 0.0, 1.5)]
plan = dataclasses.replace(plan, frames=frames)
with stdout_to(Path(os.environ["PROBE_LOG"])):
    blender = BlenderScene(config)
    blender.build(plan)
    rendered = blender.render()
settings = bpy.context.scene.view_settings
print(json.dumps({
    "view_transform": settings.view_transform,
    "look": settings.look,
    "mean": [float(f.rgb.mean()) for f in rendered],
    "same_instances": all(np.array_equal(f.instance_map, rendered[0].instance_map) for f in rendered),
    "same_depth": all(np.array_equal(f.depth, rendered[0].depth) for f in rendered),
}))
sys.stdout.flush()
os._exit(0)
"""


def render_shard(run_dir: Path, *overrides: str) -> Path:
    result = run_render(run_dir, 3, 4, *TINY, "frames_per_scene=2", *overrides)
    assert result.returncode == 0, result.stderr
    return layout.shard_dir(run_dir, 3)


@pytest.mark.blender
@pytest.mark.parametrize(("view", "look"), [("AgX", "Medium High Contrast"), ("Filmic", None)])
def test_view_transform_is_set_and_exposure_keyframes_change_each_frame(tmp_path, view, look):
    overrides = [*TINY, f"photo.view_transform={view}", f"photo.look={'null' if look is None else look}"]
    probe = blender_probe(EXPOSURE_PROBE, tmp_path / "blender.log", *overrides)
    assert probe["view_transform"] == view
    assert probe["look"] == ("None" if look is None else f"AgX - {look}")
    dark, middle, bright = probe["mean"]
    assert dark < middle < bright, probe["mean"]  # the same camera, three exposures: keyframes are per frame
    assert probe["same_instances"] and probe["same_depth"]


@pytest.mark.blender
def test_annotations_do_not_depend_on_photometry(tmp_path):
    off = render_shard(tmp_path / "off", *OFF)
    on = render_shard(tmp_path / "on", *STRONG, "photo.view_transform=Filmic", "photo.look=High Contrast")

    assert coco_of(off, "info", "images")["annotations"], "the tiny shard should show people"
    assert coco_of(off, "info", "images") == coco_of(on, "info", "images")
    records = {name: frames_of(shard) for name, shard in (("off", off), ("on", on))}
    photos = {name: [r.pop("photo") for r in frames] for name, frames in records.items()}
    assert records["off"] == records["on"]
    assert all(p["dof"] is None and p["exposure_ev"] == 0 and p["jpeg_quality"] == 95 for p in photos["off"])
    assert all(p["dof"]["focus_m"] > 0 and p["view_transform"] == "Filmic" for p in photos["on"])
    images_off = sorted((off / layout.IMAGES).glob("*.jpg"))
    assert len(images_off) == 4
    on_images = on / layout.IMAGES
    assert all(i.read_bytes() != (on_images / i.name).read_bytes() for i in images_off)


def test_exposure_lies_on_the_eighth_stop_grid_inside_its_range():
    config = replace(PhotoConfig(), exposure_ev=(-0.3, 0.9))
    draws = [sample_photo(np.random.default_rng(seed), config, 2).exposure_ev for seed in range(200)]
    assert all(-0.3 <= ev <= 0.9 for ev in draws)
    assert all(ev in (-0.3, 0.9) or abs(ev * 8 - round(ev * 8)) < 1e-9 for ev in draws)
    assert 8 <= len(set(draws)) <= 12  # a handful of values, so Blender's colour-management state stays bounded
