"""Quality presets (configs/quality/, bpgen.quality.cycles): composition, validation, what Cycles gets, same labels."""

from pathlib import Path

import pytest
import yaml
from helpers import ROOT, assert_one_line_error, blender_probe, coco_of, frames_of, run_render

from bpgen.quality.cycles import KEYS, PRESETS
from bpgen.render.config import ConfigError, compose_render_config, load_resolved_config
from bpgen.run import layout

PRESET_FILES = sorted(p.stem for p in (ROOT / "configs" / "quality").glob("*.yaml"))


def test_every_preset_file_is_a_known_preset_with_every_key():
    assert PRESET_FILES == ["draft", "high", "reference", "standard"]
    for name in PRESET_FILES:
        config, resolved = compose_render_config([f"quality={name}"])
        assert config.cycles.preset == name and sorted(resolved["cycles"]) == sorted(KEYS)
        assert name in PRESETS


def test_standard_is_the_default_and_presets_order_by_effort():
    default, _ = compose_render_config([])
    assert default.cycles.preset == "standard"
    names = ("draft", "standard", "high", "reference")
    draft, standard, high, reference = (compose_render_config([f"quality={name}"])[0] for name in names)
    assert draft.samples < standard.samples < high.samples < reference.samples
    assert draft.cycles.noise_threshold >= standard.cycles.noise_threshold >= high.cycles.noise_threshold > 0
    assert reference.denoiser == "none" and not reference.cycles.adaptive
    assert reference.cycles.clamp_direct == reference.cycles.clamp_indirect == 0 and reference.cycles.caustics


def test_a_key_on_the_command_line_wins_over_the_preset():
    config, resolved = compose_render_config(["quality=draft", "samples=12", "cycles.light_tree=false"])
    assert config.samples == 12 and not config.cycles.light_tree and config.cycles.preset == "draft"
    assert resolved["samples"] == 12


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("quality=ultra", "bad config override (In 'render': Could not find 'quality/ultra')"),
        ("cycles.texture_limit=300", "cycles.texture_limit=300 is not valid; use one of 0, 128"),
        ("cycles.denoise_passes=depth", "cycles.denoise_passes='depth' is not valid"),
        ("cycles.noise_threshold=-0.1", "cycles.noise_threshold must be"),
        ("cycles.light_tree=maybe", "cycles.light_tree must be true or false"),
        ("cycles.diffuse_bounces=2000", "cycles.diffuse_bounces=2000 is above the bound 1,024"),
        ("+cycles.tile_size=64", "cycles has unknown keys ['tile_size']"),
        ("~cycles.caustics", "cycles.caustics is missing"),
    ],
)
def test_bad_cycles_setting_is_one_clear_error(override, message):
    assert_one_line_error(compose_render_config, [override], message)


def test_a_config_frozen_before_the_presets_names_the_fix(tmp_path):
    _, resolved = compose_render_config([])
    resolved.pop("cycles")
    path = tmp_path / layout.CONFIG
    path.write_text(yaml.safe_dump(resolved))
    with pytest.raises(ConfigError, match="lacks the key 'cycles'; freeze the run again with ./2-submit"):
        load_resolved_config(path)


# --- in Blender ------------------------------------------------------------------------------------------------
SETTINGS_PROBE = """
import json, os, sys
from pathlib import Path
from bpgen.render.config import compose_render_config
from bpgen.render.shard import stdout_to
from bpgen.blender.scene import BlenderScene
import bpy

config, _ = compose_render_config(sys.argv[1:])
with stdout_to(Path(os.environ["PROBE_LOG"])):
    BlenderScene(config)
scene = bpy.context.scene
c = scene.cycles
nodes = scene.node_tree.nodes if scene.node_tree else []
print(json.dumps({
    "samples": c.samples, "adaptive": c.use_adaptive_sampling, "threshold": round(c.adaptive_threshold, 6),
    "denoise": c.use_denoising, "layer_denoise": scene.view_layers[0].cycles.use_denoising,
    "denoiser": c.denoiser, "passes": c.denoising_input_passes, "prefilter": c.denoising_prefilter,
    "quality": c.denoising_quality, "light_tree": c.use_light_tree, "guiding": c.use_guiding,
    "bounces": [c.max_bounces, c.diffuse_bounces, c.glossy_bounces, c.transmission_bounces,
                c.transparent_max_bounces, c.volume_bounces],
    "clamp": [c.sample_clamp_direct, c.sample_clamp_indirect],
    "caustics": [c.caustics_reflective, c.caustics_refractive], "blur_glossy": c.blur_glossy,
    "texture_limit": c.texture_limit_render, "simplify": scene.render.use_simplify,
    "compositor_denoise": any(n.bl_idname == "CompositorNodeDenoise" for n in nodes),
}))
sys.stdout.flush()
os._exit(0)
"""


def probe_settings(tmp_path: Path, *overrides: str) -> dict:
    return blender_probe(SETTINGS_PROBE, tmp_path / "blender.log", "device=cpu", *overrides)


@pytest.mark.blender
@pytest.mark.parametrize("preset", ["draft", "standard", "high", "reference"])
def test_cycles_gets_the_presets_settings(tmp_path, preset):
    config, _ = compose_render_config([f"quality={preset}"])
    q = config.cycles
    got = probe_settings(tmp_path, f"quality={preset}")
    assert got["samples"] == config.samples
    assert got["adaptive"] == q.adaptive and (not q.adaptive or got["threshold"] == pytest.approx(q.noise_threshold))
    assert got["denoise"] == got["layer_denoise"] == (config.denoiser != "none")
    assert not got["compositor_denoise"], "BlenderProc's compositor denoiser must be gone (Cycles' own is used)"
    if config.denoiser != "none":
        assert got["denoiser"] == config.denoiser
        assert (got["passes"], got["prefilter"], got["quality"]) == (
            {"rgb": "RGB", "albedo": "RGB_ALBEDO", "albedo_normal": "RGB_ALBEDO_NORMAL"}[q.denoise_passes],
            q.denoise_prefilter.upper(),
            q.denoise_quality.upper(),
        )
    assert got["light_tree"] == q.light_tree and got["guiding"] == q.path_guiding
    assert got["bounces"] == [
        config.max_bounces,
        q.diffuse_bounces,
        q.glossy_bounces,
        q.transmission_bounces,
        q.transparent_bounces,
        q.volume_bounces,
    ]
    assert got["clamp"] == [q.clamp_direct, q.clamp_indirect]
    assert got["caustics"] == [q.caustics, q.caustics] and got["blur_glossy"] == pytest.approx(q.filter_glossy)
    assert got["texture_limit"] == "OFF" and not got["simplify"]


@pytest.mark.blender
def test_texture_limit_and_overrides_reach_cycles(tmp_path):
    got = probe_settings(tmp_path, "cycles.texture_limit=1024", "cycles.path_guiding=true", "denoiser=none")
    assert got["texture_limit"] == "1024" and got["simplify"] and got["guiding"] and not got["denoise"]


@pytest.mark.blender
def test_optix_denoiser_without_optix_is_refused_and_writes_nothing(tmp_path):
    run_dir = tmp_path / "run"
    result = run_render(run_dir, 0, 2, "device=cpu", "denoiser=OPTIX", "body=mannequin", "resolution=[64,48]")
    assert result.returncode == 2
    assert (
        result.stderr.startswith("error: denoiser=OPTIX needs an NVIDIA GPU") and len(result.stderr.splitlines()) == 1
    )
    assert not run_dir.exists()


@pytest.mark.blender
@pytest.mark.anny
def test_labels_are_the_same_whatever_the_preset(tmp_path):
    """The same seed at draft and high quality: other pixels, the same annotations and frame records (the metered
    exposure within the noise)."""
    tiny = ["resolution=[64,48]", "frames_per_scene=2", "mode=occlusion", "scene.distractors=[1,2]", "device=cpu"]
    shards = {}
    for preset in ("draft", "high"):
        run_dir = tmp_path / preset
        result = run_render(run_dir, 2, 4, *tiny, f"quality={preset}", timeout=900)
        assert result.returncode == 0, result.stderr
        shards[preset] = layout.shard_dir(run_dir, 2)

    draft, high = shards["draft"], shards["high"]
    assert coco_of(draft, "info")["annotations"], "the tiny shard should show people"
    assert coco_of(draft, "info") == coco_of(high, "info")
    records = {preset: frames_of(shard) for preset, shard in shards.items()}
    metered = {preset: [r["photo"].pop("exposure") for r in frames] for preset, frames in records.items()}
    assert records["draft"] == records["high"]  # all but the exposure, metered on the rendered pixels:
    for a, b in zip(metered["draft"], metered["high"], strict=True):  # the same light, within the render noise
        assert a["metered_on"] == b["metered_on"] and abs(a["metered_ev"] - b["metered_ev"]) < 0.5
    images = sorted(p.name for p in (draft / layout.IMAGES).iterdir())
    assert len(images) == 4
    assert all((draft / layout.IMAGES / n).read_bytes() != (high / layout.IMAGES / n).read_bytes() for n in images)


# --- the bench's measure (bench/bench_quality.py) ---------------------------------------------------------------
def test_bench_window_is_centred_and_clipped_to_the_frame():
    from bench.quality_window import window_bounds

    assert window_bounds(640, 480, (256, 192)) == (192, 144, 448, 336)
    assert window_bounds(64, 48, (100, 100)) == (0, 0, 64, 48)


def test_bench_psnr_and_ssim_are_measured_inside_the_window_only():
    import numpy as np

    from bench.bench_quality import quality

    rng = np.random.default_rng(0)
    reference = rng.integers(0, 256, (48, 64, 3)).astype(np.uint8)
    noisy = reference.copy()
    noisy[10:20, 10:30] = np.clip(noisy[10:20, 10:30].astype(int) + rng.choice([-4, 4], (10, 20, 3)), 0, 255)
    noisy[:5] = 0  # outside the window: not measured
    inside = quality([noisy], [reference], (10, 10, 30, 20))
    error = np.mean((noisy[10:20, 10:30].astype(float) - reference[10:20, 10:30]) ** 2)
    assert inside["psnr"] == pytest.approx(10 * np.log10(255**2 / error)) and inside["ssim"] < 1.0
    untouched = quality([noisy], [reference], (30, 20, 60, 40))
    assert untouched["ssim"] == pytest.approx(1.0) and untouched["psnr"] > 100
