"""The photo: section (configs/render.yaml): how a frame is exposed and developed, validated into ``PhotoConfig``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bpgen.colour import KELVIN_LIMITS
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
