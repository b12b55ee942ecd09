"""Camera photometry as plain data and pure numpy: exposure, white balance, sensor noise, JPEG quality.

(Being filled in: per-frame photometric draws and their post-processing; labels are never touched.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bpgen.validate import ConfigError


@dataclass(frozen=True)
class PhotoConfig:
    """configs/render.yaml ``photo:``."""

    view_transform: str = "AgX"


def photo_config_from_dict(photo: dict[str, Any]) -> PhotoConfig:
    view = str(photo["view_transform"])
    if view not in ("AgX", "Filmic", "Standard"):
        raise ConfigError(f"photo.view_transform={view!r} is not valid; use one of: AgX, Filmic, Standard")
    return PhotoConfig(view_transform=view)
