"""One frame's photometry drawn from the plan's generator (``PhotoSpec``), and its record for frames.jsonl.

``sample_photo(rng, config, people)`` always makes the same count of draws, whatever the config, so switching
photometry off changes nothing else in a scene.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bpgen.photo.config import PhotoConfig


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
