"""The render schema: configs/render.yaml composed (``bpgen.compose``) into typed, validated dataclasses.

``compose_render_config(overrides)`` composes configs/render.yaml with command-line overrides (Hydra's
override grammar), checks every value, and returns a frozen ``RenderConfig`` plus the resolved dict that is
saved with each shard. Errors are ``ConfigError`` with a one-line message that names the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpgen.appearance.vocabulary import (
    AGE_BANDS,
    BOTTOMS,
    FABRICS,
    FEET,
    HAIR_COLORS,
    HAIR_STYLES,
    SEXES,
    SKIN_TONE_BANDS,
    TOPS,
)
from bpgen.compose import compose_config
from bpgen.photometry import PhotoConfig, photo_config_from_dict
from bpgen.poses.orientation import ORIENTATION_MODES
from bpgen.poses.person import PoseConfig
from bpgen.poses.sampler import STRATEGIES
from bpgen.quality import MAX_BOUNCES, CyclesConfig, cycles_config_from_dict
from bpgen.scene.world import WorldConfig, freeze_assets, world_config_from_dict
from bpgen.validate import ConfigError, FloatRange, IntRange, bounded, probability
from bpgen.validate import choice as _choice
from bpgen.validate import positive as _positive
from bpgen.validate import range_pair as _range
from bpgen.validate import weights as _weights

MODES = ("pose", "occlusion", "viewpoint")
VIEWPOINTS = ("top_down", "worms_eye", "close_up", "wide_fov", "narrow_fov")
DENOISERS = ("OPENIMAGEDENOISE", "OPTIX", "none")
DEVICES = ("auto", "optix", "cuda", "cpu")
IMAGE_FORMATS = ("jpg", "png")
BODIES = ("anny", "mannequin")

# Bounds of the values that scale a render's memory or time; checked when the config is composed (or a frozen
# one loaded), before anything is allocated or written.
MIN_SIDE, MAX_SIDE = 16, 8192  # pixels per image side
MAX_SAMPLES = 65_536  # Cycles samples per pixel: render time is linear in them
MAX_FRAMES_PER_SCENE = 256  # frames rendered together per scene set-up
MAX_SCENE_PIXELS = 2**27  # frames_per_scene x width x height: Blender hands back all frames of a scene at once
MAX_PEOPLE = 64  # people per scene (Blender objects person_<2 digits>; placement is quadratic in them)
MAX_SCENE_OBJECTS = 256  # occluders, distractors, walls and extra lights per scene, each
MAX_THREADS = 1024  # Blender's own maximum of render threads
MAX_POSE_ATTEMPTS = 10_000  # poses drawn per person before giving up
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
class SceneConfig:
    floor_size: float
    walls: IntRange
    lights: IntRange
    distractors: IntRange
    person_spacing: FloatRange


@dataclass(frozen=True)
class CameraConfig:
    fov_deg: FloatRange
    elevation_deg: FloatRange
    distance_factor: FloatRange
    roll_deg: float


@dataclass(frozen=True)
class ModeConfig:
    name: str
    people: IntRange
    occluders: IntRange
    viewpoints: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class BodyConfig:
    """Which body model, and how people are drawn (configs/body/*.yaml). Mannequin: shape_std/clip only."""

    name: str
    shape_std: float = 1.0
    shape_clip: float = 2.5
    age_years: FloatRange = (4.0, 80.0)
    age_mix: dict[str, float] = field(default_factory=lambda: {"adult": 1.0})
    sex_mix: dict[str, float] = field(default_factory=lambda: {"female": 1.0, "male": 1.0})
    skin_tone_mix: tuple[float, ...] = (1.0,) * SKIN_TONE_BANDS
    hair_style_mix: dict[str, float] = field(default_factory=lambda: {"short": 1.0})
    hair_color_mix: dict[str, float] = field(default_factory=lambda: {"brown": 1.0})
    top_mix: dict[str, float] = field(default_factory=lambda: {"short_sleeve": 1.0})
    bottom_mix: dict[str, float] = field(default_factory=lambda: {"trousers": 1.0})
    feet_mix: dict[str, float] = field(default_factory=lambda: {"shoes": 1.0})
    fabric_mix: dict[str, float] = field(default_factory=lambda: {"solid": 1.0})


@dataclass(frozen=True)
class RenderConfig:
    mode: ModeConfig
    pose: PoseConfig
    body: BodyConfig
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
    mode, pose, scene, camera = cfg["mode"], cfg["pose"], cfg["scene"], cfg["camera"]
    mode_name = _choice(mode["name"], "mode", MODES)
    viewpoints = _weights(mode.get("viewpoints"), "mode.viewpoints", VIEWPOINTS) if mode.get("viewpoints") else {}
    if mode_name == "viewpoint" and not viewpoints:
        raise ConfigError("mode=viewpoint needs mode.viewpoints weights; see configs/mode/viewpoint.yaml")
    extreme_probability = probability(pose["extreme_probability"], "pose.extreme_probability")
    return RenderConfig(
        mode=ModeConfig(
            mode_name,
            _range(mode["people"], "mode.people", int, 1, MAX_PEOPLE, "people per scene"),
            _range(mode["occluders"], "mode.occluders", int, 0, MAX_SCENE_OBJECTS, "objects per scene"),
            viewpoints,
        ),
        pose=PoseConfig(
            strategy_mix=_weights(pose["strategy_mix"], "pose.strategy_mix", STRATEGIES),
            orientation_mix=_weights(pose["orientation_mix"], "pose.orientation_mix", ORIENTATION_MODES),
            extreme_probability=extreme_probability,
            family_jitter_deg=float(pose["family_jitter_deg"]),
            max_attempts=bounded(
                _positive(pose["max_attempts"], "pose.max_attempts"), "pose.max_attempts", 1, MAX_POSE_ATTEMPTS
            ),
            self_collision_shrink=float(pose["self_collision_shrink"]),
        ),
        body=body_config_from_dict(cfg["body"]),
        world=world_config_from_dict(cfg["world"]),
        photo=photo_config_from_dict(cfg["photo"]),
        scene=SceneConfig(
            floor_size=_positive(float(scene["floor_size"]), "scene.floor_size", float),
            walls=_range(scene["walls"], "scene.walls", int, 0, MAX_SCENE_OBJECTS, "objects per scene"),
            lights=_range(scene["lights"], "scene.lights", int, 0, MAX_SCENE_OBJECTS, "objects per scene"),
            distractors=_range(
                scene["distractors"], "scene.distractors", int, 0, MAX_SCENE_OBJECTS, "objects per scene"
            ),
            person_spacing=_range(scene["person_spacing"], "scene.person_spacing", float, 0.0),
        ),
        camera=CameraConfig(
            fov_deg=_range(camera["fov_deg"], "camera.fov_deg", float, 1.0),
            elevation_deg=_range(camera["elevation_deg"], "camera.elevation_deg", float, -89.0),
            distance_factor=_range(camera["distance_factor"], "camera.distance_factor", float, 0.05),
            roll_deg=float(camera["roll_deg"]),
        ),
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


def body_config_from_dict(body: dict[str, Any]) -> BodyConfig:
    name = _choice(body.get("name"), "body", BODIES)
    if name == "mannequin":
        return BodyConfig(name, shape_std=float(body["shape_std"]), shape_clip=float(body["shape_clip"]))
    low, high = _range(body["age_years"], "body.age_years", float, 0.0)
    if high > 90.0:
        raise ConfigError(f"body.age_years={body['age_years']!r} goes past 90 years, anny's oldest; lower it")
    age_mix = _weights(body["age_mix"], "body.age_mix", tuple(AGE_BANDS))
    if not any(w > 0 and AGE_BANDS[band][0] <= high and AGE_BANDS[band][1] > low for band, w in age_mix.items()):
        raise ConfigError(
            f"body.age_mix gives no weight to an age band inside body.age_years={[low, high]}; fix either"
        )
    tones = body["skin_tone_mix"]
    if not isinstance(tones, list | tuple) or len(tones) != SKIN_TONE_BANDS:
        raise ConfigError(f"body.skin_tone_mix must list {SKIN_TONE_BANDS} weights (Monk scale 1..10), got {tones!r}")
    tone_weights = _weights({str(i): w for i, w in enumerate(tones)}, "body.skin_tone_mix", tuple(map(str, range(10))))
    return BodyConfig(
        name,
        age_years=(low, high),
        age_mix=age_mix,
        sex_mix=_weights(body["sex_mix"], "body.sex_mix", SEXES),
        skin_tone_mix=tuple(tone_weights.get(str(i), 0.0) for i in range(SKIN_TONE_BANDS)),
        hair_style_mix=_weights(body["hair_style_mix"], "body.hair_style_mix", HAIR_STYLES),
        hair_color_mix=_weights(body["hair_color_mix"], "body.hair_color_mix", HAIR_COLORS),
        top_mix=_weights(body["top_mix"], "body.top_mix", TOPS),
        bottom_mix=_weights(body["bottom_mix"], "body.bottom_mix", BOTTOMS),
        feet_mix=_weights(body["feet_mix"], "body.feet_mix", FEET),
        fabric_mix=_weights(body["fabric_mix"], "body.fabric_mix", FABRICS),
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
