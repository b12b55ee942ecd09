"""The pose: section (configs/pose/*.yaml), validated into ``PoseConfig``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bpgen.poses.orientation import ORIENTATION_MODES
from bpgen.poses.sampler import STRATEGIES
from bpgen.validate import bounded, probability
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
    )
