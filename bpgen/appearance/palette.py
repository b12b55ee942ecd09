"""Colours people wear and the albedo of their skin, as plain data (numpy only).

Garments: a palette of named colours with shares, in the order of the colour attributes of street photos of
people (the pedestrian attribute sets PETA, Deng et al. 2014, and Market-1501's, Lin et al. 2019, label upper and
lower clothing colours; black, white, grey and blues are the commonest there, bright colours a minority). The
shares are set by hand to follow that ordering, not fitted: black 22%, greys 13%, white 10%, navy 10%, denim and
other blues 12%, beige/khaki 7%, browns 7%, olive 4%, burgundy 3%, saturated colours (any hue) 12%.

Skin: the Monk Skin Tone swatches are display colours (Monk 1 is 0.86 linear luminance, brighter than any skin),
so they are mapped to measured diffuse reflectance: luminance log-linear in the swatch's, from 0.45 (Monk 1) to
0.05 (Monk 10), the range of measured skin reflectance in the visible (Zonios et al. 2001, "Skin melanin,
hemoglobin, and light scattering properties can be quantitatively assessed in vivo using diffuse reflectance
spectroscopy"; Jacques, "Skin optics", 1998); this puts the X-Rite ColorChecker's "light skin" patch (luminance
0.358) at Monk 4-5 and its "dark skin" (0.101) at Monk 8 (McCamy et al. 1976 designed those patches to match
human skin). The light swatches are paler than skin's reflectance (ColorChecker light skin has a linear red/blue
ratio of 2.4, Monk 1 of 1.2, Monk 4 of 1.7): their chroma about their luminance is raised, by up to 1.5x (Monk 1)
and less as a swatch's red/blue ratio nears 2.4 (Monk 5 and darker unchanged).
"""

from __future__ import annotations

import colorsys

import numpy as np

from bpgen.choice import choose
from bpgen.colour import MONK_SKIN_TONES_SRGB, REC709_LUMA, RGB, linear, srgb_hex

# name: (share, hue range, saturation range, value range), HSV of sRGB
GARMENT_COLOURS: dict[str, tuple[float, tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "black": (0.22, (0.0, 1.0), (0.0, 0.15), (0.05, 0.14)),
    "charcoal": (0.06, (0.0, 1.0), (0.0, 0.08), (0.18, 0.32)),
    "grey": (0.07, (0.0, 1.0), (0.0, 0.06), (0.38, 0.72)),
    "white": (0.10, (0.0, 1.0), (0.0, 0.05), (0.82, 0.94)),
    "navy": (0.10, (0.58, 0.66), (0.45, 0.75), (0.14, 0.32)),
    "blue": (0.06, (0.55, 0.62), (0.35, 0.65), (0.35, 0.62)),
    "light_blue": (0.06, (0.55, 0.61), (0.15, 0.35), (0.62, 0.85)),
    "beige": (0.07, (0.07, 0.12), (0.18, 0.38), (0.58, 0.82)),
    "brown": (0.07, (0.04, 0.09), (0.40, 0.70), (0.18, 0.45)),
    "olive": (0.04, (0.14, 0.22), (0.35, 0.60), (0.22, 0.45)),
    "burgundy": (0.03, (0.95, 1.0), (0.55, 0.80), (0.22, 0.40)),
    "saturated": (0.12, (0.0, 1.0), (0.60, 0.90), (0.40, 0.85)),
}
SATURATED_SHARE = GARMENT_COLOURS["saturated"][0] / sum(v[0] for v in GARMENT_COLOURS.values())
_COLOUR_WEIGHTS = {name: share for name, (share, *_ranges) in GARMENT_COLOURS.items()}


def garment_colour(rng: np.random.Generator) -> tuple[str, RGB]:
    """A named garment colour from the palette and its linear RGB albedo. Always four draws."""
    name = choose(rng, _COLOUR_WEIGHTS)
    _share, hue, saturation, value = GARMENT_COLOURS[name]
    h, s, v = rng.uniform(*hue), rng.uniform(*saturation), rng.uniform(*value)
    return name, linear(colorsys.hsv_to_rgb(h, s, v))


# --- skin ------------------------------------------------------------------------------------------------------
SKIN_LUMINANCE = (0.45, 0.05)  # measured diffuse reflectance of the lightest and the darkest skin
SKIN_CHROMA_GAIN = 1.5  # at most, for the palest swatch
SKIN_RED_BLUE = 2.4  # ColorChecker light skin's linear red/blue ratio: swatches at or above it keep their chroma
MONK_LINEAR = np.array([linear(srgb_hex(h)) for h in MONK_SKIN_TONES_SRGB])


def _skin_albedos() -> np.ndarray:
    luminance = MONK_LINEAR @ REC709_LUMA
    position = (np.log(luminance) - np.log(luminance[-1])) / (np.log(luminance[0]) - np.log(luminance[-1]))
    target = np.exp(np.log(SKIN_LUMINANCE[1]) + position * (np.log(SKIN_LUMINANCE[0]) - np.log(SKIN_LUMINANCE[1])))
    chroma = MONK_LINEAR / luminance[:, None]
    red_blue = MONK_LINEAR[:, 0] / MONK_LINEAR[:, 2]
    paleness = np.clip((SKIN_RED_BLUE - red_blue) / (SKIN_RED_BLUE - red_blue.min()), 0.0, 1.0)
    gain = 1.0 + (SKIN_CHROMA_GAIN - 1.0) * paleness
    chroma = 1.0 + gain[:, None] * (chroma - 1.0)
    chroma /= (chroma @ REC709_LUMA)[:, None]
    return np.asarray(np.clip(chroma * target[:, None], 0.0, 1.0))


SKIN_ALBEDO = _skin_albedos()  # [10, 3] linear RGB diffuse albedo per Monk swatch


def skin_albedo(tone: float) -> RGB:
    """Linear RGB diffuse albedo of a continuous skin tone in [0, 1] (0 = Monk 1, 1 = Monk 10), interpolated
    between the Monk swatches mapped to measured reflectance."""
    position = float(np.clip(tone, 0.0, 1.0)) * (len(SKIN_ALBEDO) - 1)
    low = int(np.floor(position))
    high = min(low + 1, len(SKIN_ALBEDO) - 1)
    mixed = SKIN_ALBEDO[low] + (SKIN_ALBEDO[high] - SKIN_ALBEDO[low]) * (position - low)
    return (float(mixed[0]), float(mixed[1]), float(mixed[2]))
