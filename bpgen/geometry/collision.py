"""Capsule geometry for cheap collision tests (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Capsules:
    """Capsules with segment end points ``a``, ``b`` [N,3] and radii ``r`` [N]."""

    a: np.ndarray
    b: np.ndarray
    r: np.ndarray

    def transformed(self, rotation: np.ndarray, translation: np.ndarray) -> Capsules:
        return Capsules(self.a @ rotation.T + translation, self.b @ rotation.T + translation, self.r)

    def __len__(self) -> int:
        return len(self.r)


def segment_distances(a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray) -> np.ndarray:
    """Closest distances between every segment a0[i]-a1[i] and every segment b0[j]-b1[j]: [N, M].

    Clamped closest-point parameters as in Ericson, Real-Time Collision Detection, 5.1.9.
    """
    d1 = (a1 - a0)[:, None, :]
    d2 = (b1 - b0)[None, :, :]
    r = a0[:, None, :] - b0[None, :, :]
    a = np.sum(d1 * d1, axis=-1)
    e = np.sum(d2 * d2, axis=-1)
    f = np.sum(d2 * r, axis=-1)
    c = np.sum(d1 * r, axis=-1)
    b = np.sum(d1 * d2, axis=-1)
    eps = 1e-12
    denom = a * e - b * b
    s = np.where(denom > eps, np.clip((b * f - c * e) / np.maximum(denom, eps), 0.0, 1.0), 0.0)
    t = (b * s + f) / np.maximum(e, eps)
    # t outside [0,1]: clamp it and recompute s
    s = np.where(t < 0.0, np.clip(-c / np.maximum(a, eps), 0.0, 1.0), s)
    s = np.where(t > 1.0, np.clip((b - c) / np.maximum(a, eps), 0.0, 1.0), s)
    t = np.clip(t, 0.0, 1.0)
    p = a0[:, None, :] + d1 * s[..., None]
    q = b0[None, :, :] + d2 * t[..., None]
    return np.linalg.norm(p - q, axis=-1)


def capsule_gaps(first: Capsules, second: Capsules) -> np.ndarray:
    """Surface gaps between every capsule pair [N, M]; negative where they overlap."""
    return segment_distances(first.a, first.b, second.a, second.b) - (first.r[:, None] + second.r[None, :])


def self_collisions(capsules: Capsules, ignored_pairs: np.ndarray, shrink: float = 0.85) -> list[tuple[int, int]]:
    """Pairs of a body's own capsules that overlap, skipping ``ignored_pairs`` ([N,N] bool, e.g. neighbours).

    ``shrink`` scales the radii: soft tissue compresses, and the capsules over-approximate the limbs.
    """
    shrunk = Capsules(capsules.a, capsules.b, capsules.r * shrink)
    gaps = capsule_gaps(shrunk, shrunk)
    hits = np.argwhere(np.triu(gaps < 0.0, k=1) & ~ignored_pairs)
    return [(int(i), int(j)) for i, j in hits]


def bodies_overlap(first: Capsules, second: Capsules, margin: float = 0.02) -> bool:
    """Whether two bodies' capsules come closer than ``margin`` metres."""
    return bool(np.any(capsule_gaps(first, second) < margin))


def spheres_hit_capsules(centers: np.ndarray, radii: np.ndarray, capsules: Capsules, margin: float) -> bool:
    """Whether any sphere comes closer than ``margin`` to any capsule."""
    d = segment_distances(centers, centers, capsules.a, capsules.b)
    return bool(np.any(d - radii[:, None] - capsules.r[None, :] < margin))
