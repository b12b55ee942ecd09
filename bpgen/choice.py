"""Random choices from explicit draws (numpy only): a weighted choice over named options, a point in a range."""

from __future__ import annotations

import numpy as np


def between(u: float, bounds: tuple[float, float]) -> float:
    """The point a uniform draw ``u`` in [0, 1) picks in ``bounds`` (min, max): one draw, whatever the bounds."""
    return float(bounds[0] + (bounds[1] - bounds[0]) * u)


def choose(rng: np.random.Generator, weights: dict[str, float]) -> str:
    """One key of ``weights`` drawn in proportion to its (non-negative) weight."""
    names = sorted(weights)
    p = np.array([max(float(weights[n]), 0.0) for n in names])
    if p.sum() <= 0:
        raise ValueError(f"all weights are zero in {weights}; give at least one a positive weight")
    return names[int(rng.choice(len(names), p=p / p.sum()))]
