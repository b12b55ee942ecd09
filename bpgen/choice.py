"""Weighted random choice over named options (numpy only)."""

from __future__ import annotations

import numpy as np


def choose(rng: np.random.Generator, weights: dict[str, float]) -> str:
    """One key of ``weights`` drawn in proportion to its (non-negative) weight."""
    names = sorted(weights)
    p = np.array([max(float(weights[n]), 0.0) for n in names])
    if p.sum() <= 0:
        raise ValueError(f"all weights are zero in {weights}; give at least one a positive weight")
    return names[int(rng.choice(len(names), p=p / p.sum()))]
