"""Camera photometry as plain data and pure numpy: view transform, exposure, white balance, depth of field,
sensor noise, JPEG quality.

``sample_photo(rng, config, people)`` draws one frame's ``PhotoSpec`` from the plan's generator (always the
same count of draws, whatever the config, so switching photometry off changes nothing else in a scene).
Blender applies the view transform and the exposure (linear light, before AgX/Filmic); everything else is a
post-process of the 8-bit frame here (``develop``): depth of field from the rendered depth map (thin lens,
blurred by depth layers), white balance, Poisson-Gaussian sensor noise; the JPEG quality is used when the
frame is written. Labels never see any of it: masks come from the instance map, keypoints from geometry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bpgen.camera import SENSOR_WIDTH_MM
from bpgen.validate import ConfigError, FloatRange, IntRange, probability, section
from bpgen.validate import range_pair as _range

VIEW_TRANSFORMS = ("AgX", "Filmic", "Standard")
# Blender 4.2's looks per view transform (AgX's are named "AgX - <look>" inside Blender)
LOOKS = {
    "AgX": (
        "Punchy",
        "Greyscale",
        "Very High Contrast",
        "High Contrast",
        "Medium High Contrast",
        "Base Contrast",
        "Medium Low Contrast",
        "Low Contrast",
        "Very Low Contrast",
    ),
    "Filmic": (
        "Very High Contrast",
        "High Contrast",
        "Medium High Contrast",
        "Medium Contrast",
        "Medium Low Contrast",
        "Low Contrast",
        "Very Low Contrast",
    ),
}
LOOKS["Standard"] = LOOKS["Filmic"]
NEUTRAL_KELVIN = 6500.0
KELVIN_LIMITS = (1667.0, 25000.0)  # where the Planckian-locus fit holds
REC709_LUMA = np.array([0.2126, 0.7152, 0.0722])
XYZ_TO_LINEAR_SRGB = np.array([[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]])
DOF_DIAMETER_EDGES = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 11.0, 16.0, 22.0, 32.0, 45.0, 64.0, 90.0)
KEYS = (
    "view_transform",
    "look",
    "exposure_ev",
    "white_balance_k",
    "tint",
    "dof_probability",
    "f_number",
    "read_noise",
    "shot_gain",
    "jpeg_quality",
)


@dataclass(frozen=True)
class PhotoConfig:
    """configs/render.yaml ``photo:`` (the defaults here are that file's)."""

    view_transform: str = "AgX"
    look: str | None = None  # None: the view transform's own base look
    exposure_ev: FloatRange = (-1.0, 1.0)
    white_balance_k: FloatRange = (4500.0, 9000.0)  # colour cast: < 6500 K warmer, > 6500 K cooler
    tint: FloatRange = (-0.03, 0.03)  # > 0 magenta, < 0 green
    dof_probability: float = 0.25
    f_number: FloatRange = (1.4, 4.0)
    read_noise: FloatRange = (0.0, 1.5)  # Gaussian sigma, 8-bit levels
    shot_gain: FloatRange = (0.0, 0.06)  # Poisson: variance = gain * level, 8-bit levels
    jpeg_quality: IntRange = (70, 97)

    @property
    def blender_look(self) -> str:
        """The look's name inside Blender ("None" for the base look)."""
        if self.look is None:
            return "None"
        return f"AgX - {self.look}" if self.view_transform == "AgX" else self.look


@dataclass(frozen=True)
class PhotoSpec:
    """One frame's photometry, drawn by ``sample_photo``."""

    exposure_ev: float
    white_balance_k: float
    tint: float
    f_number: float | None  # None: no depth of field (pinhole)
    focus_person: int  # the person focused on (index into the scene's people)
    read_noise: float
    shot_gain: float
    noise_seed: int
    jpeg_quality: int


def photo_config_from_dict(photo: dict[str, Any]) -> PhotoConfig:
    """Validate configs/render.yaml's ``photo:`` section; errors are one line naming the key."""
    photo = section(photo, "photo", KEYS, "add it (see configs/render.yaml)")
    view = str(photo["view_transform"])
    if view not in VIEW_TRANSFORMS:
        raise ConfigError(f"photo.view_transform={view!r} is not valid; use one of: {', '.join(VIEW_TRANSFORMS)}")
    look = photo["look"]
    if look is not None and str(look) not in LOOKS[view]:
        raise ConfigError(f"photo.look={look!r} is not a {view} look; use null or one of: {', '.join(LOOKS[view])}")
    kelvin = _range(photo["white_balance_k"], "photo.white_balance_k", float, KELVIN_LIMITS[0])
    if kelvin[1] > KELVIN_LIMITS[1]:
        raise ConfigError(f"photo.white_balance_k={photo['white_balance_k']!r} must lie in [1667, 25000] kelvin")
    tint = _range(photo["tint"], "photo.tint", float, -0.5)
    if tint[1] > 0.5:
        raise ConfigError(f"photo.tint={photo['tint']!r} must lie in [-0.5, 0.5]")
    exposure = _range(photo["exposure_ev"], "photo.exposure_ev", float, -10.0)
    if exposure[1] > 10.0:
        raise ConfigError(f"photo.exposure_ev={photo['exposure_ev']!r} must lie in [-10, 10] stops")
    dof_probability = probability(photo["dof_probability"], "photo.dof_probability")
    quality = _range(photo["jpeg_quality"], "photo.jpeg_quality", int, 1)
    if quality[1] > 100:
        raise ConfigError(f"photo.jpeg_quality={photo['jpeg_quality']!r} must lie in [1, 100]")
    return PhotoConfig(
        view_transform=view,
        look=None if look is None else str(look),
        exposure_ev=exposure,
        white_balance_k=kelvin,
        tint=tint,
        dof_probability=dof_probability,
        f_number=_range(photo["f_number"], "photo.f_number", float, 0.5),
        read_noise=_range(photo["read_noise"], "photo.read_noise", float, 0.0),
        shot_gain=_range(photo["shot_gain"], "photo.shot_gain", float, 0.0),
        jpeg_quality=quality,
    )


# Exposure steps of 1/8 stop (cameras step in 1/3): Blender keeps ~3 MB of colour-management state for every
# distinct exposure it renders with (measured in bare bpy 4.2: ~25 MB per 8-frame scene with continuous draws,
# flat with repeated values), so a render process's memory grows with the shard unless the values repeat. At
# 1/8 stop the default range has 17 values (~50 MB once), the widest allowed range 161.
EXPOSURE_STEP_EV = 0.125


def quantize_exposure(value: float, bounds: tuple[float, float]) -> float:
    """``value`` on the 1/8-stop grid, kept inside ``bounds`` (a grid point, or a bound when none lies inside)."""
    step = round(value / EXPOSURE_STEP_EV) * EXPOSURE_STEP_EV
    return float(min(max(step, bounds[0]), bounds[1]))


def sample_photo(rng: np.random.Generator, config: PhotoConfig, people: int) -> PhotoSpec:
    """One frame's photometry. Always draws the same numbers in the same order, whatever the config."""
    exposure = quantize_exposure(rng.uniform(*config.exposure_ev), config.exposure_ev)
    kelvin = rng.uniform(*config.white_balance_k)
    tint = rng.uniform(*config.tint)
    dof = rng.uniform() < config.dof_probability
    f_number = rng.uniform(*config.f_number)
    focus_person = min(max(people, 1) - 1, int(rng.uniform() * people))
    read_noise = rng.uniform(*config.read_noise)
    shot_gain = rng.uniform(*config.shot_gain)
    low, high = config.jpeg_quality  # integers() would draw more or fewer numbers depending on the range
    quality = min(high, low + int(rng.uniform() * (high - low + 1)))
    seed = int(rng.integers(0, 2**31 - 1))
    return PhotoSpec(
        exposure_ev=float(exposure),
        white_balance_k=float(kelvin),
        tint=float(tint),
        f_number=float(f_number) if dof else None,
        focus_person=focus_person,
        read_noise=float(read_noise),
        shot_gain=float(shot_gain),
        noise_seed=seed,
        jpeg_quality=quality,
    )


# --- sRGB encoding ---------------------------------------------------------------------------------------------
def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(values: np.ndarray) -> np.ndarray:
    v = np.clip(np.asarray(values, np.float64), 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1.0 / 2.4) - 0.055)


_DECODE = srgb_to_linear(np.arange(256) / 255.0).astype(np.float32)


def _decode(rgb: np.ndarray) -> np.ndarray:
    return _DECODE[rgb]


def _encode(linear: np.ndarray) -> np.ndarray:
    return np.rint(linear_to_srgb(linear) * 255.0).astype(np.uint8)


# --- white balance ---------------------------------------------------------------------------------------------
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


def _blackbody_linear_rgb(kelvin: float) -> np.ndarray:
    x, y = planckian_xy(kelvin)
    return np.asarray(XYZ_TO_LINEAR_SRGB @ np.array([x / y, 1.0, (1.0 - x - y) / y]))


def blackbody_color(kelvin: float) -> tuple[float, float, float]:
    """Linear RGB colour of a ``kelvin`` black body, normalised to a maximum of 1 (light colours)."""
    rgb = np.clip(_blackbody_linear_rgb(kelvin), 0.0, None)
    rgb = rgb / rgb.max()
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]))


def white_balance_gains(kelvin: float, tint: float) -> np.ndarray:
    """Linear-RGB gains that cast a frame balanced for 6500 K towards a ``kelvin`` black body (lower: warmer)
    and towards magenta (tint > 0) or green (tint < 0); luminance-neutral."""
    gains = _blackbody_linear_rgb(kelvin) / _blackbody_linear_rgb(NEUTRAL_KELVIN)
    gains[1] *= 1.0 - tint
    return np.asarray(gains / (REC709_LUMA @ gains))


def apply_white_balance(rgb: np.ndarray, kelvin: float, tint: float) -> np.ndarray:
    """An 8-bit sRGB frame with its white balance shifted in linear light (6500 K and tint 0: unchanged)."""
    if kelvin == NEUTRAL_KELVIN and tint == 0.0:
        return rgb.copy()
    return _encode(_decode(rgb) * white_balance_gains(kelvin, tint).astype(np.float32))


# --- depth of field --------------------------------------------------------------------------------------------
def focal_length_m(fx: float, width: int) -> float:
    """The lens's focal length in metres for Blender's 36 mm wide sensor (bpgen.camera)."""
    return fx * SENSOR_WIDTH_MM / 1000.0 / width


def circle_of_confusion(depth: np.ndarray, fx: float, width: int, f_number: float, focus_m: float) -> np.ndarray:
    """Signed thin-lens blur-circle diameter in pixels per pixel of a planar depth map (metres): < 0 in front of
    the focus plane, > 0 behind it; pixels with no surface (depth <= 0, not finite) are at infinity."""
    focal = focal_length_m(fx, width)
    focus = max(float(focus_m), 1.01 * focal)
    z = np.asarray(depth, np.float64)
    z = np.where(np.isfinite(z) & (z > 1e-6), z, np.inf)
    with np.errstate(divide="ignore"):
        return fx * focal / (f_number * (focus - focal)) * (1.0 - focus / z)


def disk_kernel(diameter: float) -> np.ndarray:
    """A normalised, anti-aliased disk (the image of an out-of-focus point)."""
    radius = diameter / 2.0
    half = int(np.ceil(radius))
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1]
    kernel = np.clip(radius + 0.5 - np.hypot(xx, yy), 0.0, 1.0).astype(np.float32)
    return kernel / kernel.sum()


def apply_depth_of_field(
    rgb: np.ndarray,
    depth: np.ndarray,
    fx: float,
    f_number: float,
    focus_m: float,
    max_diameter_fraction: float = 0.05,
) -> np.ndarray:
    """Thin-lens depth of field as a post-process of an 8-bit sRGB frame and its planar depth map (metres).

    Pixels are grouped into layers by blur-circle diameter (``DOF_DIAMETER_EDGES``, signed: in front of or
    behind the focus plane); each layer is blurred with a disk of its mean diameter (colour premultiplied by
    its coverage, in linear light) and the layers are composited far to near, then normalised by coverage, so
    near blur spills over sharp pixels and far blur does not darken at occlusion edges. Blur is capped at
    ``max_diameter_fraction`` of the width.
    """
    import cv2

    height, width = rgb.shape[:2]
    cap = max(1.0, max_diameter_fraction * width)
    coc = np.clip(circle_of_confusion(depth, fx, width, f_number, focus_m), -cap, cap)
    magnitude = np.abs(coc)
    if magnitude.max() < DOF_DIAMETER_EDGES[0]:
        return rgb.copy()
    layer = np.sign(coc).astype(np.int64) * np.digitize(magnitude, DOF_DIAMETER_EDGES)
    linear = _decode(rgb)
    colour = np.zeros((height, width, 3), np.float32)
    alpha = np.zeros((height, width), np.float32)
    for index in sorted(np.unique(layer).tolist(), reverse=True):  # far (large positive) to near (negative)
        mask = (layer == index).astype(np.float32)
        premultiplied = linear * mask[..., None]
        diameter = float(magnitude[layer == index].mean())
        if index != 0 and diameter > 1.0:
            kernel = disk_kernel(diameter)
            premultiplied = cv2.filter2D(premultiplied, -1, kernel, borderType=cv2.BORDER_REFLECT)
            mask = cv2.filter2D(mask, -1, kernel, borderType=cv2.BORDER_REFLECT)
        mask = np.clip(mask, 0.0, 1.0)
        colour = colour * (1.0 - mask[..., None]) + premultiplied
        alpha = alpha * (1.0 - mask) + mask
    covered = alpha > 1e-4
    out = np.where(covered[..., None], colour / np.maximum(alpha, 1e-4)[..., None], linear)
    return _encode(out)


def focus_distance(depth: np.ndarray, mask: np.ndarray | None, fallback_m: float) -> float:
    """Where the lens focuses: the median depth of the focused person's visible pixels, else ``fallback_m``
    (the person's geometric depth), else the median depth of the frame's surfaces."""
    finite = np.isfinite(depth) & (depth > 1e-6) & (depth < 1e5)
    if mask is not None:
        visible = mask & finite
        if visible.any():
            return float(np.median(depth[visible]))
    if fallback_m > 0.05:
        return float(fallback_m)
    return float(np.median(depth[finite])) if finite.any() else 10.0


# --- sensor noise ----------------------------------------------------------------------------------------------
def apply_noise(rgb: np.ndarray, read_noise: float, shot_gain: float, seed: int) -> np.ndarray:
    """Poisson-Gaussian sensor noise in 8-bit levels: shot noise with variance ``shot_gain * level`` plus
    Gaussian read noise of sigma ``read_noise``; both zero: unchanged."""
    if read_noise <= 0.0 and shot_gain <= 0.0:
        return rgb.copy()
    rng = np.random.default_rng(seed)
    levels: np.ndarray = rgb.astype(np.float64)
    if shot_gain > 0.0:
        levels = rng.poisson(levels / shot_gain) * shot_gain
    if read_noise > 0.0:
        levels = levels + rng.normal(0.0, read_noise, levels.shape)
    return np.clip(np.rint(levels), 0, 255).astype(np.uint8)


# --- the whole chain -------------------------------------------------------------------------------------------
def develop(rgb: np.ndarray, depth: np.ndarray, spec: PhotoSpec, fx: float, focus_m: float | None) -> np.ndarray:
    """The post-processing of one rendered 8-bit frame: depth of field (when drawn), white balance, noise.
    Exposure and view transform were applied by Blender; the JPEG quality is used when writing."""
    out = rgb
    if spec.f_number is not None and focus_m is not None:
        out = apply_depth_of_field(out, depth, fx, spec.f_number, focus_m)
    out = apply_white_balance(out, spec.white_balance_k, spec.tint)
    return apply_noise(out, spec.read_noise, spec.shot_gain, spec.noise_seed)


def photo_record(spec: PhotoSpec, config: PhotoConfig, focus_m: float | None, image_format: str) -> dict[str, Any]:
    """The frame's photometry for frames.jsonl."""
    return {
        "view_transform": config.view_transform,
        "look": config.look,
        "exposure_ev": round(spec.exposure_ev, 4),
        "white_balance_k": round(spec.white_balance_k, 1),
        "tint": round(spec.tint, 4),
        "dof": None
        if spec.f_number is None or focus_m is None
        else {"f_number": round(spec.f_number, 3), "focus_m": round(focus_m, 4), "focus_person": spec.focus_person},
        "read_noise": round(spec.read_noise, 4),
        "shot_gain": round(spec.shot_gain, 5),
        "jpeg_quality": spec.jpeg_quality if image_format == "jpg" else None,
    }
