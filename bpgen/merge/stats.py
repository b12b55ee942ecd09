"""Dataset statistics as fixed-bin histograms: bounded memory at any size, summed across shards, plotted.

Who the annotated people are (body model, age, sex, height, BMI, skin tone, hair, garments) is read from the COCO
annotations that the merge keeps: numbers go into fixed bins (values outside the edges count in the first or last
bin), names into counts over a fixed vocabulary plus "other" (a name outside it) and "unknown" (the annotation
lacks the field: mannequins have only body_model, shards rendered before these labels have none).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from bpgen.appearance.vocabulary import BOTTOMS, FEET, HAIR_COLORS, HAIR_STYLES, SEXES, SKIN_TONE_BANDS, TOPS
from bpgen.geometry.keypoints import COCO_KEYPOINTS
from bpgen.poses.everyday import TEMPLATES
from bpgen.poses.sampler import STRATEGIES

MAX_PERSONS = 20  # persons-per-image histogram: 0 .. 19, and 20 or more in the last bin
UNIT_BINS = np.linspace(0.0, 1.0, 21)
AREA_BINS = np.concatenate([[0.0], np.logspace(0, 7, 57)])  # px, log-spaced from 1 to 10^7

# Person attributes of the annotations: numbers (bin edges, axis label) and names (vocabulary).
AGE_BINS = np.arange(0.0, 91.0, 5.0)  # years, 5-year bins from 0 to 90
HEIGHT_BINS = np.round(np.arange(0.4, 2.2001, 0.05), 2)  # metres
BMI_BINS = np.arange(10.0, 51.0, 1.0)  # kg/m^2
SKIN_TONE_BINS = np.linspace(0.0, 1.0, SKIN_TONE_BANDS + 1)  # one bin per Monk Skin Tone band, lightest first
PERSON_NUMBERS: dict[str, tuple[np.ndarray, str]] = {
    "age_years": (AGE_BINS, "age (years)"),
    "height_m": (HEIGHT_BINS, "height (m)"),
    "bmi": (BMI_BINS, "body mass index (kg/m²)"),
    "skin_tone": (SKIN_TONE_BINS, "skin tone (Monk Skin Tone band, 1 lightest)"),
}
BODY_MODELS = ("anny", "mannequin")
GARMENTS = TOPS + BOTTOMS + tuple(name for name in FEET if name != "barefoot")
PERSON_NAMES: dict[str, tuple[str, ...]] = {
    "body_model": BODY_MODELS,
    "sex": SEXES,
    "hair_style": HAIR_STYLES,
    "hair_color": HAIR_COLORS,
    "garments": GARMENTS,  # a list per annotation: one count per garment worn, "unknown" once if there is no list
    "pose_strategy": STRATEGIES,
    "pose_template": TEMPLATES,  # everyday poses only: "unknown" counts the people of the other strategies
}
PERSON_KEYS = (*PERSON_NUMBERS, *PERSON_NAMES)
_PERSON_ROW = itemgetter(*PERSON_KEYS)
OTHER, UNKNOWN = "other", "unknown"  # the last two counts of every name histogram
_NUMBER_TYPES = (float, int)  # value by value, when a column holds more than numbers and None
_NAME_INDEX = {key: {name: i for i, name in enumerate(names)} for key, names in PERSON_NAMES.items()}


def _histogram(values: Any, bins: np.ndarray) -> np.ndarray:
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
    height_fraction: np.ndarray = field(default_factory=lambda: np.zeros(len(UNIT_BINS) - 1, np.int64))
    extremeness: np.ndarray = field(default_factory=lambda: np.zeros(len(UNIT_BINS) - 1, np.int64))
    # per annotation kept: the bins of PERSON_NUMBERS then an unknown count; PERSON_NAMES counts then other, unknown
    age_years: np.ndarray = field(default_factory=lambda: np.zeros(len(AGE_BINS), np.int64))
    height_m: np.ndarray = field(default_factory=lambda: np.zeros(len(HEIGHT_BINS), np.int64))
    bmi: np.ndarray = field(default_factory=lambda: np.zeros(len(BMI_BINS), np.int64))
    skin_tone: np.ndarray = field(default_factory=lambda: np.zeros(len(SKIN_TONE_BINS), np.int64))
    body_model: np.ndarray = field(default_factory=lambda: np.zeros(len(BODY_MODELS) + 2, np.int64))
    sex: np.ndarray = field(default_factory=lambda: np.zeros(len(SEXES) + 2, np.int64))
    hair_style: np.ndarray = field(default_factory=lambda: np.zeros(len(HAIR_STYLES) + 2, np.int64))
    hair_color: np.ndarray = field(default_factory=lambda: np.zeros(len(HAIR_COLORS) + 2, np.int64))
    garments: np.ndarray = field(default_factory=lambda: np.zeros(len(GARMENTS) + 2, np.int64))
    pose_strategy: np.ndarray = field(default_factory=lambda: np.zeros(len(STRATEGIES) + 2, np.int64))
    pose_template: np.ndarray = field(default_factory=lambda: np.zeros(len(TEMPLATES) + 2, np.int64))

    def add_image(
        self, annotations: list[dict[str, Any]], persons: list[dict[str, Any]], image_height: int | None = None
    ) -> None:
        """One image (tests, small inputs); a shard goes through ``StatsBuilder`` (vectorised)."""
        builder = StatsBuilder()
        builder.add_image(annotations, persons, image_height)
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
            "height_fraction": {"bin_edges": unit, "counts": self.height_fraction.tolist(), "last_bin": ">=0.95"},
            "extremeness": {"bin_edges": unit, "counts": self.extremeness.tolist()},
        } | self.persons_dict()

    def persons_dict(self) -> dict[str, Any]:
        """The person-attribute histograms of stats.json: numbers as bin_edges, counts and unknown; names as
        {name: count} with "other" and "unknown" last."""
        numbers: dict[str, Any] = {
            key: {
                "bin_edges": [round(float(b), 3) for b in bins],
                "counts": getattr(self, key)[:-1].tolist(),
                UNKNOWN: int(getattr(self, key)[-1]),
            }
            for key, (bins, _) in PERSON_NUMBERS.items()
        }
        names = {
            key: dict(zip((*vocabulary, OTHER, UNKNOWN), getattr(self, key).tolist(), strict=True))
            for key, vocabulary in PERSON_NAMES.items()
        }
        return numbers | names


class StatsBuilder:
    """Collects one shard's raw values, then histograms them in one go (``build``)."""

    def __init__(self) -> None:
        self.annotations_per_image: list[int] = []
        self.persons_per_image: list[int] = []
        self.areas: list[float] = []
        self.visibility: list[list[int]] = []
        self.visib_fract: list[float] = []
        self.truncation: list[float] = []
        self.height_fractions: list[float] = []
        self.extremeness: list[float] = []
        self.people: list[tuple[Any, ...]] = []  # raw PERSON_KEYS values of each annotation, checked in ``build``

    def add_person(self, annotation: dict[str, Any]) -> None:
        """Who the annotated person is: the flat attribute fields of its COCO annotation (None where missing)."""
        try:
            self.people.append(_PERSON_ROW(annotation))  # one C call: merge calls this for every annotation
        except KeyError:  # a mannequin, or a shard from before these labels
            self.people.append(tuple(map(annotation.get, PERSON_KEYS)))

    def add_image(
        self, annotations: list[dict[str, Any]], persons: list[dict[str, Any]], image_height: int | None = None
    ) -> None:
        """An image's kept annotations and all its persons; with ``image_height``, the annotations' box heights
        as a fraction of it (the framing's person size)."""
        self.annotations_per_image.append(len(annotations))
        self.persons_per_image.append(len(persons))
        for annotation in annotations:
            self.areas.append(annotation["area"])
            if image_height:
                self.height_fractions.append(annotation["bbox"][3] / image_height)
            self.visibility.append(annotation["keypoints"][2::3])
            self.add_person(annotation)
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
        stats.height_fraction = _histogram(self.height_fractions, UNIT_BINS)
        stats.extremeness = _histogram(self.extremeness, UNIT_BINS)
        columns = dict(zip(PERSON_KEYS, zip(*self.people, strict=True), strict=True)) if self.people else {}
        for key, (bins, _) in PERSON_NUMBERS.items():
            values = _numbers(columns.get(key, ()))
            known = np.isfinite(values)
            setattr(stats, key, np.append(_histogram(values[known], bins), np.count_nonzero(~known)))
        for key in PERSON_NAMES:
            column: Sequence[Any] = columns.get(key, ())
            if key == "garments":  # each worn garment counts; a missing list is one unknown
                column = [g for worn in column for g in (worn if type(worn) is list else (worn,))]
            setattr(stats, key, _name_counts(column, key))
        return stats


def _numbers(raw: Sequence[Any]) -> np.ndarray:
    """Floats, NaN where a value is missing (None) or, when numpy cannot convert them all, is not a number."""
    try:
        values = np.asarray(raw, dtype=float)  # None -> NaN (the common case: numbers and None only)
        if values.ndim == 1:
            return values
    except (TypeError, ValueError):
        pass
    return np.asarray([v if type(v) in _NUMBER_TYPES else math.nan for v in raw], dtype=float)


def _name_counts(raw: Sequence[Any], key: str) -> np.ndarray:
    """Counts over PERSON_NAMES[key], then "other" (a name outside it, or not a name) and "unknown" (None)."""
    index = _NAME_INDEX[key]
    other = len(index)
    counts = np.zeros(other + 2, np.int64)
    try:
        tally = Counter(raw)
    except TypeError:  # unhashable values (lists, dicts): other
        tally = Counter(v if v is None or isinstance(v, str) else other for v in raw)
    for value, count in tally.items():
        counts[other + 1 if value is None else index.get(value, other) if isinstance(value, str) else other] += count
    return counts


def write_plots(stats: DatasetStats, per_shard: list[dict[str, Any]], directory: Path) -> list[Path]:
    """One PNG per statistic (matplotlib, Agg backend); returns the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    plots = _Plots(plt, directory)
    _plot_image_counts(plots, stats)
    _plot_keypoint_visibility(plots, stats)
    _plot_person_fractions(plots, stats)
    _plot_person_numbers(plots, stats)
    _plot_person_names(plots, stats)
    _plot_per_shard(plots, per_shard)
    return plots.written


class _Plots:
    """Figures of one directory, saved with fixed margins (tight_layout costs ~0.15 s each) in the order drawn."""

    def __init__(self, plt: Any, directory: Path) -> None:
        self.plt, self.directory = plt, directory
        self.written: list[Path] = []

    def figure(self, *shape: int, figsize: tuple[float, float] = (6, 3.5), **options: Any) -> Any:
        return self.plt.subplots(*shape, figsize=figsize, **options)

    def save(self, name: str, figure: Any, bottom: float = 0.15) -> None:
        path = self.directory / f"{name}.png"
        figure.subplots_adjust(left=0.15, right=0.97, top=0.95, bottom=bottom)
        figure.savefig(path, dpi=100, metadata={"Software": None})
        self.plt.close(figure)
        self.written.append(path)


def _plot_image_counts(plots: _Plots, stats: DatasetStats) -> None:
    """Persons per image (annotated, in the scene) and the visible mask areas."""
    for name, counts, xlabel in (
        ("annotations_per_image", stats.annotations_per_image, "annotated (visible) persons per image"),
        ("persons_per_image", stats.persons_per_image, "persons in the scene per image"),
    ):
        fig, ax = plots.figure()
        ax.bar(np.arange(len(counts)), counts)
        ax.set(xlabel=xlabel + f" (last bar: >= {MAX_PERSONS})", ylabel="images")
        plots.save(name, fig)
    fig, ax = plots.figure()
    ax.stairs(stats.mask_area, np.concatenate([[0.5], AREA_BINS[1:]]), fill=True)  # log axis: 0 drawn at 0.5
    ax.set(xscale="log", xlabel="visible mask area (px)", ylabel="annotations")
    plots.save("mask_area", fig)


def _plot_keypoint_visibility(plots: _Plots, stats: DatasetStats) -> None:
    fig, ax = plots.figure(figsize=(8, 3.5))
    shares = stats.keypoint_visibility / np.maximum(stats.keypoint_visibility.sum(axis=1, keepdims=True), 1)
    bottom = np.zeros(17)
    for v, label in enumerate(("outside (v=0)", "occluded (v=1)", "visible (v=2)")):
        ax.bar(range(17), shares[:, v], bottom=bottom, label=label)
        bottom += shares[:, v]
    ax.set_xticks(range(17), COCO_KEYPOINTS, rotation=60, ha="right", fontsize=7)
    ax.set(ylabel="share of annotations")
    ax.legend(fontsize=7)
    plots.save("keypoint_visibility", fig, bottom=0.3)


def _plot_person_fractions(plots: _Plots, stats: DatasetStats) -> None:
    """Visible and truncated fraction, height fraction (annotated persons), pose extremeness."""
    for name, counts, xlabel in (
        ("visib_fract", stats.visib_fract, "visible fraction of a person (1 - occlusion)"),
        ("truncation", stats.truncation, "truncated fraction (outside the image)"),
        ("height_fraction", stats.height_fraction, "box height / image height of annotated persons (last: >= 0.95)"),
        ("extremeness", stats.extremeness, "pose extremeness"),
    ):
        fig, ax = plots.figure()
        ax.stairs(counts, UNIT_BINS, fill=True)
        ax.set(xlabel=xlabel, ylabel="persons")
        plots.save(name, fig)


def _plot_person_numbers(plots: _Plots, stats: DatasetStats) -> None:
    """Age, height, BMI (histograms) and skin tone (one bar per Monk band, in its colour)."""
    for key, (bins, xlabel) in PERSON_NUMBERS.items():
        counts = getattr(stats, key)
        fig, ax = plots.figure()
        if key == "skin_tone":
            from bpgen.colour import MONK_SKIN_TONES_SRGB

            bands = np.arange(1, len(bins))
            ax.bar(bands, counts[:-1], width=0.9, color=[f"#{c}" for c in MONK_SKIN_TONES_SRGB], edgecolor="0.3")
            ax.set_xticks(bands)
        else:
            ax.stairs(counts[:-1], bins, fill=True)
        ax.set(xlabel=f"{xlabel}; unknown: {counts[-1]} annotations", ylabel="annotations")
        plots.save(key, fig)


def _plot_person_names(plots: _Plots, stats: DatasetStats) -> None:
    """Body model, sex, hair and garments: a bar per name, then other and unknown."""
    for key, vocabulary in PERSON_NAMES.items():
        counts = getattr(stats, key)
        labels = (*vocabulary, OTHER, UNKNOWN)
        fig, ax = plots.figure(figsize=(max(6.0, 0.16 * len(labels)), 3.5))
        ax.bar(range(len(labels)), counts, color=["C0"] * len(vocabulary) + ["0.55", "0.75"])
        ax.set_xticks(range(len(labels)), labels, rotation=45 if len(labels) < 30 else 90, ha="right", fontsize=8)
        if key == "garments":
            ax.set(xlabel="garments (unknown: annotations without a garment list)", ylabel="garments worn")
        elif key == "pose_template":
            ax.set(
                xlabel="everyday pose template (unknown: other strategies, or shards before templates)",
                ylabel="annotations",
            )
        else:
            ax.set(xlabel=key.replace("_", " "), ylabel="annotations")
        plots.save(key, fig, bottom=0.32 if len(labels) < 30 else 0.5)


def _plot_per_shard(plots: _Plots, per_shard: list[dict[str, Any]]) -> None:
    fig, (top, bottom_ax) = plots.figure(2, 1, figsize=(8, 5), sharex=True)
    shards = [s["shard"] for s in per_shard]
    top.bar(shards, [s["images"] for s in per_shard], label="images")
    top.bar(shards, [s["annotations"] for s in per_shard], alpha=0.5, label="annotations")
    top.legend(fontsize=7)
    top.set(ylabel="count")
    bottom_ax.bar(shards, [s["render_seconds"] for s in per_shard])
    bottom_ax.set(xlabel="shard", ylabel="render seconds")
    plots.save("per_shard", fig)
