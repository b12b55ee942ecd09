"""Dataset statistics as fixed-bin histograms: bounded memory at any size, summed across shards, plotted."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bpgen.keypoints import COCO_KEYPOINTS

MAX_PERSONS = 20  # persons-per-image histogram: 0 .. 19, and 20 or more in the last bin
UNIT_BINS = np.linspace(0.0, 1.0, 21)
AREA_BINS = np.concatenate([[0.0], np.logspace(0, 7, 57)])  # px, log-spaced from 1 to 10^7


def _histogram(values: list[float], bins: np.ndarray) -> np.ndarray:
    return np.histogram(np.clip(np.asarray(values, dtype=float), bins[0], bins[-1]), bins=bins)[0].astype(np.int64)


def _counts(values: list[int], size: int) -> np.ndarray:
    return np.bincount(np.minimum(np.asarray(values, dtype=np.int64), size - 1), minlength=size)


@dataclass
class DatasetStats:
    """Counts and histograms; ``add`` one shard's, ``merge`` two (order-independent sums)."""

    annotations_per_image: np.ndarray = field(default_factory=lambda: np.zeros(MAX_PERSONS + 1, np.int64))
    persons_per_image: np.ndarray = field(default_factory=lambda: np.zeros(MAX_PERSONS + 1, np.int64))
    mask_area: np.ndarray = field(default_factory=lambda: np.zeros(len(AREA_BINS) - 1, np.int64))
    keypoint_visibility: np.ndarray = field(default_factory=lambda: np.zeros((17, 3), np.int64))
    visib_fract: np.ndarray = field(default_factory=lambda: np.zeros(len(UNIT_BINS) - 1, np.int64))
    truncation: np.ndarray = field(default_factory=lambda: np.zeros(len(UNIT_BINS) - 1, np.int64))
    extremeness: np.ndarray = field(default_factory=lambda: np.zeros(len(UNIT_BINS) - 1, np.int64))

    def add_image(self, annotations: list[dict[str, Any]], persons: list[dict[str, Any]]) -> None:
        """One image (tests, small inputs); a shard goes through ``StatsBuilder`` (vectorised)."""
        builder = StatsBuilder()
        builder.add_image(annotations, persons)
        self.merge(builder.build())

    def merge(self, other: DatasetStats) -> None:
        for name in self.__dataclass_fields__:
            getattr(self, name).__iadd__(getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        unit = [round(float(b), 3) for b in UNIT_BINS]
        return {
            "annotations_per_image": {"counts": self.annotations_per_image.tolist(), "last_bin": f">={MAX_PERSONS}"},
            "persons_per_image": {"counts": self.persons_per_image.tolist(), "last_bin": f">={MAX_PERSONS}"},
            "mask_area_px": {"bin_edges": [round(float(b), 1) for b in AREA_BINS], "counts": self.mask_area.tolist()},
            "keypoint_visibility": {
                name: dict(zip(("v0_outside", "v1_occluded", "v2_visible"), row.tolist(), strict=True))
                for name, row in zip(COCO_KEYPOINTS, self.keypoint_visibility, strict=True)
            },
            "visib_fract": {"bin_edges": unit, "counts": self.visib_fract.tolist()},
            "truncation": {"bin_edges": unit, "counts": self.truncation.tolist()},
            "extremeness": {"bin_edges": unit, "counts": self.extremeness.tolist()},
        }


class StatsBuilder:
    """Collects one shard's raw values, then histograms them in one go (``build``)."""

    def __init__(self) -> None:
        self.annotations_per_image: list[int] = []
        self.persons_per_image: list[int] = []
        self.areas: list[float] = []
        self.visibility: list[list[int]] = []
        self.visib_fract: list[float] = []
        self.truncation: list[float] = []
        self.extremeness: list[float] = []

    def add_image(self, annotations: list[dict[str, Any]], persons: list[dict[str, Any]]) -> None:
        self.annotations_per_image.append(len(annotations))
        self.persons_per_image.append(len(persons))
        for annotation in annotations:
            self.areas.append(annotation["area"])
            self.visibility.append(annotation["keypoints"][2::3])
        for person in persons:
            self.visib_fract.append(person["visib_fract"])
            self.truncation.append(person["truncation"])
            self.extremeness.append(person["extremeness"])

    def build(self) -> DatasetStats:
        stats = DatasetStats()
        stats.annotations_per_image = _counts(self.annotations_per_image, MAX_PERSONS + 1)
        stats.persons_per_image = _counts(self.persons_per_image, MAX_PERSONS + 1)
        stats.mask_area = _histogram(self.areas, AREA_BINS)
        if self.visibility:
            visibility = np.asarray(self.visibility, dtype=np.int64)
            stats.keypoint_visibility = np.stack([(visibility == v).sum(axis=0) for v in range(3)], axis=1)
        stats.visib_fract = _histogram(self.visib_fract, UNIT_BINS)
        stats.truncation = _histogram(self.truncation, UNIT_BINS)
        stats.extremeness = _histogram(self.extremeness, UNIT_BINS)
        return stats


def write_plots(stats: DatasetStats, per_shard: list[dict[str, Any]], directory: Path) -> list[Path]:
    """One PNG per statistic (matplotlib, Agg backend); returns the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    written = []

    def save(name: str, figure: Any, bottom: float = 0.15) -> None:
        path = directory / f"{name}.png"
        figure.subplots_adjust(left=0.15, right=0.97, top=0.95, bottom=bottom)  # fixed: tight_layout costs ~0.15 s each
        figure.savefig(path, dpi=100, metadata={"Software": None})
        plt.close(figure)
        written.append(path)

    for name, counts, xlabel in (
        ("annotations_per_image", stats.annotations_per_image, "annotated (visible) persons per image"),
        ("persons_per_image", stats.persons_per_image, "persons in the scene per image"),
    ):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.bar(np.arange(len(counts)), counts)
        ax.set(xlabel=xlabel + f" (last bar: >= {MAX_PERSONS})", ylabel="images")
        save(name, fig)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.stairs(stats.mask_area, np.concatenate([[0.5], AREA_BINS[1:]]), fill=True)  # log axis: 0 drawn at 0.5
    ax.set(xscale="log", xlabel="visible mask area (px)", ylabel="annotations")
    save("mask_area", fig)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    shares = stats.keypoint_visibility / np.maximum(stats.keypoint_visibility.sum(axis=1, keepdims=True), 1)
    bottom = np.zeros(17)
    for v, label in enumerate(("outside (v=0)", "occluded (v=1)", "visible (v=2)")):
        ax.bar(range(17), shares[:, v], bottom=bottom, label=label)
        bottom += shares[:, v]
    ax.set_xticks(range(17), COCO_KEYPOINTS, rotation=60, ha="right", fontsize=7)
    ax.set(ylabel="share of annotations")
    ax.legend(fontsize=7)
    save("keypoint_visibility", fig, bottom=0.3)
    for name, counts, xlabel in (
        ("visib_fract", stats.visib_fract, "visible fraction of a person (1 - occlusion)"),
        ("truncation", stats.truncation, "truncated fraction (outside the image)"),
        ("extremeness", stats.extremeness, "pose extremeness"),
    ):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.stairs(counts, UNIT_BINS, fill=True)
        ax.set(xlabel=xlabel, ylabel="persons")
        save(name, fig)
    fig, (top, bottom_ax) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    shards = [s["shard"] for s in per_shard]
    top.bar(shards, [s["images"] for s in per_shard], label="images")
    top.bar(shards, [s["annotations"] for s in per_shard], alpha=0.5, label="annotations")
    top.legend(fontsize=7)
    top.set(ylabel="count")
    bottom_ax.bar(shards, [s["render_seconds"] for s in per_shard])
    bottom_ax.set(xlabel="shard", ylabel="render seconds")
    save("per_shard", fig)
    return written
