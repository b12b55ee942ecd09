"""Colour maths shared by the sections: sRGB encoding, black-body colours, the Monk skin tone swatches (numpy only)."""

from __future__ import annotations

import numpy as np

RGB = tuple[float, float, float]


# Monk Skin Tone scale (Google, CC-BY 4.0): 10 reference tones, sRGB, lightest to darkest.
MONK_SKIN_TONES_SRGB = (
    "f6ede4",
    "f3e7db",
    "f7ead0",
    "eadaba",
    "d7bd96",
    "a07e56",
    "825c43",
    "604134",
    "3a312a",
    "292420",
)


def srgb_hex(value: str) -> RGB:
    return (int(value[0:2], 16) / 255.0, int(value[2:4], 16) / 255.0, int(value[4:6], 16) / 255.0)


def linear(rgb: RGB) -> RGB:
    """An sRGB colour as the linear RGB that Blender's shaders take."""
    c = srgb_to_linear(np.asarray(rgb))
    return (float(c[0]), float(c[1]), float(c[2]))


NEUTRAL_KELVIN = 6500.0


KELVIN_LIMITS = (1667.0, 25000.0)  # where the Planckian-locus fit holds


REC709_LUMA = np.array([0.2126, 0.7152, 0.0722])


XYZ_TO_LINEAR_SRGB = np.array([[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]])


def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(values: np.ndarray) -> np.ndarray:
    v = np.clip(np.asarray(values, np.float64), 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1.0 / 2.4) - 0.055)


def planckian_xy(kelvin: float) -> tuple[float, float]:
    """CIE 1931 chromaticity of a black body (Kim et al. 2002 cubic fit, 1667-25000 K)."""
    t = float(np.clip(kelvin, *KELVIN_LIMITS))
    if t <= 4000.0:
        x = -0.2661239e9 / t**3 - 0.2343589e6 / t**2 + 0.8776956e3 / t + 0.179910
    else:
        x = -3.0258469e9 / t**3 + 2.1070379e6 / t**2 + 0.2226347e3 / t + 0.240390
    if t <= 2222.0:
        y = -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683
    elif t <= 4000.0:
        y = -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867
    else:
        y = 3.0817580 * x**3 - 5.87338670 * x**2 + 3.75112997 * x - 0.37001483
    return x, y


def blackbody_linear_rgb(kelvin: float) -> np.ndarray:
    x, y = planckian_xy(kelvin)
    return np.asarray(XYZ_TO_LINEAR_SRGB @ np.array([x / y, 1.0, (1.0 - x - y) / y]))


def blackbody_color(kelvin: float) -> tuple[float, float, float]:
    """Linear RGB colour of a ``kelvin`` black body, normalised to a maximum of 1 (light colours)."""
    rgb = np.clip(blackbody_linear_rgb(kelvin), 0.0, None)
    rgb = rgb / rgb.max()
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]))
