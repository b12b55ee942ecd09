"""The pose: section (configs/pose/*.yaml), validated into ``PoseConfig``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bpgen.poses.everyday import BASE_WEIGHTS, BASES, TEMPLATES
from bpgen.poses.orientation import ORIENTATION_MODES
from bpgen.poses.sampler import STRATEGIES
from bpgen.validate import ConfigError, bounded, flag, probability
from bpgen.validate import positive as _positive
from bpgen.validate import weights as _weights

MAX_POSE_ATTEMPTS = 10_000  # poses drawn per person before giving up


@dataclass(frozen=True)
class PoseConfig:
    """How poses are drawn (mirrors configs/pose/*.yaml)."""

    strategy_mix: dict[str, float]
    orientation_mix: dict[str, float]
    extreme_probability: float = 0.6
    family_jitter_deg: float = 8.0
    max_attempts: int = 100
    self_collision_shrink: float = 0.85
    everyday_bases: dict[str, float] = field(default_factory=lambda: dict(BASE_WEIGHTS))  # strategy "everyday"
    everyday_templates: tuple[str, ...] = ()  # only these "<base>/<gesture>" templates (uniformly); () = all
    per_frame: bool = True  # each frame of a scene poses its people anew (false: one pose per scene)


def pose_config_from_dict(pose: dict[str, Any]) -> PoseConfig:
    extreme_probability = probability(pose["extreme_probability"], "pose.extreme_probability")
    return PoseConfig(
        strategy_mix=_weights(pose["strategy_mix"], "pose.strategy_mix", STRATEGIES),
        orientation_mix=_weights(pose["orientation_mix"], "pose.orientation_mix", ORIENTATION_MODES),
        extreme_probability=extreme_probability,
        family_jitter_deg=float(pose["family_jitter_deg"]),
        max_attempts=bounded(
            _positive(pose["max_attempts"], "pose.max_attempts"), "pose.max_attempts", 1, MAX_POSE_ATTEMPTS
        ),
        self_collision_shrink=float(pose["self_collision_shrink"]),
        everyday_bases=(
            _weights(pose["everyday_bases"], "pose.everyday_bases", tuple(BASES))
            if pose.get("everyday_bases")
            else dict(BASE_WEIGHTS)
        ),
        everyday_templates=_templates(pose.get("everyday_templates")),
        per_frame=flag(pose.get("per_frame", True), "pose.per_frame"),
    )


def _templates(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"pose.everyday_templates={value!r} must be a list of <base>/<gesture> names or null")
    unknown = sorted(set(value) - set(TEMPLATES))
    if unknown:
        raise ConfigError(
            f"pose.everyday_templates: unknown {', '.join(unknown)}; see TEMPLATES in bpgen/poses/everyday.py"
        )
    return tuple(value)
