"""One frame's camera and photometry drawn from the plan's generator (``PhotoSpec``), and its record for
frames.jsonl.

``sample_photo(rng, config, people)`` always makes the same count of draws, whatever the config, so switching
parts of the photometry off changes nothing else in a scene. The exposure is not drawn here: it is metered on the
rendered frame (``bpgen.photo.develop.meter``) and ``exposure_bias_ev`` is added to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bpgen.choice import between, choose
from bpgen.photo.cameras import CAMERA_CLASSES, CameraClass
from bpgen.photo.config import PhotoConfig


@dataclass(frozen=True)
class PhotoSpec:
    """One frame's camera and photometry, drawn by ``sample_photo``."""

    camera: str  # a class of bpgen.photo.cameras.CAMERA_CLASSES
    fov_deg: float  # horizontal field of view
    sensor_width_mm: float
    f_number: float
    iso: float
    exposure_bias_ev: float  # added to the metered exposure (or the exposure, without metering)
    white_balance_k: float
    tint: float
    focus_person: int  # the person focused on (index into the scene's people)
    noise_seed: int
    jpeg_quality: int
    sharpening: float  # unsharp-mask amount (0: none)
    elevated: bool  # taken from above head height (a mounted camera)

    @property
    def camera_class(self) -> CameraClass:
        return CAMERA_CLASSES[self.camera]

    @property
    def focal_length_mm(self) -> float:
        """The real focal length of the lens, from the field of view and the sensor width."""
        return self.sensor_width_mm / (2.0 * float(np.tan(np.radians(self.fov_deg) / 2.0)))

    @property
    def equivalent_focal_length_mm(self) -> float:
        """The full-frame (36 mm wide) equivalent focal length."""
        return self.focal_length_mm * 36.0 / self.sensor_width_mm


# Exposure steps of 1/8 stop (cameras step in 1/3): the applied exposure is rounded to it. It also bounded
# Blender's memory when Blender applied the exposure (~3 MB of colour-management state per distinct value); the
# exposure is now applied in numpy before Blender's view transform, which always runs at exposure 0.
EXPOSURE_STEP_EV = 0.125
EXPOSURE_LIMITS_EV = (-16.0, 16.0)


def quantize_exposure(value: float, bounds: tuple[float, float] = EXPOSURE_LIMITS_EV) -> float:
    """``value`` on the 1/8-stop grid, kept inside ``bounds`` (a grid point, or a bound when none lies inside)."""
    step = round(value / EXPOSURE_STEP_EV) * EXPOSURE_STEP_EV
    return float(min(max(step, bounds[0]), bounds[1]))


def sample_photo(rng: np.random.Generator, config: PhotoConfig, people: int) -> PhotoSpec:
    """One frame's camera class and photometry. Always draws the same numbers in the same order."""
    name = choose(rng, config.camera_mix)
    camera = CAMERA_CLASSES[name]
    u = rng.uniform(size=10)
    low, high = camera.jpeg_quality  # integers() would draw more or fewer numbers depending on the range
    iso = float(np.exp(between(u[3], (np.log(camera.iso[0]), np.log(camera.iso[1])))))
    return PhotoSpec(
        camera=name,
        fov_deg=between(u[0], camera.fov_deg),
        sensor_width_mm=between(u[1], camera.sensor_width_mm),
        f_number=between(u[2], camera.f_number),
        iso=round(iso),
        exposure_bias_ev=between(u[4], config.exposure_bias_ev),
        white_balance_k=between(u[5], config.white_balance_k),
        tint=between(u[6], config.tint),
        focus_person=min(max(people, 1) - 1, int(u[7] * people)),
        noise_seed=int(rng.integers(0, 2**31 - 1)),
        jpeg_quality=min(high, low + int(u[8] * (high - low + 1))),
        sharpening=between(u[9], camera.sharpening) if config.sharpening else 0.0,
        elevated=bool(rng.uniform() < camera.elevated_share),
    )


def photo_record(
    spec: PhotoSpec, config: PhotoConfig, exposure: dict[str, Any], focus_m: float | None, image_format: str
) -> dict[str, Any]:
    """The frame's camera and photometry for frames.jsonl; ``exposure`` is ``develop``'s record of it."""
    return {
        "camera": spec.camera,
        "fov_deg": round(spec.fov_deg, 3),
        "sensor_width_mm": round(spec.sensor_width_mm, 3),
        "focal_length_mm": round(spec.focal_length_mm, 3),
        "equivalent_focal_length_mm": round(spec.equivalent_focal_length_mm, 2),
        "f_number": round(spec.f_number, 3),
        "iso": spec.iso,
        "view_transform": config.view_transform,
        "look": config.look,
        "exposure": exposure,
        "white_balance_k": round(spec.white_balance_k, 1),
        "tint": round(spec.tint, 4),
        "dof": None if focus_m is None else {"focus_m": round(focus_m, 4), "focus_person": spec.focus_person},
        "sensor_noise": config.sensor_noise,
        "sharpening": round(spec.sharpening, 3),
        "jpeg_quality": spec.jpeg_quality if image_format == "jpg" else None,
    }
