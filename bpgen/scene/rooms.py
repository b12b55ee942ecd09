"""Where people are: rooms of real sizes with natural materials, outdoor ground, or the random domain-randomisation
set (pastel floor, free-standing coloured walls, coloured lamps), drawn as plain data (numpy only).

A room is a floor slab, four walls with windows and doors cut out of them (each wall is made of boxes around its
openings, so the world light comes in through them), a ceiling and ceiling lamps; its size follows homes, offices,
classrooms and halls (3-12 m wide, 2.5-3.2 m high, a share of halls 4-6 m). Materials follow what such surfaces
are made of, in metres: wood planks (10-22 cm wide), ceramic tiles (20-60 cm, grout 2-5 mm), carpet, concrete,
vinyl; painted plaster walls (mostly white and off-white), some brick (21.5 x 6.5 cm, 1 cm mortar) or tiles; white
ceilings. Outdoor ground: asphalt, concrete paving, grass, gravel and sand.

Colours are sRGB HSV ranges of the surfaces' diffuse albedo (linear albedo stays within 0.03-0.8, as real
surfaces do: fresh snow and white paint are ~0.8, asphalt ~0.05-0.1).
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

from bpgen.choice import between, choose
from bpgen.colour import blackbody_color, linear
from bpgen.scene.config import LAYOUTS
from bpgen.scene.specs import LightSpec, MaterialSpec, ObjectSpec

__all__ = ["LAYOUTS", "Room", "ground_material", "natural_material", "plan_room"]
WALL_THICKNESS = 0.12
SLAB = 0.05  # floor slab and ceiling half thickness


@dataclass(frozen=True)
class Surface:
    """A natural surface: pattern, HSV ranges of its colour, the second colour's value factor, roughness, and
    its elements (planks/tiles: length and width ranges, joint width and joint value)."""

    pattern: str
    hue: tuple[float, float]
    saturation: tuple[float, float]
    value: tuple[float, float]
    variation: tuple[float, float]  # color2 = color's value x this
    roughness: tuple[float, float]
    element_m: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 0.0), (0.0, 0.0))
    gap_m: tuple[float, float] = (0.0, 0.0)
    gap_value: tuple[float, float] = (0.0, 0.0)
    square: bool = False  # tiles: width = length
    grain_m: tuple[float, float] = (0.01, 0.05)


SURFACES: dict[str, Surface] = {
    "wood": Surface(
        "planks",
        (0.05, 0.10),
        (0.35, 0.65),
        (0.28, 0.72),
        (0.75, 0.95),
        (0.35, 0.6),
        ((0.8, 2.0), (0.10, 0.22)),
        (0.001, 0.003),
        (0.05, 0.15),
    ),
    "floor_tiles": Surface(
        "tiles",
        (0.0, 0.12),
        (0.0, 0.35),
        (0.45, 0.9),
        (0.93, 1.0),
        (0.15, 0.4),
        ((0.2, 0.6), (0.2, 0.6)),
        (0.002, 0.005),
        (0.45, 0.75),
        square=True,
    ),
    "carpet": Surface("grain", (0.0, 1.0), (0.05, 0.3), (0.25, 0.6), (0.8, 0.95), (0.9, 1.0), grain_m=(0.003, 0.01)),
    "concrete": Surface(
        "grain", (0.05, 0.12), (0.0, 0.08), (0.4, 0.65), (0.85, 0.97), (0.75, 0.95), grain_m=(0.05, 0.3)
    ),
    "vinyl": Surface("grain", (0.04, 0.6), (0.05, 0.35), (0.35, 0.75), (0.93, 1.0), (0.25, 0.5), grain_m=(0.2, 0.6)),
    "paint": Surface("grain", (0.05, 0.6), (0.0, 0.12), (0.78, 0.93), (0.96, 1.0), (0.7, 0.9), grain_m=(0.3, 1.0)),
    "coloured_paint": Surface(
        "grain", (0.0, 1.0), (0.12, 0.35), (0.6, 0.88), (0.96, 1.0), (0.7, 0.9), grain_m=(0.3, 1.0)
    ),
    "brick": Surface(
        "tiles",
        (0.02, 0.07),
        (0.45, 0.7),
        (0.3, 0.55),
        (0.75, 1.0),
        (0.8, 0.95),
        ((0.215, 0.215), (0.065, 0.065)),
        (0.01, 0.01),
        (0.55, 0.75),
    ),
    "wall_tiles": Surface(
        "tiles",
        (0.0, 0.6),
        (0.0, 0.1),
        (0.8, 0.92),
        (0.97, 1.0),
        (0.1, 0.3),
        ((0.1, 0.3), (0.1, 0.3)),
        (0.002, 0.003),
        (0.6, 0.8),
        square=True,
    ),
    "ceiling": Surface("grain", (0.08, 0.12), (0.0, 0.04), (0.82, 0.92), (0.97, 1.0), (0.8, 0.95), grain_m=(0.3, 1.0)),
    "asphalt": Surface("grain", (0.0, 1.0), (0.0, 0.05), (0.18, 0.32), (0.7, 0.9), (0.8, 0.95), grain_m=(0.005, 0.02)),
    "paving": Surface(
        "tiles",
        (0.05, 0.1),
        (0.0, 0.12),
        (0.4, 0.62),
        (0.85, 1.0),
        (0.75, 0.95),
        ((0.3, 0.6), (0.3, 0.6)),
        (0.004, 0.01),
        (0.35, 0.55),
        square=True,
    ),
    "grass": Surface("grain", (0.2, 0.28), (0.4, 0.6), (0.3, 0.5), (0.6, 0.85), (0.85, 1.0), grain_m=(0.01, 0.04)),
    "gravel": Surface("grain", (0.06, 0.11), (0.1, 0.3), (0.4, 0.65), (0.7, 0.9), (0.85, 1.0), grain_m=(0.005, 0.02)),
}
FLOORS = {"wood": 4.0, "floor_tiles": 2.0, "carpet": 1.5, "concrete": 1.0, "vinyl": 1.0}
WALLS = {"paint": 7.0, "coloured_paint": 1.5, "brick": 0.5, "concrete": 0.5, "wall_tiles": 0.5}
GROUNDS = {"asphalt": 2.0, "paving": 2.0, "grass": 2.0, "gravel": 1.0, "concrete": 1.0}


def _srgb_hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    return linear(colorsys.hsv_to_rgb(h, s, v))


def natural_material(rng: np.random.Generator, name: str) -> MaterialSpec:
    """A material of surface ``name`` (``SURFACES``). Always eight draws."""
    surface = SURFACES[name]
    u = rng.uniform(size=8)

    h, s, v = between(u[0], surface.hue), between(u[1], surface.saturation), between(u[2], surface.value)
    length = between(u[5], surface.element_m[0])
    width = length if surface.square else between(u[6], surface.element_m[1])
    gap_value = between(u[7], surface.gap_value)
    return MaterialSpec(
        color=_srgb_hsv(h, s, v),
        roughness=between(u[4], surface.roughness),
        metallic=0.0,
        pattern=surface.pattern,
        color2=_srgb_hsv(h, min(1.0, s * 1.05), v * between(u[3], surface.variation)),
        scale=between(u[6], surface.grain_m),
        distortion=0.0,
        element_m=(length, width),
        gap_m=between(u[7], surface.gap_m),
        gap_color=_srgb_hsv(h, s * 0.3, gap_value),
    )


@dataclass(frozen=True)
class Room:
    """A room around the people: interior ``center`` +- ``half_extents`` (m), ``height`` high; its parts (slab,
    walls with openings, ceiling) and ceiling lamps."""

    center: tuple[float, float]
    half_extents: tuple[float, float]
    height: float
    parts: tuple[ObjectSpec, ...]
    lamps: tuple[LightSpec, ...]

    def contains(self, point: np.ndarray, margin: float = 0.0) -> bool:
        """``point`` lies inside the interior, ``margin`` away from walls, floor and ceiling."""
        offset = np.abs(np.asarray(point[:2], float) - np.asarray(self.center))
        inside = bool((offset <= np.asarray(self.half_extents) - margin).all())
        return inside and margin <= float(point[2]) <= self.height - margin

    def pull_inside(self, position: np.ndarray, target: np.ndarray, margin: float = 0.25) -> np.ndarray:
        """``position`` moved along the line to ``target`` (inside the room) until it is inside, ``margin`` away."""
        if self.contains(position, margin):
            return position
        low, high = 0.0, 1.0  # fraction of the way from target to position that stays inside
        for _ in range(30):
            middle = (low + high) / 2.0
            if self.contains(target + middle * (position - target), margin):
                low = middle
            else:
                high = middle
        return target + low * (position - target)


def _box(center: tuple[float, float, float], half: tuple[float, float, float], material: MaterialSpec) -> ObjectSpec:
    return ObjectSpec("CUBE", center, (0.0, 0.0, 0.0), half, material, "room")


def _openings(
    rng: np.random.Generator, length: float, height: float, door: bool
) -> list[tuple[float, float, float, float]]:
    """Openings of a wall as (start, end, sill, top) along it: up to 3 windows and a door. Always 13 draws."""
    u = rng.uniform(size=13)
    openings: list[tuple[float, float, float, float]] = []
    if door:
        width = 0.9 + 0.3 * u[0]
        start = 0.3 + (length - width - 0.6) * u[1]
        if start > 0.3:
            openings.append((start, start + width, 0.0, min(2.1, height - 0.2)))
    windows = int(u[2] * 4)
    for k in range(windows):
        width = 0.8 + 1.6 * u[3 + 3 * k]
        start = 0.3 + (length - width - 0.6) * u[4 + 3 * k]
        sill = 0.7 + 0.3 * u[5 + 3 * k]
        top = min(height - 0.25, sill + 1.2 + 0.6 * u[5 + 3 * k])
        if start > 0.3 and all(start > b + 0.3 or start + width < a - 0.3 for a, b, _s, _t in openings):
            openings.append((start, start + width, sill, top))
    return sorted(openings)


def _wall_parts(
    openings: list[tuple[float, float, float, float]], length: float, height: float
) -> list[tuple[float, float, float, float]]:
    """The wall's boxes as (start, end, bottom, top) along it, around ``openings``."""
    parts, cursor = [], 0.0
    for start, end, sill, top in openings:
        if start > cursor:
            parts.append((cursor, start, 0.0, height))
        if sill > 0.0:
            parts.append((start, end, 0.0, sill))
        if top < height:
            parts.append((start, end, top, height))
        cursor = end
    if cursor < length:
        parts.append((cursor, length, 0.0, height))
    return parts


def plan_room(rng: np.random.Generator, center: np.ndarray, radius: float) -> Room:
    """A room around people within ``radius`` of ``center`` (their group sphere), its materials and lamps."""
    u = rng.uniform(size=8)
    hall = u[0] < 0.15
    height = float(4.0 + 2.0 * u[1]) if hall else float(2.5 + 0.7 * u[1])
    low = radius + 0.8  # people stay clear of the walls; the room leaves the photographer room to step back
    half = (float(max(low, 1.5 + (6.0 if hall else 3.5) * u[2])), float(max(low, 1.5 + (6.0 if hall else 3.5) * u[3])))
    slack = (max(half[0] - low, 0.0), max(half[1] - low, 0.0))
    room_center = (float(center[0] + slack[0] * (2 * u[4] - 1)), float(center[1] + slack[1] * (2 * u[5] - 1)))
    floor = natural_material(rng, choose(rng, FLOORS))
    wall = natural_material(rng, choose(rng, WALLS))
    ceiling = natural_material(rng, "ceiling")
    cx, cy = room_center
    hx, hy = half
    parts = [
        _box((cx, cy, -SLAB), (hx + WALL_THICKNESS, hy + WALL_THICKNESS, SLAB), floor),
        _box((cx, cy, height + SLAB), (hx + WALL_THICKNESS, hy + WALL_THICKNESS, SLAB), ceiling),
    ]
    door_wall = int(u[6] * 4)
    t = WALL_THICKNESS / 2.0
    # the four walls: (origin of the along-axis, axis, length, fixed coordinate of the wall's centre plane)
    walls = [
        ((cx - hx, cy - hy - t), 0, 2 * hx),
        ((cx - hx, cy + hy + t), 0, 2 * hx),
        ((cx - hx - t, cy - hy), 1, 2 * hy),
        ((cx + hx + t, cy - hy), 1, 2 * hy),
    ]
    for index, (origin, axis, length) in enumerate(walls):
        openings = _openings(rng, length, height, door=index == door_wall)
        for start, end, bottom, top in _wall_parts(openings, length, height):
            if axis == 0:  # the walls along x also close the corners
                start, end = (start - 2 * t if start == 0.0 else start), (end + 2 * t if end == length else end)
            centre = [origin[0], origin[1], (bottom + top) / 2.0]
            centre[axis] += (start + end) / 2.0
            extent = [t, t, (top - bottom) / 2.0]
            extent[axis] = (end - start) / 2.0
            parts.append(_box((centre[0], centre[1], centre[2]), (extent[0], extent[1], extent[2]), wall))
    count = max(1, int(round(hx * hy * 4.0 / 12.0 * (0.7 + 0.6 * u[7]))))  # about a lamp per 12 m^2
    columns = max(1, int(round(np.sqrt(count * hx / hy))))
    rows = max(1, int(np.ceil(count / columns)))
    lamp_u = rng.uniform(size=3)
    kelvin = 2700.0 + 2300.0 * lamp_u[0]
    size = 0.3 + 0.9 * lamp_u[1]
    power = hx * hy * 4.0 * (8.0 + 22.0 * lamp_u[2]) / (rows * columns)  # 8-30 W per m^2 of floor, in all
    lamps = tuple(
        LightSpec(
            "AREA",
            (float(cx - hx + (2 * i + 1) * hx / columns), float(cy - hy + (2 * j + 1) * hy / rows), height - 0.02),
            (0.0, 0.0, 0.0),
            float(power),
            blackbody_color(kelvin),
            float(size),
        )
        for i in range(columns)
        for j in range(rows)
    )
    return Room(room_center, half, height, tuple(parts), lamps)


def ground_material(rng: np.random.Generator) -> MaterialSpec:
    """Outdoor ground (and what is seen through a room's windows and doors)."""
    return natural_material(rng, choose(rng, GROUNDS))
