"""Render configuration: Hydra composition into typed, validated dataclasses.

``compose_render_config(overrides)`` composes configs/render.yaml with command-line overrides (Hydra's
override grammar), checks every value, and returns a frozen ``RenderConfig`` plus the resolved dict that is
saved with each shard. Errors are ``ConfigError`` with a one-line message that names the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpgen.poses.orientation import ORIENTATION_MODES
from bpgen.poses.person import PoseConfig
from bpgen.poses.sampler import STRATEGIES

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
MODES = ("pose", "occlusion", "viewpoint")
VIEWPOINTS = ("top_down", "worms_eye", "close_up", "wide_fov", "narrow_fov")
DENOISERS = ("OPENIMAGEDENOISE", "OPTIX", "none")
DEVICES = ("auto", "optix", "cuda", "cpu")
IMAGE_FORMATS = ("jpg", "png")
TOP_LEVEL_KEYS = {
    "mode",
    "pose",
    "scene",
    "camera",
    "labels",
    "seed",
    "resolution",
    "samples",
    "denoiser",
    "frames_per_scene",
    "image_format",
    "jpeg_quality",
    "write_depth",
    "device",
    "threads",
    "max_bounces",
}


class ConfigError(ValueError):
    """A configuration value is wrong; the message says how to fix it."""


IntRange = tuple[int, int]
FloatRange = tuple[float, float]


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
class RenderConfig:
    mode: ModeConfig
    pose: PoseConfig
    scene: SceneConfig
    camera: CameraConfig
    seed: int
    resolution: tuple[int, int]
    samples: int
    denoiser: str
    frames_per_scene: int
    image_format: str
    jpeg_quality: int
    write_depth: bool
    device: str
    threads: int
    max_bounces: int
    min_visible_pixels: int

    @property
    def width(self) -> int:
        return self.resolution[0]

    @property
    def height(self) -> int:
        return self.resolution[1]


def _range(value: Any, key: str, kind: type, minimum: float) -> tuple[Any, Any]:
    try:
        low, high = (kind(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a [min, max] pair of numbers, got {value!r}; e.g. {key}=[1,3]") from None
    if low < minimum or high < low:
        raise ConfigError(f"{key}={value!r} must satisfy {minimum} <= min <= max; fix {key}")
    return low, high


def _positive(value: Any, key: str, kind: type = int, allow_zero: bool = False) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a number, got {value!r}") from None
    if isinstance(value, bool) or number < 0 or (number == 0 and not allow_zero) or number != value:
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{key} must be {'an integer' if kind is int else 'a number'} {bound}, got {value!r}")
    return number


def _choice(value: Any, key: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{key}={value!r} is not valid; use one of: {', '.join(choices)}")
    return str(value)


def _weights(value: Any, key: str, known: tuple[str, ...]) -> dict[str, float]:
    weights = dict(value or {})
    unknown = sorted(set(weights) - set(known))
    if unknown:
        raise ConfigError(f"{key} has unknown entries {unknown}; valid: {', '.join(known)}")
    if any(float(w) < 0 for w in weights.values()) or sum(float(w) for w in weights.values()) <= 0:
        raise ConfigError(f"{key} weights must be >= 0 with at least one > 0, got {weights}")
    return {k: float(w) for k, w in weights.items()}


def render_config_from_dict(cfg: dict[str, Any]) -> RenderConfig:
    """Validate a resolved config dict (as saved in a shard's config.yaml) into a RenderConfig."""
    unknown = sorted(set(cfg) - TOP_LEVEL_KEYS)
    if unknown:
        raise ConfigError(f"unknown config keys {unknown}; remove them (valid: {', '.join(sorted(TOP_LEVEL_KEYS))})")
    resolution = cfg["resolution"]
    if not isinstance(resolution, list | tuple) or len(resolution) != 2:
        raise ConfigError(f"resolution must be [width, height], got {resolution!r}")
    width = _positive(resolution[0], "resolution width")
    height = _positive(resolution[1], "resolution height")
    mode, pose, scene, camera = cfg["mode"], cfg["pose"], cfg["scene"], cfg["camera"]
    mode_name = _choice(mode["name"], "mode", MODES)
    viewpoints = _weights(mode.get("viewpoints"), "mode.viewpoints", VIEWPOINTS) if mode.get("viewpoints") else {}
    if mode_name == "viewpoint" and not viewpoints:
        raise ConfigError("mode=viewpoint needs mode.viewpoints weights; see configs/mode/viewpoint.yaml")
    extreme_probability = float(pose["extreme_probability"])
    if not 0.0 <= extreme_probability <= 1.0:
        raise ConfigError(f"pose.extreme_probability must be in [0, 1], got {extreme_probability}")
    return RenderConfig(
        mode=ModeConfig(
            mode_name,
            _range(mode["people"], "mode.people", int, 1),
            _range(mode["occluders"], "mode.occluders", int, 0),
            viewpoints,
        ),
        pose=PoseConfig(
            strategy_mix=_weights(pose["strategy_mix"], "pose.strategy_mix", STRATEGIES),
            orientation_mix=_weights(pose["orientation_mix"], "pose.orientation_mix", ORIENTATION_MODES),
            extreme_probability=extreme_probability,
            family_jitter_deg=float(pose["family_jitter_deg"]),
            shape_std=float(pose["shape_std"]),
            shape_clip=float(pose["shape_clip"]),
            max_attempts=_positive(pose["max_attempts"], "pose.max_attempts"),
            self_collision_shrink=float(pose["self_collision_shrink"]),
        ),
        scene=SceneConfig(
            floor_size=_positive(float(scene["floor_size"]), "scene.floor_size", float),
            walls=_range(scene["walls"], "scene.walls", int, 0),
            lights=_range(scene["lights"], "scene.lights", int, 0),
            distractors=_range(scene["distractors"], "scene.distractors", int, 0),
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
        samples=_positive(cfg["samples"], "samples"),
        denoiser=_choice(str(cfg["denoiser"]), "denoiser", DENOISERS),
        frames_per_scene=_positive(cfg["frames_per_scene"], "frames_per_scene"),
        image_format=_choice(cfg["image_format"], "image_format", IMAGE_FORMATS),
        jpeg_quality=_positive(cfg["jpeg_quality"], "jpeg_quality"),
        write_depth=bool(cfg["write_depth"]),
        device=_choice(cfg["device"], "device", DEVICES),
        threads=_positive(cfg["threads"], "threads", allow_zero=True),
        max_bounces=_positive(cfg["max_bounces"], "max_bounces", allow_zero=True),
        min_visible_pixels=_positive(cfg["labels"]["min_visible_pixels"], "labels.min_visible_pixels"),
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


def compose_config(
    config_name: str, overrides: list[str] | tuple[str, ...], print_hint: str, config_dir: Path = CONFIG_DIR
) -> dict[str, Any]:
    """Compose <config_dir>/<config_name>.yaml with Hydra overrides into a resolved dict."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            composed = compose(config_name=config_name, overrides=list(overrides))
        resolved = OmegaConf.to_container(composed, resolve=True)
    except (HydraException, OmegaConfBaseException) as exc:
        first = str(exc).strip().splitlines()[0]
        raise ConfigError(f"bad config override ({first}); fix the key or value: `{print_hint}` lists them") from None
    assert isinstance(resolved, dict)
    return {str(key): value for key, value in resolved.items()}


def compose_render_config(overrides: list[str] | tuple[str, ...] = ()) -> tuple[RenderConfig, dict[str, Any]]:
    """Compose configs/render.yaml with Hydra overrides; return the typed config and the resolved dict."""
    resolved = compose_config("render", overrides, "python -m bpgen.render --print-config")
    return render_config_from_dict(resolved), resolved
