"""Development of a rendered frame (pure numpy), as a camera does it: metering on the light falling on the people,
exposure, depth of field, white balance and sensor noise in linear light, then (the renderer's) view transform to
8-bit sRGB, then the camera's sharpening; the JPEG quality is used when the frame is written. Labels never see any
of it: masks come from the instance map, keypoints from geometry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bpgen.colour import NEUTRAL_KELVIN, REC709_LUMA, blackbody_linear_rgb
from bpgen.photo.config import PhotoConfig
from bpgen.photo.sampling import PhotoSpec, quantize_exposure

DOF_DIAMETER_EDGES = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 11.0, 16.0, 22.0, 32.0, 45.0, 64.0, 90.0)
MIDDLE_GREY = 0.18
MIN_ALBEDO = 0.03  # pixels whose diffuse albedo is darker than this are not metered on (hair, black cloth, sky)
SATURATION_HEADROOM_EV = 3.0  # sensor saturation 3 stops over middle grey (ISO 12232 saturation-based speed)


# --- metering and exposure -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Metering:
    """What the meter read: the incident light (the luminance a white diffuse surface would have) and where."""

    light: float
    on: str  # "people" | "frame" (no person visible) | "reflected" (nothing diffuse in view: average luminance)

    @property
    def exposure_ev(self) -> float:
        """The exposure that renders a middle-grey card under this light as middle grey."""
        return float(-np.log2(max(self.light, 1e-8)))


def meter(linear: np.ndarray, albedo: np.ndarray, people: np.ndarray | None) -> Metering:
    """Incident-light metering: the median of Combined / diffuse albedo (luminances) over the people's visible
    pixels, so a dark-skinned person is not pushed up nor a light one down; without a visible person over the
    frame's diffuse pixels; without any, the frame's mean luminance read as middle grey."""
    luminance = np.asarray(linear, np.float32) @ REC709_LUMA.astype(np.float32)
    reflectance = np.asarray(albedo, np.float32) @ REC709_LUMA.astype(np.float32)
    diffuse = reflectance > MIN_ALBEDO
    for on, where in (("people", None if people is None else diffuse & people), ("frame", diffuse)):
        if where is not None and where.sum() >= 16:
            return Metering(float(np.median(luminance[where] / reflectance[where])), on)
    return Metering(float(max(luminance.mean(), 1e-8)) / MIDDLE_GREY, "reflected")


def exposure_record(metering: Metering | None, spec: PhotoSpec, applied: float) -> dict[str, Any]:
    """frames.jsonl's record of a frame's exposure."""
    return {
        "metered_on": None if metering is None else metering.on,
        "light": None if metering is None else round(metering.light, 6),
        "metered_ev": None if metering is None else round(metering.exposure_ev, 4),
        "bias_ev": round(spec.exposure_bias_ev, 4),
        "applied_ev": applied,
    }


def white_balance_gains(kelvin: float, tint: float) -> np.ndarray:
    """Linear-RGB gains that cast a frame balanced for 6500 K towards a ``kelvin`` black body (lower: warmer)
    and towards magenta (tint > 0) or green (tint < 0); luminance-neutral."""
    gains = blackbody_linear_rgb(kelvin) / blackbody_linear_rgb(NEUTRAL_KELVIN)
    gains[1] *= 1.0 - tint
    return np.asarray(gains / (REC709_LUMA @ gains))


# --- depth of field --------------------------------------------------------------------------------------------
def focal_length_m(fx: float, width: int, sensor_width_mm: float) -> float:
    """The lens's focal length in metres for a sensor ``sensor_width_mm`` wide imaged onto ``width`` pixels."""
    return fx * sensor_width_mm / 1000.0 / width


def circle_of_confusion(
    depth: np.ndarray, fx: float, width: int, f_number: float, focus_m: float, sensor_width_mm: float
) -> np.ndarray:
    """Signed thin-lens blur-circle diameter in pixels per pixel of a planar depth map (metres): < 0 in front of
    the focus plane, > 0 behind it; pixels with no surface (depth <= 0, not finite) are at infinity. A smaller
    sensor at the same field of view has a shorter lens and so a deeper depth of field."""
    focal = focal_length_m(fx, width, sensor_width_mm)
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
    linear: np.ndarray,
    depth: np.ndarray,
    fx: float,
    f_number: float,
    focus_m: float,
    sensor_width_mm: float,
    max_diameter_fraction: float = 0.05,
) -> np.ndarray:
    """Thin-lens depth of field as a post-process of a linear-light frame and its planar depth map (metres).

    Pixels are grouped into layers by blur-circle diameter (``DOF_DIAMETER_EDGES``, signed: in front of or
    behind the focus plane); each layer is blurred with a disk of its mean diameter (colour premultiplied by
    its coverage) and the layers are composited far to near, then normalised by coverage, so
    near blur spills over sharp pixels and far blur does not darken at occlusion edges. Blur is capped at
    ``max_diameter_fraction`` of the width.
    """
    import cv2

    height, width = linear.shape[:2]
    cap = max(1.0, max_diameter_fraction * width)
    coc = np.clip(circle_of_confusion(depth, fx, width, f_number, focus_m, sensor_width_mm), -cap, cap)
    magnitude = np.abs(coc)
    linear = np.asarray(linear, np.float32)
    if magnitude.max() < DOF_DIAMETER_EDGES[0]:
        return linear.copy()
    layer = np.sign(coc).astype(np.int64) * np.digitize(magnitude, DOF_DIAMETER_EDGES)
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
    return np.where(covered[..., None], colour / np.maximum(alpha, 1e-4)[..., None], linear).astype(np.float32)


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


# --- sensor noise, sharpening -----------------------------------------------------------------------------------
def apply_sensor_noise(linear: np.ndarray, spec: PhotoSpec) -> np.ndarray:
    """Shot (Poisson) and read (Gaussian) noise of the frame's camera at its ISO, in exposed linear light.

    One output pixel sums the sensor pixels it is downscaled from (``megapixels`` over the frame's pixels): their
    full wells add, their read noise adds in quadrature. Saturation lies ``SATURATION_HEADROOM_EV`` over middle grey
    at base ISO; at ``iso`` the gain is ``iso / base_iso``, so a pixel collects that many times fewer electrons."""
    camera = spec.camera_class
    height, width = linear.shape[:2]
    binned = max(camera.megapixels * 1e6 / (width * height), 1.0)
    saturation = MIDDLE_GREY * 2.0**SATURATION_HEADROOM_EV
    electrons_per_unit = camera.full_well_e * binned / saturation / (spec.iso / camera.base_iso)
    rng = np.random.default_rng(spec.noise_seed)
    signal = np.clip(np.asarray(linear, np.float64), 0.0, None) * electrons_per_unit
    noisy = rng.poisson(signal) + rng.normal(0.0, camera.read_noise_e * np.sqrt(binned), signal.shape)
    return (noisy / electrons_per_unit).astype(np.float32)


def sharpen(rgb: np.ndarray, amount: float, sigma_px: float = 0.8) -> np.ndarray:
    """The camera's unsharp mask on an 8-bit frame (``amount`` 0: unchanged)."""
    if amount <= 0.0:
        return rgb.copy()
    import cv2

    image = rgb.astype(np.float32)
    blurred = cv2.GaussianBlur(image, (0, 0), sigma_px)
    return np.clip(np.rint(image + amount * (image - blurred)), 0, 255).astype(np.uint8)


# --- the whole chain -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Exposed:
    """A frame developed up to the view transform: linear light, and how it was exposed."""

    linear: np.ndarray  # [H,W,3] float32, exposed (middle grey at 0.18)
    exposure: dict[str, Any]  # exposure_record


def develop_linear(
    linear: np.ndarray,
    albedo: np.ndarray,
    depth: np.ndarray,
    people: np.ndarray | None,
    spec: PhotoSpec,
    config: PhotoConfig,
    fx: float,
    focus_m: float | None,
) -> Exposed:
    """Meter, depth of field (``focus_m`` None: none), exposure, white balance, sensor noise, in linear light."""
    metering = meter(linear, albedo, people) if config.metering else None
    base = 0.0 if metering is None else metering.exposure_ev
    applied = quantize_exposure(base + spec.exposure_bias_ev)
    out = np.asarray(linear, np.float32)
    if focus_m is not None:
        out = apply_depth_of_field(out, depth, fx, spec.f_number, focus_m, spec.sensor_width_mm)
    gains = white_balance_gains(spec.white_balance_k, spec.tint) * 2.0**applied
    out = out * gains.astype(np.float32)
    if config.sensor_noise:
        out = apply_sensor_noise(out, spec)
    return Exposed(out, exposure_record(metering, spec, applied))
