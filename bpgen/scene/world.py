"""World lighting and surface assets as plain data: HDRIs, PBR texture sets, their config (numpy only).

(Being filled in: HDRI image-based lighting and the BPGEN_ASSETS_DIR asset library.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bpgen.validate import ConfigError


@dataclass(frozen=True)
class WorldConfig:
    """configs/render.yaml ``world:``."""

    hdri_probability: float = 0.85


def world_config_from_dict(world: dict[str, Any]) -> WorldConfig:
    probability = float(world["hdri_probability"])
    if not 0.0 <= probability <= 1.0:
        raise ConfigError(f"world.hdri_probability must be in [0, 1], got {probability}")
    return WorldConfig(hdri_probability=probability)
