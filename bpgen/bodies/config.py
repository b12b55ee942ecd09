"""The body model part of the body: section (configs/body/*.yaml): which model, and who it draws (age, sex,
shape). How those people look (skin, hair, clothes) is ``bpgen.appearance.config``'s part of the same section."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bpgen.appearance.vocabulary import AGE_BANDS, SEXES
from bpgen.validate import ConfigError, FloatRange
from bpgen.validate import choice as _choice
from bpgen.validate import range_pair as _range
from bpgen.validate import weights as _weights

BODIES = ("anny", "mannequin")


@dataclass(frozen=True)
class BodyConfig:
    """Which body model, and whom it draws. Mannequin: shape_std/clip only."""

    name: str
    shape_std: float = 1.0
    shape_clip: float = 2.5
    age_years: FloatRange = (4.0, 80.0)
    age_mix: dict[str, float] = field(default_factory=lambda: {"adult": 1.0})
    sex_mix: dict[str, float] = field(default_factory=lambda: {"female": 1.0, "male": 1.0})


def body_config_from_dict(body: dict[str, Any]) -> BodyConfig:
    """The model keys of a resolved body: section."""
    name = _choice(body.get("name"), "body", BODIES)
    if name == "mannequin":
        return BodyConfig(name, shape_std=float(body["shape_std"]), shape_clip=float(body["shape_clip"]))
    low, high = _range(body["age_years"], "body.age_years", float, 0.0)
    if high > 90.0:
        raise ConfigError(f"body.age_years={body['age_years']!r} goes past 90 years, anny's oldest; lower it")
    age_mix = _weights(body["age_mix"], "body.age_mix", tuple(AGE_BANDS))
    if not any(w > 0 and AGE_BANDS[band][0] <= high and AGE_BANDS[band][1] > low for band, w in age_mix.items()):
        raise ConfigError(
            f"body.age_mix gives no weight to an age band inside body.age_years={[low, high]}; fix either"
        )
    return BodyConfig(
        name, age_years=(low, high), age_mix=age_mix, sex_mix=_weights(body["sex_mix"], "body.sex_mix", SEXES)
    )
