"""The scene plan's sections of configs/render.yaml: mode (people, occluders, viewpoints), scene (floor, walls,
lights, distractors, spacing) and camera, validated into typed dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bpgen.validate import ConfigError, FloatRange, IntRange, probability, section
from bpgen.validate import choice as _choice
from bpgen.validate import positive as _positive
from bpgen.validate import range_pair as _range
from bpgen.validate import weights as _weights

if TYPE_CHECKING:
    from bpgen.appearance.config import LookConfig
    from bpgen.bodies.config import BodyConfig
    from bpgen.photo.config import PhotoConfig
    from bpgen.poses.config import PoseConfig
    from bpgen.world.assets import WorldConfig

MODES = ("pose", "occlusion", "viewpoint")
LAYOUTS = ("room", "outdoor", "random")  # bpgen.scene.rooms
VIEWPOINTS = ("top_down", "worms_eye", "close_up", "wide_fov", "narrow_fov")
MAX_PEOPLE = 64  # people per scene (Blender objects person_<2 digits>; placement is quadratic in them)
MAX_SCENE_OBJECTS = 256  # occluders, distractors, walls and extra lights per scene, each


@dataclass(frozen=True)
class SceneConfig:
    layout_mix: dict[str, float]  # room | outdoor | random (bpgen.scene.rooms)
    floor_size: float
    walls: IntRange
    lights: IntRange
    distractors: IntRange
    person_spacing: FloatRange


@dataclass(frozen=True)
class CameraConfig:
    """configs/render.yaml ``camera:``: where the photographer stands and what the frame shows
    (``bpgen.scene.framing``); the field of view comes from the frame's camera class (``photo.camera_mix``)."""

    height_m: FloatRange  # eye-level camera height above the floor
    low_share: float  # share of frames from a crouching photographer
    low_height_m: FloatRange
    elevated_height_m: FloatRange  # mounted cameras (a camera class's elevated_share)
    person_fraction: tuple[float, float]  # median and log-sigma of the framed person's size in the frame
    person_fraction_range: FloatRange  # the draw is clipped to it
    group_share: float  # share of frames that fit every person in view (group shots)
    group_margin: FloatRange  # their distance relative to just fitting the people in view
    elevation_deg: FloatRange  # elevation of mode=viewpoint's extreme cameras (before their own overrides)
    roll_deg: float  # max absolute roll


@dataclass(frozen=True)
class ModeConfig:
    name: str
    people: IntRange
    occluders: IntRange
    viewpoints: dict[str, float] = field(default_factory=dict)


def mode_config_from_dict(mode: dict[str, Any]) -> ModeConfig:
    mode_name = _choice(mode["name"], "mode", MODES)
    viewpoints = _weights(mode.get("viewpoints"), "mode.viewpoints", VIEWPOINTS) if mode.get("viewpoints") else {}
    if mode_name == "viewpoint" and not viewpoints:
        raise ConfigError("mode=viewpoint needs mode.viewpoints weights; see configs/mode/viewpoint.yaml")
    return ModeConfig(
        mode_name,
        _range(mode["people"], "mode.people", int, 1, MAX_PEOPLE, "people per scene"),
        _range(mode["occluders"], "mode.occluders", int, 0, MAX_SCENE_OBJECTS, "objects per scene"),
        viewpoints,
    )


def scene_config_from_dict(scene: dict[str, Any]) -> SceneConfig:
    return SceneConfig(
        layout_mix=_weights(scene["layout_mix"], "scene.layout_mix", LAYOUTS),
        floor_size=_positive(float(scene["floor_size"]), "scene.floor_size", float),
        walls=_range(scene["walls"], "scene.walls", int, 0, MAX_SCENE_OBJECTS, "objects per scene"),
        lights=_range(scene["lights"], "scene.lights", int, 0, MAX_SCENE_OBJECTS, "objects per scene"),
        distractors=_range(scene["distractors"], "scene.distractors", int, 0, MAX_SCENE_OBJECTS, "objects per scene"),
        person_spacing=_range(scene["person_spacing"], "scene.person_spacing", float, 0.0),
    )


CAMERA_KEYS = (
    "height_m",
    "low_share",
    "low_height_m",
    "elevated_height_m",
    "person_fraction",
    "person_fraction_range",
    "group_share",
    "group_margin",
    "elevation_deg",
    "roll_deg",
)


def camera_config_from_dict(camera: dict[str, Any]) -> CameraConfig:
    camera = section(camera, "camera", CAMERA_KEYS, "add it (see configs/render.yaml)")
    median, sigma = _range(camera["person_fraction"], "camera.person_fraction", float, 0.0)
    if median <= 0.0:
        given = camera["person_fraction"]
        raise ConfigError(f"camera.person_fraction={given!r} is [median, log-sigma]; give a median > 0")
    fraction = _range(camera["person_fraction_range"], "camera.person_fraction_range", float, 0.01, 3.0)
    return CameraConfig(
        height_m=_range(camera["height_m"], "camera.height_m", float, 0.05),
        low_share=probability(camera["low_share"], "camera.low_share"),
        low_height_m=_range(camera["low_height_m"], "camera.low_height_m", float, 0.05),
        elevated_height_m=_range(camera["elevated_height_m"], "camera.elevated_height_m", float, 0.05),
        person_fraction=(median, sigma),
        person_fraction_range=fraction,
        group_share=probability(camera["group_share"], "camera.group_share"),
        group_margin=_range(camera["group_margin"], "camera.group_margin", float, 0.05),
        elevation_deg=_range(camera["elevation_deg"], "camera.elevation_deg", float, -89.0, 89.0),
        roll_deg=float(camera["roll_deg"]),
    )


class PlanConfig(Protocol):
    """The sections a scene plan draws from (``bpgen.render.config.RenderConfig`` has them)."""

    @property
    def mode(self) -> ModeConfig: ...
    @property
    def pose(self) -> PoseConfig: ...
    @property
    def body(self) -> BodyConfig: ...
    @property
    def look(self) -> LookConfig: ...
    @property
    def world(self) -> WorldConfig: ...
    @property
    def photo(self) -> PhotoConfig: ...
    @property
    def scene(self) -> SceneConfig: ...
    @property
    def camera(self) -> CameraConfig: ...
    @property
    def resolution(self) -> tuple[int, int]: ...
