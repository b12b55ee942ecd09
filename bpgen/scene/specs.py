"""What a scene is made of, as plain data: materials, objects and lights (numpy only).

``bpgen.scene.plan`` draws them, ``bpgen.blender.scene`` realises them.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

from bpgen.world.assets import TextureSpec

PATTERNS = ("plain", "noise", "checker", "voronoi", "wave", "brick")  # the random (domain-randomisation) ones
NATURAL_PATTERNS = ("planks", "tiles", "grain")  # laid out in metres (rooms, ground)


@dataclass(frozen=True)
class MaterialSpec:
    """A procedural material: a base colour, optionally mixed with a second one through a pattern; with a
    ``texture`` (from the asset library) that PBR texture set is used instead.

    The natural patterns are laid out in metres on the surface: ``planks`` and ``tiles`` (elements of
    ``element_m`` with joints ``gap_m`` wide of ``gap_color``; ``color2`` varies the elements), ``grain``
    (carpet, concrete, asphalt, grass: a fine mottle of period ``scale`` metres between ``color`` and ``color2``).
    """

    color: tuple[float, float, float]
    roughness: float
    metallic: float
    pattern: str = "plain"
    color2: tuple[float, float, float] = (0.0, 0.0, 0.0)
    scale: float = 5.0
    distortion: float = 0.0
    texture: TextureSpec | None = None
    element_m: tuple[float, float] = (0.0, 0.0)  # planks / tiles: element length and width
    gap_m: float = 0.0
    gap_color: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class ObjectSpec:
    """A primitive mesh (distractor, occluder or wall)."""

    kind: str  # PRIMITIVES or "PLANE"
    location: tuple[float, float, float]
    rotation_euler: tuple[float, float, float]
    scale: tuple[float, float, float]
    material: MaterialSpec
    role: str  # "distractor" | "occluder" | "wall" | "seat" | "room"

    @property
    def bounding_radius(self) -> float:
        return float(np.linalg.norm(self.scale))


@dataclass(frozen=True)
class LightSpec:
    kind: str
    location: tuple[float, float, float]
    rotation_euler: tuple[float, float, float]
    energy: float
    color: tuple[float, float, float]
    size: float


def _color(rng: np.random.Generator, saturation: tuple[float, float] = (0.0, 0.9)) -> tuple[float, float, float]:
    r, g, b = colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(*saturation), rng.uniform(0.08, 0.95))
    return (float(r), float(g), float(b))


def sample_material(rng: np.random.Generator, patterns: tuple[str, ...] = PATTERNS) -> MaterialSpec:
    return MaterialSpec(
        color=_color(rng),
        roughness=float(rng.uniform(0.2, 1.0)),
        metallic=float(rng.choice([0.0, 0.0, 0.0, rng.uniform(0.0, 1.0)])),
        pattern=str(rng.choice(patterns)),
        color2=_color(rng),
        scale=float(rng.uniform(1.0, 30.0)),
        distortion=float(rng.uniform(0.0, 3.0)),
    )
