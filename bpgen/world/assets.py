"""World lighting and surface assets as plain data: HDRIs, PBR texture sets, their config (numpy only).

The scene plan decides everything here with its own ``numpy.random.Generator``: which HDRI lights a scene (an
index into a sorted catalogue, so the choice never depends on directory listing order), its rotation about Z,
strength and tint, or else a physical sky / flat colour; and for each floor, wall, occluder and distractor
whether it wears a PBR texture set of the asset library, which one and at what repeat size. ``bpgen.blender.world``
only realises these specs.

Catalogue: the 8 CC0 HDRIs inside the bpy wheel (``bpy/<version>/datafiles/studiolights/world/*.exr``, sorted by
name), then those of the asset library (``BPGEN_ASSETS_DIR``): ``hdris/**/*.exr|*.hdr`` and texture sets
``textures/**/<set>/`` (a directory holding a colour image: a file name with Color, BaseColor, albedo, diffuse or
diff; optionally Roughness/rough, NormalGL/nor_gl/Normal, Displacement/disp), each sorted by relative path: the
layouts ``blenderproc download cc_textures`` and ``blenderproc download haven`` produce.

Determinism: ``freeze_assets`` writes the library's absolute path into the resolved config (``world.assets_dir``)
with a digest of its sorted file list (``world.assets_digest``); a render on that config refuses a library whose
file list changed since (``check_frozen_assets``), so the same config and seed always draw the same assets.
"""

from __future__ import annotations

import colorsys
import hashlib
import importlib.util
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bpgen.validate import ConfigError, FloatRange, positive, probability
from bpgen.validate import range_pair as _range

HDRI_SUFFIXES = (".exr", ".hdr")
TEXTURE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".exr")
# lower-case name tokens (split at _ - . and spaces) that mark a map of a texture set
COLOR_TOKENS = frozenset({"color", "col", "basecolor", "albedo", "diffuse", "diff"})
ROUGHNESS_TOKENS = frozenset({"roughness", "rough"})
NORMAL_TOKENS = frozenset({"normalgl", "normal", "nor", "nrm"})
DISPLACEMENT_TOKENS = frozenset({"displacement", "disp", "height"})
FILL_HINT = "fill it as README.md 'World lighting and the asset library' says, or leave BPGEN_ASSETS_DIR empty"


class AssetsError(ConfigError):
    """The asset library is missing, empty, unreadable or changed; the message names the fix."""


@dataclass(frozen=True)
class WorldConfig:
    """configs/render.yaml ``world:``."""

    backplate_share: float = 1.0  # share of outdoor scenes lit by a backplate-capable HDRI that use it as one
    backplate_min_width: int = 4096  # pixels: an HDRI narrower than this lights scenes but is never a backplate
    hdri_probability: float = 0.85
    hdri_strength: FloatRange = (0.6, 1.5)
    hdri_tint: float = 0.12
    hdri_light_scale: float = 0.3
    texture_probability: float = 0.7
    texture_tile_m: FloatRange = (1.0, 3.0)
    assets_dir: str | None = None
    assets_digest: str | None = None


@dataclass(frozen=True)
class TextureSet:
    """One PBR texture set of the library: absolute paths of its maps (only the colour map is required)."""

    name: str  # path relative to textures/
    color: str
    roughness: str | None = None
    normal: str | None = None
    displacement: str | None = None

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(f for f in (self.color, self.roughness, self.normal, self.displacement) if f)


@dataclass(frozen=True)
class TextureSpec:
    """A texture set on a surface: one repeat is ``tile_m`` metres, shifted by ``offset_m`` (box projection in
    the object's own axes, scaled to metres)."""

    textures: TextureSet
    tile_m: float
    offset_m: tuple[float, float, float]


@dataclass(frozen=True)
class WorldSpec:
    """Environment light: an HDRI, a physical sky or a flat colour."""

    kind: str  # "hdri" | "sky" | "color"
    strength: float
    sun_elevation_deg: float = 45.0
    sun_rotation_deg: float = 0.0
    air_density: float = 1.0
    color: tuple[float, float, float] = (0.5, 0.5, 0.5)
    hdri: str = ""  # absolute path of the .exr/.hdr
    rotation_deg: float = 0.0  # HDRI rotation about +Z
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)  # the HDRI's radiance is multiplied by it
    backplate: bool = False  # the HDRI is the visible background; the ground is a shadow catcher
    ground_albedo: tuple[float, float, float] = (0.2, 0.2, 0.2)  # the catcher's albedo (bounce light on people)


@dataclass(frozen=True)
class AssetCatalogue:
    hdris: tuple[str, ...]  # bpy's, sorted by name, then the library's, sorted by relative path
    textures: tuple[TextureSet, ...]  # sorted by name


# --- config ------------------------------------------------------------------------------------------------------
def _optional_text(value: Any, key: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a path or null, got {value!r}")
    return value


def world_config_from_dict(world: dict[str, Any]) -> WorldConfig:
    light_scale = probability(world["hdri_light_scale"], "world.hdri_light_scale")
    strength = _range(world["hdri_strength"], "world.hdri_strength", float, 0.0)
    tile = _range(world["texture_tile_m"], "world.texture_tile_m", float, 0.01)
    if strength[1] <= 0.0:
        raise ConfigError(f"world.hdri_strength={world['hdri_strength']!r} must allow a strength > 0; raise max")
    return WorldConfig(
        backplate_share=probability(world["backplate_share"], "world.backplate_share"),
        backplate_min_width=positive(world["backplate_min_width"], "world.backplate_min_width"),
        hdri_probability=probability(world["hdri_probability"], "world.hdri_probability"),
        hdri_strength=strength,
        hdri_tint=probability(world["hdri_tint"], "world.hdri_tint"),
        hdri_light_scale=light_scale,
        texture_probability=probability(world["texture_probability"], "world.texture_probability"),
        texture_tile_m=tile,
        assets_dir=_optional_text(world["assets_dir"], "world.assets_dir"),
        assets_digest=_optional_text(world["assets_digest"], "world.assets_digest"),
    )


# --- catalogue ---------------------------------------------------------------------------------------------------
def bpy_hdris() -> tuple[str, ...]:
    """The CC0 HDRIs inside the installed bpy wheel, sorted by file name (found without importing bpy)."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        return ()
    found: list[Path] = []
    for location in spec.submodule_search_locations:
        found += Path(location).glob("*/datafiles/studiolights/world/*.exr")
    return tuple(str(p) for p in sorted(found, key=lambda p: (p.name, str(p))))


def _tokens(name: str) -> set[str]:
    return {t for t in re.split(r"[_\-. ]+", Path(name).stem.lower()) if t}


def _texture_set(directory: Path, root: Path, files: list[str]) -> TextureSet | None:
    """The maps in ``directory`` (file names sorted; the first match of each role wins), None without colour."""
    color = roughness = normal = displacement = None
    for name in sorted(files):
        if not name.lower().endswith(TEXTURE_SUFFIXES):
            continue
        tokens, path = _tokens(name), str(directory / name)
        if "dx" in tokens or "normaldx" in tokens:
            continue  # DirectX normal maps: Blender wants OpenGL's (cc_textures and Poly Haven ship both)
        if tokens & COLOR_TOKENS and color is None:
            color = path
        elif tokens & ROUGHNESS_TOKENS and "ao" not in tokens and roughness is None:  # not Poly Haven's rough_ao
            roughness = path
        elif tokens & NORMAL_TOKENS and normal is None:
            normal = path
        elif tokens & DISPLACEMENT_TOKENS and displacement is None:
            displacement = path
    if color is None:
        return None
    return TextureSet(directory.relative_to(root).as_posix(), color, roughness, normal, displacement)


def scan_library(root: Path) -> tuple[tuple[str, ...], tuple[TextureSet, ...]]:
    """HDRIs and texture sets of an asset library, each sorted by path relative to it (OSError when unreadable)."""

    def raise_error(exc: OSError) -> None:
        raise exc

    hdris: list[str] = []
    hdri_root = root / "hdris"
    if hdri_root.is_dir():
        for directory, _dirs, files in os.walk(hdri_root, onerror=raise_error, followlinks=True):
            hdris += [os.path.join(directory, f) for f in files if f.lower().endswith(HDRI_SUFFIXES)]
    textures: list[TextureSet] = []
    texture_root = root / "textures"
    if texture_root.is_dir():
        for directory, _dirs, files in os.walk(texture_root, onerror=raise_error, followlinks=True):
            found = _texture_set(Path(directory), texture_root, files)
            if found is not None:
                textures.append(found)
    hdris.sort(key=lambda p: Path(p).relative_to(hdri_root).as_posix())
    textures.sort(key=lambda t: t.name)
    return tuple(hdris), tuple(textures)


def library_digest(root: Path, hdris: tuple[str, ...], textures: tuple[TextureSet, ...]) -> str:
    """sha256 (16 hex digits) of the library's sorted relative file list: what the plan can draw from it."""
    lines = [Path(p).relative_to(root).as_posix() for p in hdris]
    lines += [
        Path(p).with_suffix(".json").relative_to(root).as_posix()
        for p in hdris
        if Path(p).with_suffix(".json").is_file()
    ]
    lines += [Path(f).relative_to(root).as_posix() for t in textures for f in t.files]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def check_assets_dir(path: Path, label: str) -> tuple[tuple[str, ...], tuple[TextureSet, ...]]:
    """The library's contents; ``AssetsError`` ``<label>=<path> <problem>; <fix>`` when it cannot serve."""
    if not path.exists():
        raise AssetsError(f"{label}={path} does not exist; {FILL_HINT}")
    if not path.is_dir():
        raise AssetsError(f"{label}={path} is not a directory; {FILL_HINT}")
    try:
        hdris, textures = scan_library(path)
    except OSError as exc:
        raise AssetsError(f"{label}={path} cannot be read ({exc.strerror or exc}); fix its permissions") from None
    if not hdris and not textures:
        raise AssetsError(
            f"{label}={path} has no HDRI (hdris/*.exr|*.hdr) and no texture set (textures/<set>/ with a *_Color "
            f"image); {FILL_HINT}"
        )
    return hdris, textures


@lru_cache(maxsize=4)
def load_catalogue(assets_dir: str | None) -> AssetCatalogue:
    """bpy's HDRIs plus the library's (``assets_dir`` already checked by ``freeze_assets``), cached per process."""
    hdris, textures = scan_library(Path(assets_dir)) if assets_dir else ((), ())
    return AssetCatalogue(bpy_hdris() + hdris, textures)


def freeze_assets(resolved: dict[str, Any], env_assets_dir: Path | None) -> None:
    """Fill ``world.assets_dir`` (when null) from BPGEN_ASSETS_DIR and ``world.assets_digest`` from its file list,
    in the resolved config dict; ``AssetsError`` when the directory is set but missing or empty."""
    world = resolved["world"]
    given = _optional_text(world.get("assets_dir"), "world.assets_dir")
    if given:
        path, label = Path(str(given)).expanduser().resolve(), "world.assets_dir"
    elif env_assets_dir is not None:
        path, label = Path(env_assets_dir).expanduser().resolve(), "BPGEN_ASSETS_DIR"
    else:
        world["assets_dir"] = world["assets_digest"] = None
        return
    hdris, textures = check_assets_dir(path, label)
    world["assets_dir"] = str(path)
    world["assets_digest"] = library_digest(path, hdris, textures)


def check_frozen_assets(config: WorldConfig) -> None:
    """A frozen config's library is still there with the same file list (else ``AssetsError``)."""
    if config.assets_dir is None:
        return
    path = Path(config.assets_dir)
    label = "world.assets_dir"
    hdris, textures = check_assets_dir(path, f"{label} (frozen from BPGEN_ASSETS_DIR)")
    digest = library_digest(path, hdris, textures)
    if config.assets_digest is not None and digest != config.assets_digest:
        raise AssetsError(
            f"{label}={path} changed since the run's config was frozen (now {len(hdris)} HDRIs, {len(textures)} "
            f"texture sets; digest {digest}, frozen {config.assets_digest}); restore it, or start a new run"
        )


# --- drawing -----------------------------------------------------------------------------------------------------
def _pick(u: float, count: int) -> int:
    """Index ``floor(u * count)``: one uniform draw whatever the catalogue size."""
    return min(int(u * count), count - 1)


def sample_world(rng: np.random.Generator, config: WorldConfig, catalogue: AssetCatalogue) -> WorldSpec:
    """An HDRI with probability ``hdri_probability`` (when the catalogue has one), else a sky or a flat colour.
    Always draws the same 15 numbers, so what follows in ``rng`` does not depend on the branch."""
    u_kind, u_pick, rotation, strength, hue, saturation, u_sky = rng.uniform(size=7)
    sky = rng.uniform(size=4)
    flat = rng.uniform(size=4)
    if catalogue.hdris and u_kind < config.hdri_probability:
        low, high = config.hdri_strength
        r, g, b = colorsys.hsv_to_rgb(hue, saturation * config.hdri_tint, 1.0)
        return WorldSpec(
            "hdri",
            float(low + (high - low) * strength),
            hdri=catalogue.hdris[_pick(u_pick, len(catalogue.hdris))],
            rotation_deg=float(360.0 * rotation),
            tint=(float(r), float(g), float(b)),
        )
    if u_sky < 0.7:
        return WorldSpec(
            "sky",
            float(0.05 + 0.3 * sky[0]),
            float(3.0 + 82.0 * sky[1]),
            float(360.0 * sky[2]),
            float(0.2 + 2.8 * sky[3]),
        )
    r, g, b = colorsys.hsv_to_rgb(flat[0], 0.5 * flat[1], 0.08 + 0.87 * flat[2])
    return WorldSpec("color", float(0.2 + 1.3 * flat[3]), color=(float(r), float(g), float(b)))


def sample_texture(rng: np.random.Generator, config: WorldConfig, catalogue: AssetCatalogue) -> TextureSpec | None:
    """A texture set with probability ``texture_probability`` (when the library has one), else None (procedural).
    Always draws the same 6 numbers."""
    u_use, u_pick, tile, *offset = rng.uniform(size=6)
    if not catalogue.textures or u_use >= config.texture_probability:
        return None
    low, high = config.texture_tile_m
    size = float(low + (high - low) * tile)
    return TextureSpec(
        catalogue.textures[_pick(u_pick, len(catalogue.textures))],
        size,
        (float(offset[0] * size), float(offset[1] * size), float(offset[2] * size)),
    )


# --- backplates --------------------------------------------------------------------------------------------------
def _exr_size(path: str) -> tuple[int, int]:
    """Width and height from an OpenEXR header's dataWindow (box2i), read without decoding the image."""
    import struct

    with open(path, "rb") as handle:
        data = handle.read(65536)
    if data[:4] != b"\x76\x2f\x31\x01":
        raise AssetsError(f"{path} is not an OpenEXR file; remove it from the library or fix it")
    offset = 8
    while offset < len(data) and data[offset] != 0:
        name_end = data.index(b"\0", offset)
        type_end = data.index(b"\0", name_end + 1)
        size = struct.unpack_from("<i", data, type_end + 1)[0]
        value = type_end + 5
        if data[offset:name_end] == b"dataWindow":
            x0, y0, x1, y1 = struct.unpack_from("<iiii", data, value)
            return x1 - x0 + 1, y1 - y0 + 1
        offset = value + size
    raise AssetsError(f"{path} has no dataWindow in its header; re-export it")


def _radiance_size(path: str) -> tuple[int, int]:
    """Width and height from a Radiance .hdr header ("-Y <height> +X <width>")."""
    with open(path, "rb") as handle:
        for _ in range(64):
            line = handle.readline().strip()
            parts = line.split()
            if len(parts) == 4 and parts[0] in (b"-Y", b"+Y"):
                return int(parts[3]), int(parts[1])
    raise AssetsError(f"{path} has no resolution line in its header; re-export it")


@lru_cache(maxsize=256)
def hdri_size(path: str) -> tuple[int, int]:
    """An HDRI's width and height in pixels, from its header."""
    return _exr_size(path) if path.lower().endswith(".exr") else _radiance_size(path)


@lru_cache(maxsize=16)
def ground_albedo(path: str) -> tuple[float, float, float]:
    """The albedo of the ground an equirectangular HDRI shows: pi x its mean radiance below the horizon over the
    irradiance from the sky above (cosine-weighted), per channel, clipped to [0.02, 0.8]."""
    os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
    import cv2

    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise AssetsError(f"{path} cannot be read as an HDRI; remove it from the library or re-export it")
    step = max(1, image.shape[1] // 512)
    rgb = np.asarray(image[::step, ::step, 2::-1], np.float64)
    rows = rgb.shape[0]
    elevation = (0.5 - (np.arange(rows) + 0.5) / rows) * np.pi
    sky, ground = elevation > 0, elevation < -np.radians(5.0)
    weight = np.cos(elevation)  # solid angle per row of an equirectangular image
    irradiance = (rgb[sky].mean(axis=1) * (weight * np.sin(elevation))[sky, None]).sum(axis=0)
    irradiance *= 2.0 * np.pi * (np.pi / rows)  # the row integral's measure
    radiance = (rgb[ground].mean(axis=1) * weight[ground, None]).sum(axis=0) / weight[ground].sum()
    albedo = np.clip(np.pi * radiance / np.maximum(irradiance, 1e-6), 0.02, 0.8)
    return (float(albedo[0]), float(albedo[1]), float(albedo[2]))


@dataclass(frozen=True)
class Sidecar:
    """Optional ``<hdri>.json`` next to an HDRI: the camera height it was captured at, and the azimuth sectors
    (degrees, in the HDRI's own frame, counterclockwise from +X) where its ground is open."""

    capture_height_m: float | None = None
    open_azimuths_deg: tuple[tuple[float, float], ...] = ()


@lru_cache(maxsize=256)
def hdri_sidecar(path: str) -> Sidecar:
    """The HDRI's sidecar, or an empty one; a malformed sidecar is an ``AssetsError`` naming the fix."""
    import json

    sidecar = Path(path).with_suffix(".json")
    if not sidecar.is_file():
        return Sidecar()
    try:
        data = json.loads(sidecar.read_text())
        height = data.get("capture_height_m")
        sectors = tuple((float(a), float(b)) for a, b in data.get("open_azimuths_deg", []))
        return Sidecar(None if height is None else float(height), sectors)
    except (ValueError, TypeError) as exc:
        raise AssetsError(
            f'{sidecar} is not a valid sidecar ({exc}); write {{"capture_height_m": 1.6, '
            f'"open_azimuths_deg": [[0, 90]]}} or remove it'
        ) from None


def look_azimuth(column_deg: float, rotation_deg: float) -> float:
    """The world azimuth (radians, counterclockwise from +X) a camera looks along to see the column at
    ``column_deg`` (0-360, from the image's left edge) of an HDRI rotated by ``rotation_deg`` about Z: Cycles maps a
    direction of azimuth phi to u = 0.5 - (phi + rotation) / 2 pi."""
    u = column_deg / 360.0
    return float(np.pi * (1.0 - 2.0 * u) - np.radians(rotation_deg))
