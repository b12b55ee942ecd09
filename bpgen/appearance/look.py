"""A person's look as plain data, drawn with an explicit generator: skin, eyes, hair, garments, fabrics."""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bpgen.appearance.palette import garment_colour, skin_albedo
from bpgen.appearance.vocabulary import SKIN_TONE_BANDS
from bpgen.choice import choose
from bpgen.colour import RGB, linear

if TYPE_CHECKING:
    from bpgen.appearance.config import LookConfig


# Natural hair colours (sRGB, linear-ish base for the hair shader) and the share of grey that age brings.
HAIR_COLORS_SRGB: dict[str, RGB] = {
    "black": (0.035, 0.03, 0.028),
    "dark_brown": (0.11, 0.065, 0.04),
    "brown": (0.25, 0.15, 0.08),
    "blond": (0.62, 0.48, 0.28),
    "red": (0.45, 0.16, 0.06),
    "grey": (0.55, 0.54, 0.52),
}
IRIS_COLORS_SRGB: dict[str, RGB] = {
    "brown": (0.25, 0.13, 0.05),
    "dark_brown": (0.12, 0.06, 0.03),
    "hazel": (0.42, 0.3, 0.12),
    "green": (0.25, 0.35, 0.18),
    "blue": (0.25, 0.4, 0.6),
    "grey": (0.45, 0.5, 0.52),
}


@dataclass(frozen=True)
class Fabric:
    """A garment's cloth: a pattern of two colours at a scale (m), and its roughness and sheen."""

    pattern: str  # vocabulary.FABRICS
    color: RGB  # linear RGB
    color2: RGB
    color_name: str  # bpgen.appearance.palette.GARMENT_COLOURS (the main colour's)
    scale: float  # pattern period in metres on the body
    roughness: float
    sheen: float
    angle: float  # radians: stripe / check direction


@dataclass(frozen=True)
class Garment:
    kind: str  # a name of vocabulary.TOPS / BOTTOMS / FEET (not "barefoot")
    slot: str  # "top" | "bottom" | "feet"
    fabric: Fabric


@dataclass(frozen=True)
class Look:
    """Everything about a person's appearance that the body and the renderer need."""

    skin_tone: float  # [0, 1] on the Monk scale
    skin_rgb: RGB
    skin_roughness: float
    lip_tint: float  # 0..1: how much redder than the skin the lips are
    iris: str
    iris_rgb: RGB
    brow_darkness: float
    hair_style: str
    hair_color: str
    hair_rgb: RGB
    hair_length: float  # metres: the curtain of long hair, the ponytail of tied hair; 0 otherwise
    garments: tuple[Garment, ...]

    def labels(self) -> dict[str, Any]:
        """The look's entries in a person's labels."""
        return {
            "skin_tone": round(self.skin_tone, 4),
            "hair_style": self.hair_style,
            "hair_color": self.hair_color,
            "garments": [g.kind for g in self.garments],
            "garment_colours": [g.fabric.color_name for g in self.garments],
        }


def _hsv(
    rng: np.random.Generator,
    saturation: tuple[float, float],
    value: tuple[float, float],
    hue: tuple[float, float] = (0.0, 1.0),
) -> RGB:
    """A linear RGB colour drawn in HSV (sRGB) space."""
    return linear(colorsys.hsv_to_rgb(rng.uniform(*hue), rng.uniform(*saturation), rng.uniform(*value)))


def sample_fabric(rng: np.random.Generator, config: LookConfig, kind: str) -> Fabric:
    """A garment's cloth: its pattern from the config's fabric mix, colours from the palette of what people wear
    (``bpgen.appearance.palette``); shoes are solid."""
    pattern = choose(rng, config.fabric_mix)
    if kind == "shoes":
        pattern = "solid"
    if pattern == "denim":
        base = _hsv(rng, (0.3, 0.7), (0.2, 0.6), hue=(0.58, 0.65))
        return Fabric("denim", base, tuple(min(1.0, c * 1.6) for c in base), "denim", 0.004, 0.85, 0.1, 0.0)  # type: ignore[arg-type]
    name, color = garment_colour(rng)
    _name2, color2 = garment_colour(rng)
    scale = float(rng.uniform(0.01, 0.08)) if pattern in ("stripes", "checks") else float(rng.uniform(0.02, 0.15))
    return Fabric(
        pattern,
        color,
        color2,
        name,
        scale,
        float(rng.uniform(0.45, 0.95)),
        float(rng.uniform(0.0, 0.6)),
        float(rng.choice([0.0, np.pi / 2, rng.uniform(0, np.pi)])),
    )


def sample_look(rng: np.random.Generator, config: LookConfig, attributes: dict[str, Any]) -> Look:
    """Draw a look for a person with ``attributes`` (age_years, sex) from the body config's mixes."""
    age = float(attributes.get("age_years", 30.0))
    sex = attributes.get("sex", "female")
    band = choose(rng, {str(i): w for i, w in enumerate(config.skin_tone_mix)})
    tone = (int(band) + rng.uniform()) / SKIN_TONE_BANDS
    base = np.asarray(skin_albedo(tone))
    undertone = np.array([1.0 + rng.normal(0, 0.04), 1.0, 1.0 + rng.normal(0, 0.04)])
    skin_rgb = tuple(float(c) for c in np.clip(base * undertone, 0.0, 1.0))

    styles = dict(config.hair_style_mix)
    if sex == "male":  # baldness and buzz cuts are commoner among men, long hair rarer
        styles = {k: w * {"bald": 3.0, "buzz": 2.0, "long": 0.3, "tied": 0.3}.get(k, 1.0) for k, w in styles.items()}
    elif age < 13:
        styles = {k: w * (0.05 if k == "bald" else 1.0) for k, w in styles.items()}
    style = choose(rng, styles)
    grey_share = float(np.clip((age - 40.0) / 35.0, 0.0, 0.9))
    color = "grey" if rng.uniform() < grey_share else choose(rng, config.hair_color_mix)
    if color == "dyed":
        hair_rgb = _hsv(rng, (0.5, 1.0), (0.3, 0.9))
    else:  # natural colours vary a little in brightness
        hair_rgb = linear(tuple(float(c) * rng.uniform(0.85, 1.15) for c in HAIR_COLORS_SRGB[color]))  # type: ignore[arg-type]
    iris = str(rng.choice(list(IRIS_COLORS_SRGB)))
    top = choose(rng, config.top_mix)
    garments = [Garment(top, "top", sample_fabric(rng, config, top))]
    if top != "leotard":
        bottom = choose(rng, config.bottom_mix)
        garments.append(Garment(bottom, "bottom", sample_fabric(rng, config, bottom)))
    feet = choose(rng, config.feet_mix)
    if feet != "barefoot":
        garments.append(Garment(feet, "feet", sample_fabric(rng, config, feet)))
    return Look(
        skin_tone=float(tone),
        skin_rgb=skin_rgb,  # type: ignore[arg-type]
        skin_roughness=float(rng.uniform(0.35, 0.6)),
        lip_tint=float(rng.uniform(0.2, 0.7)),
        iris=iris,
        iris_rgb=linear(IRIS_COLORS_SRGB[iris]),
        brow_darkness=float(rng.uniform(0.4, 0.9)),
        hair_style=style,
        hair_color=color,
        hair_rgb=hair_rgb,
        hair_length={"long": float(rng.uniform(0.12, 0.35)), "tied": float(rng.uniform(0.1, 0.28))}.get(style, 0.0),
        garments=tuple(garments),
    )
