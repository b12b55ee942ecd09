"""World lighting (HDRIs) and the asset library (BPGEN_ASSETS_DIR): the plan is pure numpy, Blender only builds it."""

import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import ROOT, assert_one_line_error, assert_same_people_and_cameras, coco_of, run_module, run_render, tiny

from bpgen.bodies.mannequin import MannequinBody
from bpgen.ops.slurm.params import task_python
from bpgen.render import cli as render
from bpgen.render.config import compose_render_config
from bpgen.run import layout
from bpgen.run.site import load_site_config
from bpgen.scene.plan import plan_scene
from bpgen.settings import assets_dir_setting
from bpgen.world import assets as world_module
from bpgen.world.assets import (
    AssetCatalogue,
    AssetsError,
    TextureSet,
    WorldConfig,
    bpy_hdris,
    check_frozen_assets,
    freeze_assets,
    load_catalogue,
    sample_texture,
    sample_world,
    scan_library,
)

TINY = tiny(frames_per_scene=2, body="mannequin")


def make_library(root: Path, hdri: bool = True) -> Path:
    """A tiny asset library: one HDRI (a copy of bpy's, when bpy is installed), a cc_textures-like set with a
    normal map and a Poly Haven-like set with a displacement map, plus files that must be ignored."""
    import cv2

    if hdri:
        (root / "hdris" / "outdoor").mkdir(parents=True)
        source = bpy_hdris()
        if source:
            shutil.copy(source[0], root / "hdris" / "outdoor" / "yard_1k.exr")
        else:
            (root / "hdris" / "outdoor" / "yard_1k.exr").write_bytes(b"not read by the plan")
    rng = np.random.default_rng(0)
    bricks = root / "textures" / "Bricks001"
    bricks.mkdir(parents=True)
    cv2.imwrite(str(bricks / "Bricks001_1K-PNG_Color.png"), rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))
    cv2.imwrite(str(bricks / "Bricks001_1K-PNG_Roughness.png"), np.full((16, 16), 180, np.uint8))
    cv2.imwrite(str(bricks / "Bricks001_1K-PNG_NormalGL.png"), np.full((16, 16, 3), (255, 128, 128), np.uint8))
    cv2.imwrite(str(bricks / "Bricks001_1K-PNG_NormalDX.png"), np.zeros((16, 16, 3), np.uint8))
    cv2.imwrite(str(bricks / "Bricks001.png"), np.zeros((4, 4, 3), np.uint8))  # preview: no map name
    (bricks / "Bricks001.usda").write_text("#usda 1.0\n")
    planks = root / "textures" / "haven" / "wood_planks"
    planks.mkdir(parents=True)
    cv2.imwrite(str(planks / "wood_planks_diff_1k.png"), rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))
    cv2.imwrite(str(planks / "wood_planks_rough_ao_1k.png"), np.zeros((16, 16), np.uint8))
    cv2.imwrite(str(planks / "wood_planks_rough_1k.png"), np.full((16, 16), 150, np.uint8))
    cv2.imwrite(str(planks / "wood_planks_disp_1k.png"), np.full((16, 16), 100, np.uint8))
    (root / "textures" / "no_colour").mkdir()
    cv2.imwrite(str(root / "textures" / "no_colour" / "x_Roughness.png"), np.zeros((4, 4), np.uint8))
    return root


# --- catalogue ---------------------------------------------------------------------------------------------------
def test_library_scan_finds_sets_and_maps_in_sorted_order(tmp_path):
    root = make_library(tmp_path / "assets")
    hdris, textures = scan_library(root)
    assert [Path(p).relative_to(root).as_posix() for p in hdris] == ["hdris/outdoor/yard_1k.exr"]
    assert [t.name for t in textures] == ["Bricks001", "haven/wood_planks"]
    bricks, planks = textures
    assert Path(bricks.color).name == "Bricks001_1K-PNG_Color.png"
    assert Path(bricks.roughness or "").name == "Bricks001_1K-PNG_Roughness.png"
    assert Path(bricks.normal or "").name == "Bricks001_1K-PNG_NormalGL.png"  # never the DirectX one
    assert bricks.displacement is None
    assert Path(planks.roughness or "").name == "wood_planks_rough_1k.png"  # not rough_ao
    assert planks.normal is None and Path(planks.displacement or "").name == "wood_planks_disp_1k.png"


def test_catalogue_order_does_not_depend_on_directory_listing(tmp_path, monkeypatch):
    root = make_library(tmp_path / "assets")
    (root / "hdris" / "a_first.hdr").write_bytes(b"x")
    forward = scan_library(root)
    real_walk = os.walk

    def reversed_walk(top, **kwargs):
        for directory, dirs, files in real_walk(top, **kwargs):
            dirs.reverse()
            yield directory, dirs, files[::-1]

    monkeypatch.setattr(world_module.os, "walk", reversed_walk)
    assert scan_library(root) == forward
    assert [Path(p).name for p in forward[0]] == ["a_first.hdr", "yard_1k.exr"]


@pytest.mark.blender
def test_bpy_hdris_are_sorted_by_name():
    names = [Path(p).name for p in bpy_hdris()]
    assert names == sorted(names) and "studio.exr" in names and len(names) == 8


def test_catalogue_puts_bpy_hdris_first_then_the_library(tmp_path):
    root = make_library(tmp_path / "assets")
    catalogue = load_catalogue(str(root))
    assert catalogue.hdris[: len(bpy_hdris())] == bpy_hdris()
    assert catalogue.hdris[-1].endswith("hdris/outdoor/yard_1k.exr") and len(catalogue.textures) == 2
    assert load_catalogue(None) == AssetCatalogue(bpy_hdris(), ())


# --- drawing -----------------------------------------------------------------------------------------------------
CATALOGUE = AssetCatalogue(
    ("/a/city.exr", "/a/night.exr", "/lib/hdris/yard.hdr"), (TextureSet("bricks", "/lib/c.png"),)
)


def test_world_draw_is_deterministic_and_in_range():
    config = WorldConfig(hdri_probability=1.0, hdri_strength=(0.5, 2.0), hdri_tint=0.1)
    worlds = [sample_world(np.random.default_rng(seed), config, CATALOGUE) for seed in range(60)]
    again = [sample_world(np.random.default_rng(seed), config, CATALOGUE) for seed in range(60)]
    assert worlds == again
    assert all(w.kind == "hdri" and w.hdri in CATALOGUE.hdris for w in worlds)
    assert {w.hdri for w in worlds} == set(CATALOGUE.hdris)
    assert all(0.5 <= w.strength <= 2.0 and 0.0 <= w.rotation_deg < 360.0 for w in worlds)
    assert all(min(w.tint) >= 0.9 - 1e-9 and max(w.tint) == pytest.approx(1.0) for w in worlds)


def test_world_without_hdri_is_sky_or_colour_and_draws_the_same_count():
    kinds = set()
    for seed in range(40):
        with_hdri, without = np.random.default_rng(seed), np.random.default_rng(seed)
        sample_world(with_hdri, WorldConfig(hdri_probability=1.0), CATALOGUE)
        world = sample_world(without, WorldConfig(hdri_probability=1.0), AssetCatalogue((), ()))
        kinds.add(world.kind)
        assert with_hdri.uniform() == without.uniform()  # what follows does not depend on the branch
    assert kinds == {"sky", "color"}
    never = [sample_world(np.random.default_rng(s), WorldConfig(hdri_probability=0.0), CATALOGUE) for s in range(20)]
    assert all(w.kind != "hdri" for w in never)


def test_textures_follow_probability_and_tile_range():
    config = WorldConfig(texture_probability=0.5, texture_tile_m=(1.0, 3.0))
    rng = np.random.default_rng(0)
    drawn = [sample_texture(rng, config, CATALOGUE) for _ in range(400)]
    used = [t for t in drawn if t is not None]
    assert 150 < len(used) < 250
    assert all(1.0 <= t.tile_m <= 3.0 and all(0 <= o <= t.tile_m for o in t.offset_m) for t in used)
    nothing = AssetCatalogue((), ())
    assert sample_texture(np.random.default_rng(0), replace(config, texture_probability=1.0), nothing) is None
    assert sample_texture(rng, replace(config, texture_probability=0.0), CATALOGUE) is None


RANDOM_SET = ["scene.layout_mix.room=0", "scene.layout_mix.outdoor=0"]  # the floor, free walls and coloured lamps


def test_plan_with_library_keeps_people_and_cameras_and_is_deterministic(tmp_path):
    root = make_library(tmp_path / "assets")
    plain, _ = compose_render_config([*TINY, *RANDOM_SET, "world.hdri_probability=1.0", "scene.walls=[1,2]"])
    textured, resolved = compose_render_config(
        [*TINY, *RANDOM_SET, "world.hdri_probability=1.0", "world.texture_probability=1.0", "scene.walls=[1,2]"],
        assets_dir=root,
    )
    assert resolved["world"]["assets_dir"] == str(root.resolve()) and resolved["world"]["assets_digest"]
    body = MannequinBody()
    a = plan_scene(np.random.default_rng(4), textured, body, 2)
    b = plan_scene(np.random.default_rng(4), textured, body, 2)
    assert a.world == b.world and a.floor == b.floor and a.objects == b.objects and a.lights == b.lights
    assert a.floor.texture is not None and all(o.material.texture is not None for o in a.objects)
    assert all(o.material.texture.textures in load_catalogue(str(root)).textures for o in a.objects)
    assert a.world.kind == "hdri"
    c = plan_scene(np.random.default_rng(4), plain, body, 2)  # no library: the labels' inputs are unchanged
    assert c.floor.texture is None and len(c.people) == len(a.people)
    assert_same_people_and_cameras(a, c)


def test_hdri_scenes_dim_the_extra_lights():
    on, _ = compose_render_config([*TINY, *RANDOM_SET, "world.hdri_probability=1.0", "world.hdri_light_scale=0.25"])
    off, _ = compose_render_config([*TINY, *RANDOM_SET, "world.hdri_probability=0.0"])
    body = MannequinBody()
    lit = plan_scene(np.random.default_rng(1), on, body, 1)
    plain = plan_scene(np.random.default_rng(1), off, body, 1)
    assert lit.world.kind == "hdri" and plain.world.kind != "hdri" and lit.lights
    for a, b in zip(lit.lights, plain.lights, strict=True):
        assert a.energy == pytest.approx(0.25 * b.energy) and a.location == b.location


# --- the library is refused when set but missing or empty --------------------------------------------------------
def test_missing_or_empty_library_is_one_line_error(tmp_path):
    (tmp_path / "empty" / "textures" / "no_colour").mkdir(parents=True)
    (tmp_path / "empty" / "textures" / "no_colour" / "x_Roughness.png").write_bytes(b"x")
    (tmp_path / "file").write_text("x")
    cases = {
        tmp_path / "missing": "does not exist",
        tmp_path / "empty": "has no HDRI",
        tmp_path / "file": "is not a directory",
    }
    for path, problem in cases.items():
        with pytest.raises(AssetsError) as error:
            compose_render_config(TINY, assets_dir=path)
        message = str(error.value)
        assert message.startswith(f"BPGEN_ASSETS_DIR={path} {problem}") and "\n" not in message
        assert message.count("; ") == 1 and "README" in message.split("; ")[1]
    with pytest.raises(AssetsError, match=r"^world.assets_dir=.* does not exist; "):
        compose_render_config([*TINY, f"world.assets_dir={tmp_path / 'missing'}"])


def test_frozen_library_must_be_unchanged(tmp_path):
    root = make_library(tmp_path / "assets")
    config, resolved = compose_render_config(TINY, assets_dir=root)
    check_frozen_assets(config.world)  # unchanged: fine
    shutil.rmtree(root / "textures" / "Bricks001")
    with pytest.raises(AssetsError, match="changed since the run's config was frozen"):
        check_frozen_assets(config.world)
    shutil.rmtree(root)
    with pytest.raises(AssetsError, match="does not exist"):
        check_frozen_assets(config.world)
    config_file = tmp_path / layout.CONFIG
    config_file.write_text(yaml.safe_dump(resolved))
    run_dir = tmp_path / "run"
    status = render.main(["--run-dir", str(run_dir), "--shard", "0", "--images", "1", "--config", str(config_file)])
    assert status == 2 and not run_dir.exists()


def test_freeze_without_library_leaves_nulls():
    resolved = {"world": {"assets_dir": None, "assets_digest": "stale"}}
    freeze_assets(resolved, None)
    assert resolved["world"] == {"assets_dir": None, "assets_digest": None}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("world.hdri_probability=1.5", "world.hdri_probability must be in [0, 1]"),
        ("world.texture_probability=-0.1", "world.texture_probability must be in [0, 1]"),
        ("world.hdri_tint=abc", "world.hdri_tint must be a number in [0, 1]"),
        ("world.hdri_strength=[2,1]", "world.hdri_strength"),
        ("world.hdri_strength=[0,0]", "world.hdri_strength=[0, 0] must allow a strength > 0"),
        ("world.texture_tile_m=[0,1]", "world.texture_tile_m"),
        ("world.hdri_light_scale=2", "world.hdri_light_scale must be in [0, 1]"),
        ("world.assets_dir=[1]", "world.assets_dir must be a path or null"),
    ],
)
def test_bad_world_config_is_one_clear_error(override, message):
    assert_one_line_error(compose_render_config, [*TINY, override], message)


# --- site: environment.sh --------------------------------------------------------------------------------------
def test_site_reads_the_assets_dir_relative_to_the_checkout(tmp_path):
    env = ROOT / "environment.sh"
    assert load_site_config(env, environ={}).assets_dir is None
    assert assets_dir_setting(env, environ={}) is None
    site = load_site_config(env, environ={"BPGEN_ASSETS_DIR": "assets"})
    assert site.assets_dir == ROOT / "assets" == assets_dir_setting(env, environ={"BPGEN_ASSETS_DIR": "assets"})
    absolute = load_site_config(env, environ={"BPGEN_ASSETS_DIR": str(tmp_path), "BPGEN_RENDER_IMAGE": "/x.sif"})
    assert f",{tmp_path.resolve()} " in task_python(absolute)  # bound into the render container


def test_submit_refuses_a_missing_library_and_writes_nothing(tmp_path):
    env = os.environ | {"BPGEN_DATA_ROOT": str(tmp_path / "data"), "BPGEN_ASSETS_DIR": str(tmp_path / "nope")}
    result = run_module("bpgen.ops.submit", "--shards", "1", "--run", "r", "--local", *TINY, env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: BPGEN_ASSETS_DIR={tmp_path / 'nope'} does not exist; ")
    assert not (tmp_path / "data").exists()


def test_render_cli_refuses_an_empty_library_and_writes_nothing(tmp_path):
    (tmp_path / "empty" / "hdris").mkdir(parents=True)
    run_dir = tmp_path / "run"
    result = run_render(run_dir, 0, 1, *TINY, env=os.environ | {"BPGEN_ASSETS_DIR": str(tmp_path / "empty")})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: BPGEN_ASSETS_DIR={tmp_path / 'empty'} has no HDRI")
    assert not run_dir.exists()


# --- Blender: a tiny shard with the library, twice ------------------------------------------------------------
@pytest.mark.blender
def test_tiny_shard_with_asset_library_is_done_and_reproducible(tmp_path):
    library = make_library(tmp_path / "assets")
    overrides = [*TINY, "world.hdri_probability=1.0", "world.texture_probability=1.0", "scene.walls=[1,1]"]
    shards = []
    for name in ("a", "b"):
        run_dir = tmp_path / name
        result = run_render(run_dir, 3, 4, *overrides, env=os.environ | {"BPGEN_ASSETS_DIR": str(library)})
        assert result.returncode == 0, result.stderr
        shards.append(layout.shard_dir(run_dir, 3))
    for shard in shards:
        assert (shard / layout.DONE).is_file() and len(list((shard / layout.IMAGES).glob("*.jpg"))) == 4
        frozen = yaml.safe_load((shard / layout.CONFIG).read_text())["world"]
        assert frozen["assets_dir"] == str(library.resolve()) and len(frozen["assets_digest"]) == 16
        image = __import__("cv2").imread(str(shard / layout.image_file(0, "jpg")))
        assert 10 < image.mean() < 245  # lit: neither black nor blown out

    assert coco_of(shards[0], "info") == coco_of(shards[1], "info")
