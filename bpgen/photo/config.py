"""The photo: section (configs/render.yaml): how a frame is exposed and developed, validated into ``PhotoConfig``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bpgen.colour import KELVIN_LIMITS
from bpgen.photo.cameras import CAMERA_CLASSES
from bpgen.validate import ConfigError, FloatRange, flag, section
from bpgen.validate import range_pair as _range
from bpgen.validate import weights as _weights

VIEW_TRANSFORMS = ("AgX", "Filmic", "Standard")
# shares of the camera classes (bpgen.photo.cameras): most photos of people are taken with phones
DEFAULT_CAMERA_MIX = {"phone_main": 5.0, "phone_wide": 0.7, "phone_tele": 0.5, "mirrorless": 2.0, "action_cctv": 0.8}


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
    "camera_mix",
    "metering",
    "exposure_bias_ev",
    "white_balance_k",
    "tint",
    "depth_of_field",
    "sensor_noise",
    "sharpening",
)


@dataclass(frozen=True)
class PhotoConfig:
    """configs/render.yaml ``photo:`` (the defaults here are that file's)."""

    view_transform: str = "AgX"
    look: str | None = None  # None: the view transform's own base look
    camera_mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_CAMERA_MIX))
    metering: bool = True  # exposure metered on the light falling on the people (else exposure_bias_ev alone)
    exposure_bias_ev: FloatRange = (-0.5, 0.5)  # added to the metered exposure (metering error, compensation)
    white_balance_k: FloatRange = (5000.0, 8000.0)  # residual colour cast: < 6500 K warmer, > 6500 K cooler
    tint: FloatRange = (-0.02, 0.02)  # > 0 magenta, < 0 green
    depth_of_field: bool = True  # thin-lens blur of the frame's camera (sensor, focal length, aperture, focus)
    sensor_noise: bool = True  # shot + read noise of the frame's camera at its ISO
    sharpening: bool = True  # the camera's JPEG-engine unsharp mask

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
    bias = _range(photo["exposure_bias_ev"], "photo.exposure_bias_ev", float, -10.0)
    if bias[1] > 10.0:
        raise ConfigError(f"photo.exposure_bias_ev={photo['exposure_bias_ev']!r} must lie in [-10, 10] stops")
    return PhotoConfig(
        view_transform=view,
        look=None if look is None else str(look),
        camera_mix=_weights(photo["camera_mix"], "photo.camera_mix", tuple(CAMERA_CLASSES)),
        metering=flag(photo["metering"], "photo.metering"),
        exposure_bias_ev=bias,
        white_balance_k=kelvin,
        tint=tint,
        depth_of_field=flag(photo["depth_of_field"], "photo.depth_of_field"),
        sensor_noise=flag(photo["sensor_noise"], "photo.sensor_noise"),
        sharpening=flag(photo["sharpening"], "photo.sharpening"),
    )
