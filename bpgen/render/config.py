"""The render schema: configs/render.yaml composed (``bpgen.compose``) into typed, validated dataclasses.

``compose_render_config(overrides)`` composes configs/render.yaml with command-line overrides (Hydra's
override grammar), checks every value, and returns a frozen ``RenderConfig`` plus the resolved dict that is
saved with each shard. Errors are ``ConfigError`` with a one-line message that names the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bpgen.appearance.config import LookConfig, look_config_from_dict
from bpgen.bodies.config import BodyConfig, body_config_from_dict
from bpgen.compose import compose_config, resolved_yaml
from bpgen.photo.config import PhotoConfig, photo_config_from_dict
from bpgen.poses.config import PoseConfig, pose_config_from_dict
from bpgen.quality.cycles import MAX_BOUNCES, CyclesConfig, cycles_config_from_dict
from bpgen.scene.config import (
    CameraConfig,
    ModeConfig,
    SceneConfig,
    camera_config_from_dict,
    mode_config_from_dict,
    scene_config_from_dict,
)
from bpgen.validate import ConfigError, bounded
from bpgen.validate import choice as _choice
from bpgen.validate import positive as _positive
from bpgen.world.assets import WorldConfig, freeze_assets, world_config_from_dict

DENOISERS = ("OPENIMAGEDENOISE", "OPTIX", "none")
DEVICES = ("auto", "optix", "cuda", "cpu")
IMAGE_FORMATS = ("jpg", "png")

# Bounds of the values that scale a render's memory or time; checked when the config is composed (or a frozen
# one loaded), before anything is allocated or written.
MIN_SIDE, MAX_SIDE = 16, 8192  # pixels per image side
MAX_SAMPLES = 65_536  # Cycles samples per pixel: render time is linear in them
MAX_FRAMES_PER_SCENE = 256  # frames rendered together per scene set-up
MAX_SCENE_PIXELS = 2**27  # frames_per_scene x width x height: Blender hands back all frames of a scene at once
MAX_THREADS = 1024  # Blender's own maximum of render threads
TOP_LEVEL_KEYS = {
    "mode",
    "pose",
    "body",
    "world",
    "photo",
    "scene",
    "camera",
    "labels",
    "seed",
    "resolution",
    "samples",
    "denoiser",
    "frames_per_scene",
    "image_format",
    "write_depth",
    "device",
    "threads",
    "max_bounces",
    "cycles",
}


@dataclass(frozen=True)
class RenderConfig:
    mode: ModeConfig
    pose: PoseConfig
    body: BodyConfig
    look: LookConfig
    world: WorldConfig
    photo: PhotoConfig
    scene: SceneConfig
    camera: CameraConfig
    seed: int
    resolution: tuple[int, int]
    samples: int
    denoiser: str
    frames_per_scene: int
    image_format: str
    write_depth: bool
    device: str
    threads: int
    max_bounces: int
    min_visible_pixels: int
    cycles: CyclesConfig

    @property
    def width(self) -> int:
        return self.resolution[0]

    @property
    def height(self) -> int:
        return self.resolution[1]


def render_config_from_dict(cfg: dict[str, Any]) -> RenderConfig:
    """Validate a resolved config dict (as saved in a shard's config.yaml) into a RenderConfig."""
    unknown = sorted(set(cfg) - TOP_LEVEL_KEYS)
    if unknown:
        raise ConfigError(f"unknown config keys {unknown}; remove them (valid: {', '.join(sorted(TOP_LEVEL_KEYS))})")
    resolution = cfg["resolution"]
    if not isinstance(resolution, list | tuple) or len(resolution) != 2:
        raise ConfigError(f"resolution must be [width, height], got {resolution!r}")
    sides = ("pixels per image side", f"set each side in {MIN_SIDE}..{MAX_SIDE}, e.g. resolution=[640,480]")
    width = bounded(_positive(resolution[0], "resolution width"), "resolution width", MIN_SIDE, MAX_SIDE, *sides)
    height = bounded(_positive(resolution[1], "resolution height"), "resolution height", MIN_SIDE, MAX_SIDE, *sides)
    frames_per_scene = bounded(
        _positive(cfg["frames_per_scene"], "frames_per_scene"),
        "frames_per_scene",
        1,
        MAX_FRAMES_PER_SCENE,
        "frames rendered together per scene",
    )
    if frames_per_scene * width * height > MAX_SCENE_PIXELS:
        raise ConfigError(
            f"frames_per_scene x width x height = {frames_per_scene} x {width} x {height} is above the bound "
            f"{MAX_SCENE_PIXELS:,} pixels (Blender holds a scene's frames in memory together); lower "
            "frames_per_scene or resolution"
        )
    return RenderConfig(
        mode=mode_config_from_dict(cfg["mode"]),
        pose=pose_config_from_dict(cfg["pose"]),
        body=body_config_from_dict(cfg["body"]),
        look=look_config_from_dict(cfg["body"]),
        world=world_config_from_dict(cfg["world"]),
        photo=photo_config_from_dict(cfg["photo"]),
        scene=scene_config_from_dict(cfg["scene"]),
        camera=camera_config_from_dict(cfg["camera"]),
        seed=_positive(cfg["seed"], "seed", allow_zero=True),
        resolution=(width, height),
        samples=bounded(_positive(cfg["samples"], "samples"), "samples", 1, MAX_SAMPLES, "Cycles samples per pixel"),
        denoiser=_choice(str(cfg["denoiser"]), "denoiser", DENOISERS),
        frames_per_scene=frames_per_scene,
        image_format=_choice(cfg["image_format"], "image_format", IMAGE_FORMATS),
        write_depth=bool(cfg["write_depth"]),
        device=_choice(cfg["device"], "device", DEVICES),
        threads=bounded(
            _positive(cfg["threads"], "threads", allow_zero=True), "threads", 0, MAX_THREADS, "Blender's maximum"
        ),
        max_bounces=bounded(
            _positive(cfg["max_bounces"], "max_bounces", allow_zero=True),
            "max_bounces",
            0,
            MAX_BOUNCES,
            "Cycles' maximum",
        ),
        min_visible_pixels=_positive(cfg["labels"]["min_visible_pixels"], "labels.min_visible_pixels"),
        cycles=cycles_config_from_dict(cfg["cycles"]),
    )


def load_resolved_config(path: Path) -> tuple[RenderConfig, dict[str, Any]]:
    """A config frozen by 2-submit (RUN/config.yaml) or saved with a shard: validated, never re-composed."""
    import yaml

    try:
        resolved = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config {path} ({exc}); give a config.yaml written by ./2-submit") from None
    if not isinstance(resolved, dict):
        raise ConfigError(f"{path} is not a resolved bpgen config; give a run's config.yaml written by ./2-submit")
    try:
        return render_config_from_dict(resolved), resolved
    except KeyError as exc:
        raise ConfigError(f"{path} lacks the key {exc}; freeze the run again with ./2-submit") from None


def compose_render_config(
    overrides: list[str] | tuple[str, ...] = (), assets_dir: Path | None = None
) -> tuple[RenderConfig, dict[str, Any]]:
    """Compose configs/render.yaml with Hydra overrides; return the typed config and the resolved dict.

    ``assets_dir`` (BPGEN_ASSETS_DIR) becomes ``world.assets_dir`` unless an override sets it; the library is
    checked and its file list frozen as ``world.assets_digest`` (``AssetsError`` when set but missing or empty).
    """
    resolved = compose_config("render", overrides, "python -m bpgen.render --print-config")
    freeze_assets(resolved, assets_dir)
    return render_config_from_dict(resolved), resolved


def config_text(resolved: dict[str, Any], images: int) -> str:
    """A shard's (and a run's) config.yaml: the resolved config, headed by the image count (both define it)."""
    return f"# bpgen shard config: {images} images\n" + resolved_yaml(resolved)
