"""The scene plan's sections of configs/render.yaml: mode (people, occluders, viewpoints), scene (floor, walls,
lights, distractors, spacing) and camera, validated into typed dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bpgen.validate import ConfigError, FloatRange, IntRange
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
VIEWPOINTS = ("top_down", "worms_eye", "close_up", "wide_fov", "narrow_fov")
MAX_PEOPLE = 64  # people per scene (Blender objects person_<2 digits>; placement is quadratic in them)
MAX_SCENE_OBJECTS = 256  # occluders, distractors, walls and extra lights per scene, each


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
        floor_size=_positive(float(scene["floor_size"]), "scene.floor_size", float),
        walls=_range(scene["walls"], "scene.walls", int, 0, MAX_SCENE_OBJECTS, "objects per scene"),
        lights=_range(scene["lights"], "scene.lights", int, 0, MAX_SCENE_OBJECTS, "objects per scene"),
        distractors=_range(scene["distractors"], "scene.distractors", int, 0, MAX_SCENE_OBJECTS, "objects per scene"),
        person_spacing=_range(scene["person_spacing"], "scene.person_spacing", float, 0.0),
    )


def camera_config_from_dict(camera: dict[str, Any]) -> CameraConfig:
    return CameraConfig(
        fov_deg=_range(camera["fov_deg"], "camera.fov_deg", float, 1.0),
        elevation_deg=_range(camera["elevation_deg"], "camera.elevation_deg", float, -89.0),
        distance_factor=_range(camera["distance_factor"], "camera.distance_factor", float, 0.05),
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
