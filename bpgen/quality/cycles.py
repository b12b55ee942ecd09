"""Cycles light-path and sampling settings (the ``cycles:`` section set by ``quality=draft|standard|high``).

The presets live in configs/quality/*.yaml; their measured PSNR and cost are in bench/README.md "Render
quality". None of these settings changes a label: masks, depth and keypoint visibility come from the first
sample's object index and depth passes, which no sampling, denoising or light-path setting alters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bpgen.validate import ConfigError, bounded, flag
from bpgen.validate import choice as _choice
from bpgen.validate import positive as _positive
from bpgen.validate import section as _section

PRESETS = ("draft", "standard", "high", "reference", "custom")
DENOISE_PASSES = {"rgb": "RGB", "albedo": "RGB_ALBEDO", "albedo_normal": "RGB_ALBEDO_NORMAL"}  # ours -> Cycles'
DENOISE_PREFILTERS = ("none", "fast", "accurate")  # Cycles' names are these upper-cased
DENOISE_QUALITIES = ("high", "balanced", "fast")
TEXTURE_LIMITS = (0, 128, 256, 512, 1024, 2048, 4096, 8192)  # pixels per texture side; 0 = full size
MAX_BOUNCES = 1024  # Cycles' own maximum of light bounces
BOUNCE_KEYS = ("diffuse_bounces", "glossy_bounces", "transmission_bounces", "transparent_bounces", "volume_bounces")
KEYS = (
    "preset",
    "noise_threshold",
    "min_samples",
    "denoise_passes",
    "denoise_prefilter",
    "denoise_quality",
    "light_tree",
    "path_guiding",
    *BOUNCE_KEYS,
    "clamp_direct",
    "clamp_indirect",
    "caustics",
    "filter_glossy",
    "texture_limit",
)


@dataclass(frozen=True)
class CyclesConfig:
    """What Cycles traces per pixel besides ``samples``, ``denoiser`` and ``max_bounces`` (top-level keys)."""

    preset: str  # the quality preset these values came from (custom: a user's own set)
    noise_threshold: float  # adaptive sampling: stop a pixel below this noise; 0 = every pixel gets `samples`
    min_samples: int  # adaptive sampling's floor; 0 = Cycles' automatic choice
    denoise_passes: str  # guiding passes for the denoiser: rgb | albedo | albedo_normal
    denoise_prefilter: str  # denoise the guiding passes first: none | fast | accurate
    denoise_quality: str  # OpenImageDenoise's network: high | balanced | fast
    light_tree: bool  # sample lights by their importance to the shading point (many lights, HDRI + lamps)
    path_guiding: bool  # learn where indirect light comes from (CPU only)
    diffuse_bounces: int
    glossy_bounces: int
    transmission_bounces: int
    transparent_bounces: int
    volume_bounces: int
    clamp_direct: float  # clamp a sample's direct light (0 = off): trades bias for fireflies
    clamp_indirect: float  # clamp a sample's indirect light (0 = off)
    caustics: bool  # reflective and refractive caustics
    filter_glossy: float  # blur glossy after a diffuse bounce (Cycles' "Filter Glossy"); 0 = off
    texture_limit: int  # downscale image textures to this many pixels per side; 0 = full size

    @property
    def adaptive(self) -> bool:
        return self.noise_threshold > 0.0


def cycles_config_from_dict(section: Any) -> CyclesConfig:
    """Validate the ``cycles:`` section; every error is one line naming the key and its bound.

    The per-type bounce limits are capped by the top-level ``max_bounces`` (Cycles' total), as in Blender.
    """
    section = _section(section, "cycles", KEYS, "pick a preset with quality=standard (configs/quality/)")

    def fraction(key: str, high: float) -> float:
        value = _positive(section[key], f"cycles.{key}", float, allow_zero=True)
        return float(bounded(value, f"cycles.{key}", 0.0, high))

    def switch(key: str) -> bool:
        return flag(section[key], f"cycles.{key}")

    bounces = {
        key: bounded(
            _positive(section[key], f"cycles.{key}", allow_zero=True),
            f"cycles.{key}",
            0,
            MAX_BOUNCES,
            "Cycles' maximum",
        )
        for key in BOUNCE_KEYS
    }
    texture_limit = section["texture_limit"]
    if texture_limit not in TEXTURE_LIMITS:
        raise ConfigError(
            f"cycles.texture_limit={texture_limit!r} is not valid; use one of {', '.join(map(str, TEXTURE_LIMITS))}"
        )
    return CyclesConfig(
        preset=_choice(str(section["preset"]), "cycles.preset", PRESETS),
        noise_threshold=fraction("noise_threshold", 1.0),
        min_samples=bounded(
            _positive(section["min_samples"], "cycles.min_samples", allow_zero=True), "cycles.min_samples", 0, 65_536
        ),
        denoise_passes=_choice(str(section["denoise_passes"]), "cycles.denoise_passes", tuple(DENOISE_PASSES)),
        denoise_prefilter=_choice(str(section["denoise_prefilter"]), "cycles.denoise_prefilter", DENOISE_PREFILTERS),
        denoise_quality=_choice(str(section["denoise_quality"]), "cycles.denoise_quality", DENOISE_QUALITIES),
        light_tree=switch("light_tree"),
        path_guiding=switch("path_guiding"),
        clamp_direct=fraction("clamp_direct", 1e6),
        clamp_indirect=fraction("clamp_indirect", 1e6),
        caustics=switch("caustics"),
        filter_glossy=fraction("filter_glossy", 10.0),
        texture_limit=int(texture_limit),
        **bounces,
    )
