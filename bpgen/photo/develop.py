"""Post-processing of a rendered 8-bit frame (pure numpy): depth of field from the rendered depth map (thin lens,
blurred by depth layers), white balance, Poisson-Gaussian sensor noise. Blender applies the view transform and
the exposure (linear light, before AgX/Filmic); the JPEG quality is used when the frame is written. Labels never
see any of it: masks come from the instance map, keypoints from geometry.
"""

from __future__ import annotations

import numpy as np

from bpgen.colour import NEUTRAL_KELVIN, REC709_LUMA, blackbody_linear_rgb, linear_to_srgb, srgb_to_linear
from bpgen.geometry.camera import SENSOR_WIDTH_MM
from bpgen.photo.sampling import PhotoSpec

DOF_DIAMETER_EDGES = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 11.0, 16.0, 22.0, 32.0, 45.0, 64.0, 90.0)


_DECODE = srgb_to_linear(np.arange(256) / 255.0).astype(np.float32)


def _decode(rgb: np.ndarray) -> np.ndarray:
    return _DECODE[rgb]


def _encode(linear: np.ndarray) -> np.ndarray:
    return np.rint(linear_to_srgb(linear) * 255.0).astype(np.uint8)


def white_balance_gains(kelvin: float, tint: float) -> np.ndarray:
    """Linear-RGB gains that cast a frame balanced for 6500 K towards a ``kelvin`` black body (lower: warmer)
    and towards magenta (tint > 0) or green (tint < 0); luminance-neutral."""
    gains = blackbody_linear_rgb(kelvin) / blackbody_linear_rgb(NEUTRAL_KELVIN)
    gains[1] *= 1.0 - tint
    return np.asarray(gains / (REC709_LUMA @ gains))


def apply_white_balance(rgb: np.ndarray, kelvin: float, tint: float) -> np.ndarray:
    """An 8-bit sRGB frame with its white balance shifted in linear light (6500 K and tint 0: unchanged)."""
    if kelvin == NEUTRAL_KELVIN and tint == 0.0:
        return rgb.copy()
    return _encode(_decode(rgb) * white_balance_gains(kelvin, tint).astype(np.float32))


# --- depth of field --------------------------------------------------------------------------------------------
def focal_length_m(fx: float, width: int) -> float:
    """The lens's focal length in metres for Blender's 36 mm wide sensor (bpgen.geometry.camera)."""
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
