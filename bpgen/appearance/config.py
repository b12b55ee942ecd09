"""The look part of the body: section (configs/body/*.yaml): skin tones, hair, garments and fabrics drawn per
person. The body model's part of the section (age, sex, shape) is ``bpgen.bodies.config``'s."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bpgen.appearance.vocabulary import (
    BOTTOMS,
    FABRICS,
    FEET,
    HAIR_COLORS,
    HAIR_STYLES,
    SKIN_TONE_BANDS,
    TOPS,
)
from bpgen.validate import ConfigError
from bpgen.validate import weights as _weights


@dataclass(frozen=True)
class LookConfig:
    """How people look: weights over the vocabulary's skin tone bands, hair, garments and fabrics."""

    skin_tone_mix: tuple[float, ...] = (1.0,) * SKIN_TONE_BANDS
    hair_style_mix: dict[str, float] = field(default_factory=lambda: {"short": 1.0})
    hair_color_mix: dict[str, float] = field(default_factory=lambda: {"brown": 1.0})
    top_mix: dict[str, float] = field(default_factory=lambda: {"short_sleeve": 1.0})
    bottom_mix: dict[str, float] = field(default_factory=lambda: {"trousers": 1.0})
    feet_mix: dict[str, float] = field(default_factory=lambda: {"shoes": 1.0})
    fabric_mix: dict[str, float] = field(default_factory=lambda: {"solid": 1.0})


def look_config_from_dict(body: dict[str, Any]) -> LookConfig:
    """The look keys of a resolved body: section (the mannequin has none: its defaults, never drawn)."""
    if body.get("name") == "mannequin":
        return LookConfig()
    tones = body["skin_tone_mix"]
    if not isinstance(tones, list | tuple) or len(tones) != SKIN_TONE_BANDS:
        raise ConfigError(f"body.skin_tone_mix must list {SKIN_TONE_BANDS} weights (Monk scale 1..10), got {tones!r}")
    tone_weights = _weights({str(i): w for i, w in enumerate(tones)}, "body.skin_tone_mix", tuple(map(str, range(10))))
    return LookConfig(
        skin_tone_mix=tuple(tone_weights.get(str(i), 0.0) for i in range(SKIN_TONE_BANDS)),
        hair_style_mix=_weights(body["hair_style_mix"], "body.hair_style_mix", HAIR_STYLES),
        hair_color_mix=_weights(body["hair_color_mix"], "body.hair_color_mix", HAIR_COLORS),
        top_mix=_weights(body["top_mix"], "body.top_mix", TOPS),
        bottom_mix=_weights(body["bottom_mix"], "body.bottom_mix", BOTTOMS),
        feet_mix=_weights(body["feet_mix"], "body.feet_mix", FEET),
        fabric_mix=_weights(body["fabric_mix"], "body.fabric_mix", FABRICS),
    )
