"""Camera classes and photometry: pure numpy draws, metering and development; in Blender: the linear render, its
view transform, and annotations that do not depend on any of it."""

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

from bpgen.photo.cameras import CAMERA_CLASSES
from bpgen.photo.config import DEFAULT_CAMERA_MIX, PhotoConfig, photo_config_from_dict
from bpgen.photo.develop import (
    MIDDLE_GREY,
    apply_depth_of_field,
    apply_sensor_noise,
    circle_of_confusion,
    develop_linear,
    focal_length_m,
    focus_distance,
    meter,
    sharpen,
    white_balance_gains,
)
from bpgen.photo.sampling import EXPOSURE_STEP_EV, PhotoSpec, quantize_exposure, sample_photo
from bpgen.render.config import compose_render_config
from bpgen.run import layout

OFF = [
    "photo.metering=false",
    "photo.exposure_bias_ev=[0,0]",
    "photo.white_balance_k=[6500,6500]",
    "photo.tint=[0,0]",
    "photo.depth_of_field=false",
    "photo.sensor_noise=false",
    "photo.sharpening=false",
]
STRONG = [
    "photo.exposure_bias_ev=[-2,2]",
    "photo.white_balance_k=[3000,12000]",
    "photo.tint=[-0.1,0.1]",
]


def texture(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """A linear-light checkerboard with some colour noise: lots of edges to blur."""
    yy, xx = np.mgrid[:height, :width]
    board = (((yy // 4) + (xx // 4)) % 2 * 0.5 + 0.05).astype(np.float64)
    rng = np.random.default_rng(seed)
    return np.clip(board[..., None] + rng.normal(0.0, 0.02, (height, width, 3)), 0, None).astype(np.float32)


def sharpness(image: np.ndarray) -> float:
    grey = image.astype(np.float64).mean(axis=2)
    return float(np.abs(np.diff(grey, axis=1)).mean() + np.abs(np.diff(grey, axis=0)).mean())


def spec(**changes: object) -> PhotoSpec:
    base = PhotoSpec("phone_main", 68.0, 9.8, 1.8, 100.0, 0.0, 6500.0, 0.0, 0, 11, 90, 0.0, False)
    return replace(base, **changes)


# --- config ----------------------------------------------------------------------------------------------------
def test_defaults_compose_and_match_the_dataclass():
    config, resolved = compose_render_config(["body=mannequin"])
    assert config.photo == PhotoConfig()
    assert config.photo.camera_mix == DEFAULT_CAMERA_MIX and set(DEFAULT_CAMERA_MIX) == set(CAMERA_CLASSES)
    assert "jpeg_quality" not in resolved["photo"]
    assert config.photo.blender_look == "None"
    assert replace(config.photo, look="Punchy").blender_look == "AgX - Punchy"
    filmic = photo_config_from_dict(resolved["photo"] | {"view_transform": "Filmic", "look": "Medium Contrast"})
    assert filmic.blender_look == "Medium Contrast"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("photo.view_transform=Sepia", "photo.view_transform='Sepia' is not valid"),
        ("photo.look=Sharp", "photo.look='Sharp' is not a AgX look"),
        ("+photo.camera_mix.polaroid=1", "photo.camera_mix has unknown entries ['polaroid']"),
        ("photo.metering=often", "photo.metering must be true or false"),
        ("photo.exposure_bias_ev=[1,-1]", "photo.exposure_bias_ev=[1, -1] must satisfy -10.0 <= min <= max"),
        ("photo.exposure_bias_ev=[0,20]", "photo.exposure_bias_ev=[0, 20] must lie in [-10, 10] stops"),
        ("photo.white_balance_k=[1000,6500]", "photo.white_balance_k=[1000, 6500] must satisfy 1667.0 <= min"),
        ("photo.white_balance_k=[6500,40000]", "photo.white_balance_k=[6500, 40000] must lie in [1667, 25000] kelvin"),
        ("photo.tint=[0,0.9]", "photo.tint=[0, 0.9] must lie in [-0.5, 0.5]"),
        ("photo.sensor_noise=1", "photo.sensor_noise must be true or false"),
        ("+photo.iso=800", "photo has unknown keys ['iso']"),
        ("~photo.tint", "photo.tint is missing"),
    ],
)
def test_bad_photo_config_is_one_line_naming_the_key(override, message):
    assert_one_line_error(compose_render_config, ["body=mannequin", override], message)


def test_jpeg_quality_is_the_camera_class_s():
    """Hydra itself refuses the old keys: the top-level one, and photo.jpeg_quality (now the camera class's)."""
    message = assert_one_line_error(compose_render_config, ["body=mannequin", "jpeg_quality=90"], "'jpeg_quality'")
    assert message.startswith("bad config override (")
    assert_one_line_error(compose_render_config, ["body=mannequin", "photo.jpeg_quality=[70,90]"], "jpeg_quality")


# --- camera classes and draws ----------------------------------------------------------------------------------
def test_camera_classes_have_the_lenses_they_claim():
    phone = spec(camera="phone_main", fov_deg=68.0, sensor_width_mm=9.8)
    assert 24.0 <= phone.equivalent_focal_length_mm <= 28.0 and phone.focal_length_mm < 8.0
    full_frame = spec(camera="mirrorless", fov_deg=39.6, sensor_width_mm=36.0)
    assert full_frame.equivalent_focal_length_mm == pytest.approx(50.0, abs=0.2)
    assert full_frame.focal_length_mm == pytest.approx(full_frame.equivalent_focal_length_mm)
    for camera in CAMERA_CLASSES.values():
        assert camera.fov_deg[0] <= camera.fov_deg[1] and camera.iso[0] >= camera.base_iso
        assert 1 <= camera.jpeg_quality[0] <= camera.jpeg_quality[1] <= 100


def test_sample_photo_is_deterministic_and_within_its_camera_class():
    config = PhotoConfig()
    assert sample_photo(np.random.default_rng(3), config, 3) == sample_photo(np.random.default_rng(3), config, 3)
    rng = np.random.default_rng(4)
    specs = [sample_photo(rng, config, 3) for _ in range(2000)]
    for s in specs:
        camera = CAMERA_CLASSES[s.camera]
        assert camera.fov_deg[0] <= s.fov_deg <= camera.fov_deg[1]
        assert camera.f_number[0] <= s.f_number <= camera.f_number[1]
        assert camera.iso[0] - 0.5 <= s.iso <= camera.iso[1] + 0.5
        assert camera.jpeg_quality[0] <= s.jpeg_quality <= camera.jpeg_quality[1]
        assert -0.5 <= s.exposure_bias_ev <= 0.5 and 5000 <= s.white_balance_k <= 8000
        assert s.elevated is False or camera.elevated_share > 0
    shares = {name: sum(s.camera == name for s in specs) / len(specs) for name in CAMERA_CLASSES}
    total = sum(DEFAULT_CAMERA_MIX.values())
    assert all(abs(shares[n] - w / total) < 0.04 for n, w in DEFAULT_CAMERA_MIX.items()), shares
    assert {s.focus_person for s in specs} == {0, 1, 2}


def test_switching_photometry_off_draws_the_same_count_of_numbers():
    """The scene plan after the photo draws must not depend on the photo config."""
    off = photo_config_from_dict(compose_render_config(["body=mannequin", *OFF])[1]["photo"])
    on = photo_config_from_dict(compose_render_config(["body=mannequin", *STRONG])[1]["photo"])
    for people in (1, 4):
        rng_off, rng_on = np.random.default_rng(9), np.random.default_rng(9)
        spec_off, spec_on = sample_photo(rng_off, off, people), sample_photo(rng_on, on, people)
        assert spec_off.sharpening == 0.0 and spec_on.sharpening > 0.0 and spec_off.camera == spec_on.camera
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


# --- metering and exposure -------------------------------------------------------------------------------------
def scene_with_people(light: float, skins: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 60x80 frame under ``light``: a grey floor (albedo 0.3) and one person per skin albedo."""
    albedo = np.full((60, 80, 3), 0.3, np.float32)
    people = np.zeros((60, 80), bool)
    for i, skin in enumerate(skins):
        albedo[10:50, 10 + 30 * i : 30 + 30 * i] = skin
        people[10:50, 10 + 30 * i : 30 + 30 * i] = True
    return albedo * light, albedo, people


@pytest.mark.parametrize("skin", [0.05, 0.45])
def test_metering_reads_the_light_not_the_skin(skin):
    """Dark skin is not pushed up nor light skin down: the metered exposure depends on the light only."""
    linear, albedo, people = scene_with_people(2.0, (skin,))
    metering = meter(linear, albedo, people)
    assert metering.on == "people" and metering.light == pytest.approx(2.0, rel=1e-5)
    assert metering.exposure_ev == pytest.approx(-1.0, abs=1e-5)  # a grey card under it renders 0.18
    out = develop_linear(
        linear,
        albedo,
        np.ones((60, 80)),
        people,
        spec(),
        replace(PhotoConfig(), sensor_noise=False, depth_of_field=False),
        300.0,
        None,
    )
    assert out.linear[30, 20, 1] == pytest.approx(skin, rel=1e-3)  # the skin shows its own albedo
    assert out.exposure["metered_on"] == "people" and out.exposure["applied_ev"] == -1.0


def test_metering_falls_back_to_the_frame_then_to_its_mean():
    linear, albedo, _people = scene_with_people(0.5, ())
    assert meter(linear, albedo, np.zeros((60, 80), bool)).on == "frame"
    assert meter(linear, albedo, None).light == pytest.approx(0.5, rel=1e-5)
    dark = np.zeros_like(albedo)
    reflected = meter(np.full_like(albedo, 0.09), dark, None)
    assert reflected.on == "reflected" and reflected.light == pytest.approx(0.5, rel=1e-5)


def test_applied_exposure_is_the_metered_one_plus_the_bias_on_the_eighth_stop_grid():
    linear, albedo, people = scene_with_people(3.0, (0.3,))
    config = replace(PhotoConfig(), sensor_noise=False)
    for bias in (-0.43, 0.0, 0.31):
        record = develop_linear(
            linear, albedo, albedo[..., 0], people, spec(exposure_bias_ev=bias), config, 300.0, None
        ).exposure
        assert record["applied_ev"] == quantize_exposure(-np.log2(3.0) + bias)
        assert abs(record["applied_ev"] / EXPOSURE_STEP_EV - round(record["applied_ev"] / EXPOSURE_STEP_EV)) < 1e-9
        assert record["bias_ev"] == round(bias, 4) and record["metered_ev"] == round(-np.log2(3.0), 4)
    unmetered = replace(config, metering=False)
    record = develop_linear(
        linear, albedo, albedo[..., 0], people, spec(exposure_bias_ev=0.3), unmetered, 300.0, None
    ).exposure
    assert record["metered_on"] is None and record["applied_ev"] == 0.25


def test_develop_with_everything_off_is_identity_and_is_deterministic():
    linear = texture()
    albedo = np.full_like(linear, 0.3)
    depth = np.full(linear.shape[:2], 4.0, np.float32)
    depth[:, :20] = 30.0
    off = photo_config_from_dict(compose_render_config(["body=mannequin", *OFF])[1]["photo"])
    assert np.array_equal(develop_linear(linear, albedo, depth, None, spec(), off, 60.0, None).linear, linear)
    on, frame = PhotoConfig(), spec(white_balance_k=5000.0, tint=0.01, f_number=1.4, iso=1600.0)
    a = develop_linear(linear, albedo, depth, None, frame, on, 60.0, 4.0).linear
    assert np.array_equal(a, develop_linear(linear, albedo, depth, None, frame, on, 60.0, 4.0).linear)
    assert not np.array_equal(
        a, develop_linear(linear, albedo, depth, None, replace(frame, noise_seed=12), on, 60.0, 4.0).linear
    )


# --- white balance, noise, sharpening --------------------------------------------------------------------------
def test_white_balance_casts_warm_below_and_cool_above_6500k_keeping_luminance():
    assert np.allclose(white_balance_gains(6500.0, 0.0), 1.0)
    warm, cool = white_balance_gains(3500.0, 0.0), white_balance_gains(10000.0, 0.0)
    assert warm[0] > warm[1] > warm[2] and cool[2] > cool[1] > cool[0]
    magenta = white_balance_gains(6500.0, 0.05)
    assert magenta[1] < magenta[0] == pytest.approx(magenta[2])
    for kelvin, tint in ((3500.0, 0.0), (10000.0, 0.02)):
        assert np.dot([0.2126, 0.7152, 0.0722], white_balance_gains(kelvin, tint)) == pytest.approx(1.0)


def test_sensor_noise_is_shot_plus_read_noise_of_the_camera_at_its_iso():
    flat = np.full((240, 320, 3), MIDDLE_GREY, np.float32)
    camera = CAMERA_CLASSES["phone_main"]
    frame = spec(iso=3200.0)
    noisy = apply_sensor_noise(flat, frame).astype(np.float64)
    assert np.array_equal(noisy, apply_sensor_noise(flat, frame))
    binned = camera.megapixels * 1e6 / (240 * 320)
    per_unit = camera.full_well_e * binned / (MIDDLE_GREY * 8.0) / (3200.0 / camera.base_iso)
    expected = np.sqrt(MIDDLE_GREY * per_unit + camera.read_noise_e**2 * binned) / per_unit
    assert abs(noisy.mean() - MIDDLE_GREY) < 3 * expected / np.sqrt(noisy.size)
    assert noisy.std() == pytest.approx(expected, rel=0.03)
    by_iso = [apply_sensor_noise(flat, spec(iso=iso)).std() for iso in (50.0, 400.0, 3200.0)]
    assert all(a < b for a, b in pairwise(by_iso)), by_iso
    bigger_sensor = apply_sensor_noise(flat, spec(camera="mirrorless", iso=3200.0)).std()
    assert bigger_sensor < by_iso[-1] / 2


def test_sharpening_raises_edge_contrast_and_zero_is_identity():
    image = np.rint(np.clip(texture(), 0, 1) * 255).astype(np.uint8)
    assert np.array_equal(sharpen(image, 0.0), image)
    assert sharpness(sharpen(image, 1.0)) > 1.1 * sharpness(image)


# --- depth of field --------------------------------------------------------------------------------------------
def test_circle_of_confusion_is_the_thin_lens_one_on_the_camera_s_sensor():
    fx, width, sensor = 600.0, 640, 36.0
    f = focal_length_m(fx, width, sensor)  # 33.75 mm on a 36 mm sensor
    coc = circle_of_confusion(np.array([1.0, 2.0, 4.0, np.inf, 0.0]), fx, width, 2.0, 2.0, sensor)
    # blur-circle diameter on the sensor: f^2 / (N (s - f)) * |z - s| / z, in pixels of sensor width / width
    on_sensor = f**2 / (2.0 * (2.0 - f)) * (np.array([1.0, 2.0, 4.0]) - 2.0) / np.array([1.0, 2.0, 4.0])
    assert np.allclose(coc[:3], on_sensor / (sensor / 1000.0 / width))
    assert coc[0] < 0 and coc[1] == 0 and coc[2] > 0 and coc[3] == coc[4] > coc[2]
    phone = circle_of_confusion(np.array([4.0]), fx, width, 2.0, 2.0, 9.8)  # same view, a phone's sensor
    assert 0 < phone[0] < coc[2] / 3  # a smaller sensor's shorter lens: a deeper depth of field


def test_depth_of_field_with_the_focus_plane_at_the_only_depth_is_identity():
    image = texture()
    depth = np.full(image.shape[:2], 3.0, np.float32)
    assert np.array_equal(apply_depth_of_field(image, depth, 80.0, 1.4, 3.0, 36.0), image)


def test_blur_grows_with_defocus_and_wider_aperture():
    image = texture(96, 128)
    fx = 400.0  # 128 px wide: a long lens, visible blur
    depth = np.full(image.shape[:2], 6.0, np.float32)
    by_focus = [sharpness(apply_depth_of_field(image, depth, fx, 2.0, f, 36.0)) for f in (6.0, 4.5, 3.5, 2.5, 1.5)]
    assert all(a > b for a, b in pairwise(by_focus)), by_focus
    by_aperture = [sharpness(apply_depth_of_field(image, depth, fx, n, 3.0, 36.0)) for n in (16.0, 5.6, 2.0)]
    assert all(a > b for a, b in pairwise(by_aperture)), by_aperture


def test_focused_foreground_stays_sharp_over_a_blurred_background():
    image = texture(96, 128)
    depth = np.full(image.shape[:2], 50.0, np.float32)
    depth[20:76, 30:98] = 3.0  # a "person" at 3 m
    out = apply_depth_of_field(image, depth, 400.0, 1.4, 3.0, 36.0)
    inner = (slice(24, 72), slice(34, 94))
    assert np.abs(out[inner] - image[inner]).max() < 1e-5
    assert sharpness(out[:16]) < 0.5 * sharpness(image[:16])


def test_focus_distance_takes_the_persons_median_depth_then_the_fallback():
    depth = np.full((10, 10), 1e10, np.float32)
    depth[2:5, 2:5] = 4.0
    depth[5:7, 2:5] = 9.0
    mask = np.zeros((10, 10), bool)
    mask[2:7, 2:5] = True
    assert focus_distance(depth, mask, 2.0) == 4.0
    assert focus_distance(depth, np.zeros_like(mask), 2.5) == 2.5
    assert focus_distance(depth, None, -1.0) == 4.0


# --- in Blender ------------------------------------------------------------------------------------------------
TINY = tiny(distractors=(1, 2), body="mannequin")

DISPLAY_PROBE = """
import json, os, sys
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
with stdout_to(Path(os.environ["PROBE_LOG"])):
    blender = BlenderScene(config)
    blender.build(plan)
    frame = blender.render()[0]
    ours = blender.display(frame.linear)
    develop = bpy.data.scenes["bpgen_develop"].view_settings
    shown = {"view_transform": develop.view_transform, "look": develop.look, "exposure": develop.exposure}
    scene = bpy.context.scene
    scene.render.image_settings.file_format, scene.render.image_settings.color_depth = "PNG", "8"
    scene.render.dither_intensity = 0.0
    scene.view_settings.view_transform = config.photo.view_transform
    scene.view_settings.look = config.photo.blender_look
    blender.build(plan)
    keys = {"display"}
    data = blender.bproc.renderer.render(verbose=False, file_prefix="display_", output_key="display", load_keys=keys)
    theirs = np.asarray(data["display"][0], np.uint8)[..., :3]
people = np.isin(frame.instance_map, [i for n, i in frame.index_of.items() if n.startswith("person_")])
print(json.dumps({
    **shown,
    "mean_difference": float(np.abs(ours.astype(int) - theirs).mean()),
    "linear_max": float(frame.linear.max()),
    "albedo_on_people": float(frame.albedo[people].mean()) if people.any() else None,
    "albedo_range": [float(frame.albedo.min()), float(frame.albedo.max())],
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
def test_the_view_transform_of_the_linear_render_is_blender_s_own(tmp_path, view, look):
    """The frame rendered in linear light and shown through ``display`` equals what Blender writes itself."""
    overrides = [*TINY, f"photo.view_transform={view}", f"photo.look={'null' if look is None else look}"]
    probe = blender_probe(DISPLAY_PROBE, tmp_path / "blender.log", *overrides, "resolution=[96,72]", "samples=8")
    assert probe["view_transform"] == view and probe["exposure"] == 0.0
    assert probe["look"] == ("None" if look is None else f"AgX - {look}")
    assert probe["mean_difference"] < 1.0, probe  # half-float EXR vs Blender's float buffer: within a level
    assert probe["linear_max"] > 0.0 and 0.0 <= probe["albedo_range"][0] and probe["albedo_range"][1] <= 1.0
    assert probe["albedo_on_people"] is None or probe["albedo_on_people"] > 0.03


@pytest.mark.blender
def test_annotations_do_not_depend_on_photometry(tmp_path):
    off = render_shard(tmp_path / "off", *OFF)
    on = render_shard(tmp_path / "on", *STRONG, "photo.view_transform=Filmic", "photo.look=High Contrast")

    assert coco_of(off, "info", "images")["annotations"], "the tiny shard should show people"
    assert coco_of(off, "info", "images") == coco_of(on, "info", "images")
    records = {name: frames_of(shard) for name, shard in (("off", off), ("on", on))}
    photos = {name: [r.pop("photo") for r in frames] for name, frames in records.items()}
    assert records["off"] == records["on"]
    assert all(p["dof"] is None and p["exposure"]["applied_ev"] == 0 for p in photos["off"])
    assert all(p["exposure"]["metered_on"] is None and p["sharpening"] == 0 for p in photos["off"])
    assert all(p["dof"]["focus_m"] > 0 and p["view_transform"] == "Filmic" for p in photos["on"])
    assert all(p["exposure"]["metered_on"] in ("people", "frame", "reflected") for p in photos["on"])
    assert all(p["camera"] in CAMERA_CLASSES and p["iso"] > 0 for p in photos["on"])
    images_off = sorted((off / layout.IMAGES).glob("*.jpg"))
    assert len(images_off) == 4
    on_images = on / layout.IMAGES
    assert all(i.read_bytes() != (on_images / i.name).read_bytes() for i in images_off)
