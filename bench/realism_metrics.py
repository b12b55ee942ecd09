"""Pure parts of the realism benchmark (numpy only: imported by the project venv and the realism venv).

BlazePose landmarks -> COCO-17, the crop around a person's box and the way back to image pixels, the
"found" test, COCO's OKS, mask IoU, the person-height and extremeness bands, per-group summaries with 95%
confidence intervals (a bootstrap over scenes: the people of one scene are not independent), aggregation of
per-person records and the render-cost summary.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

# COCO-17 keypoint order: nose, eyes (l, r), ears (l, r), shoulders, elbows, wrists, hips, knees, ankles.
COCO_SIGMAS = (
    np.array([0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89])
    / 10.0
)
# BlazePose's 33 landmarks, index per COCO keypoint (person's left = COCO left in both).
BLAZEPOSE_TO_COCO = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)


def blazepose_to_coco(landmarks: np.ndarray) -> np.ndarray:
    """(33, C) BlazePose landmarks -> (17, C) in COCO order."""
    landmarks = np.asarray(landmarks, dtype=float)
    if landmarks.shape[0] != 33:
        raise ValueError(f"BlazePose gives 33 landmarks, got {landmarks.shape[0]}")
    return landmarks[list(BLAZEPOSE_TO_COCO)]


def crop_box(
    bbox: Sequence[float], width: int, height: int, enlarge: float = 1.25, min_side: float = 16.0
) -> tuple[int, int, int, int]:
    """Square box around a COCO ``[x, y, w, h]``: side = max(w, h) * enlarge (at least ``min_side``), centred
    on the box, clipped to the image. Returns integer pixel bounds ``(x0, y0, x1, y1)``, x1/y1 exclusive."""
    x, y, w, h = (float(v) for v in bbox)
    side = max(w, h, 1.0) * enlarge
    side = max(side, min_side)
    cx, cy = x + w / 2.0, y + h / 2.0
    x0 = max(0, int(math.floor(cx - side / 2.0)))
    y0 = max(0, int(math.floor(cy - side / 2.0)))
    x1 = min(int(width), int(math.ceil(cx + side / 2.0)))
    y1 = min(int(height), int(math.ceil(cy + side / 2.0)))
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box {bbox} lies outside the {width}x{height} image")
    return x0, y0, x1, y1


def to_image_coordinates(normalized_xy: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Landmarks normalised to the crop (MediaPipe's x, y in [0, 1] of the crop's width and height) -> pixels of
    the full image. The crop ``box`` is ``(x0, y0, x1, y1)`` as ``crop_box`` returns it."""
    xy = np.asarray(normalized_xy, dtype=float)[..., :2]
    x0, y0, x1, y1 = box
    return np.stack([x0 + xy[..., 0] * (x1 - x0), y0 + xy[..., 1] * (y1 - y0)], axis=-1)


def centroid_inside(points_xy: np.ndarray, bbox: Sequence[float]) -> bool:
    """Whether the mean of ``points_xy`` (N, 2) lies inside the COCO box ``[x, y, w, h]`` (edges included)."""
    cx, cy = np.asarray(points_xy, dtype=float)[:, :2].mean(axis=0)
    x, y, w, h = (float(v) for v in bbox)
    return bool(x <= cx <= x + w and y <= cy <= y + h)


def oks(predicted_xy: np.ndarray, keypoints: Sequence[float], area: float) -> float | None:
    """COCO's object keypoint similarity of one prediction against one ground truth.

    ``predicted_xy``: (17, 2) pixels; ``keypoints``: COCO's flat [x, y, v] * 17; ``area``: the annotation's area
    (scale s**2). Only keypoints with v > 0 count; ``None`` when the person has none. Same formula as
    pycocotools' ``computeOks``: mean over labelled points of exp(-d**2 / (2 * s**2 * (2 * sigma)**2)).
    """
    gt = np.asarray(keypoints, dtype=float)[:51].reshape(17, 3)  # COCO-17 first (extra points, if any, ignored)
    labelled = gt[:, 2] > 0
    if not labelled.any():
        return None
    pred = np.asarray(predicted_xy, dtype=float).reshape(17, -1)[:, :2]
    d2 = ((pred - gt[:, :2]) ** 2).sum(axis=1)
    variances = (2.0 * COCO_SIGMAS) ** 2
    e = d2 / variances / (float(area) + np.spacing(1)) / 2.0
    return float(np.exp(-e[labelled]).mean())


def mask_iou(a: np.ndarray, b: np.ndarray) -> float | None:
    """Intersection over union of two boolean masks of one shape; None when both are empty."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"masks differ in shape: {a.shape} vs {b.shape}")
    union = int(np.count_nonzero(a | b))
    return round(int(np.count_nonzero(a & b)) / union, 4) if union else None


HEIGHT_BANDS = ((0.0, 96.0, "<96 px"), (96.0, 192.0, "96-192 px"), (192.0, math.inf, ">=192 px"))  # at 640x480
EXTREMENESS_BANDS = ((0.0, 0.15, "0-0.15"), (0.15, 0.30, "0.15-0.30"), (0.30, 0.45, "0.30-0.45"),
                     (0.45, 1.01, "0.45-1"))  # fmt: skip


def band(value: float | None, bands: Sequence[tuple[float, float, str]]) -> str:
    """The label of the band [low, high) holding ``value`` ("unknown" for None)."""
    if value is None:
        return "unknown"
    return next((label for low, high, label in bands if low <= value < high), bands[-1][2])


METRICS = ("found_share", "mean_oks_found", "oks50_share", "mean_seg_iou")


def _metric_values(records: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """The four per-group numbers: found share; mean OKS of found people with labelled keypoints; share of people
    with labelled keypoints that BlazePose found with OKS >= 0.5; mean segmentation IoU of found people."""
    found = [bool(r["found"]) for r in records]
    oks_found = [float(r["oks"]) for r in records if r["found"] and r.get("oks") is not None]
    labelled = [r for r in records if r.get("oks") is not None]
    iou = [float(r["seg_iou"]) for r in records if r["found"] and r.get("seg_iou") is not None]
    return {
        "found_share": float(np.mean(found)) if found else None,
        "mean_oks_found": float(np.mean(oks_found)) if oks_found else None,
        "oks50_share": float(np.mean([bool(r["found"]) and r["oks"] >= 0.5 for r in labelled])) if labelled else None,
        "mean_seg_iou": float(np.mean(iou)) if iou else None,
    }


def summarize(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """People, found share, mean OKS over found people with labelled keypoints, mean OKS over all people with
    labelled keypoints counting a miss as 0, the OKS >= 0.5 share and the mean segmentation IoU."""
    records = list(records)
    values = {k: None if v is None else round(v, 4) for k, v in _metric_values(records).items()}
    oks_all = [float(r["oks"]) if r["found"] else 0.0 for r in records if r.get("oks") is not None]
    return {
        "people": len(records),
        "found": sum(bool(r["found"]) for r in records),
        "found_share": values["found_share"],
        "oks_people": sum(1 for r in records if r["found"] and r.get("oks") is not None),
        "mean_oks_found": values["mean_oks_found"],
        "mean_oks_all": round(float(np.mean(oks_all)), 4) if oks_all else None,
        "oks50_share": values["oks50_share"],
        "mean_seg_iou": values["mean_seg_iou"],
    }


def with_intervals(
    records: Sequence[dict[str, Any]],
    cluster: Callable[[dict[str, Any]], Any],
    rng: np.random.Generator,
    resamples: int = 1000,
    min_clusters: int = 5,
) -> dict[str, Any]:
    """``summarize`` plus a 95% interval per metric (``<metric>_ci`` = [low, high]): the percentile bootstrap
    over clusters (``cluster(record)``, e.g. the scene: its people share a world, light and camera), drawn with
    ``rng``; also ``clusters``, their count. With fewer than ``min_clusters`` clusters there is no interval
    (None): a bootstrap of one or two scenes would claim a certainty it does not have."""
    summary = summarize(records)
    groups: dict[Any, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(cluster(record), []).append(record)
    clusters = list(groups.values())
    summary["clusters"] = len(clusters)
    draws: dict[str, list[float]] = {m: [] for m in METRICS}
    if clusters:
        for _ in range(resamples):
            picked = rng.integers(0, len(clusters), size=len(clusters))
            sample = [r for i in picked for r in clusters[i]]
            for metric, value in _metric_values(sample).items():
                if value is not None:
                    draws[metric].append(value)
    for metric in METRICS:
        values = draws[metric]
        summary[f"{metric}_ci"] = (
            [round(float(np.percentile(values, 2.5)), 4), round(float(np.percentile(values, 97.5)), 4)]
            if len(values) >= resamples // 2 and summary[metric] is not None and len(clusters) >= min_clusters
            else None
        )
    return summary


def aggregate(
    records: Sequence[dict[str, Any]], key: Callable[[dict[str, Any]], str | tuple[str, ...]]
) -> dict[Any, dict[str, Any]]:
    """``summarize`` per group, groups in sorted order."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    return {group: summarize(groups[group]) for group in sorted(groups)}


def cost_summary(dones: Sequence[dict[str, Any]], reference_frames_per_scene: int = 8) -> dict[str, Any]:
    """Render cost of a body from its shards' DONE.json records (each with ``counts`` and ``seconds``) plus
    ``frames_per_scene`` taken from the shard config. ``build_share`` is scene build / render time as rendered;
    ``build_share_at_reference`` the same with each scene's build set against ``reference_frames_per_scene``
    frames of render (the default), so runs with fewer frames per scene compare with the default setting."""
    images = sum(int(d["counts"]["images"]) for d in dones)
    scenes = sum(int(d["counts"]["scenes"]) for d in dones)
    build = sum(float(d["seconds"]["scene_build"]) for d in dones)
    render = sum(float(d["seconds"]["render"]) for d in dones)
    labels = sum(float(d["seconds"]["labels_and_writing"]) for d in dones)
    if not images or not scenes or render <= 0:
        raise ValueError("no rendered images to summarise")
    build_per_scene = build / scenes
    render_per_image = render / images
    return {
        "shards": len(dones),
        "images": images,
        "scenes": scenes,
        "scene_build_s": round(build, 2),
        "render_s": round(render, 2),
        "labels_and_writing_s": round(labels, 2),
        "s_per_image": round((build + render) / images, 3),
        "s_per_image_with_labels": round((build + render + labels) / images, 3),
        "build_per_scene_s": round(build_per_scene, 3),
        "render_per_image_s": round(render_per_image, 3),
        "build_share": round(build / render, 4),
        "build_share_at_reference": round(build_per_scene / (reference_frames_per_scene * render_per_image), 4),
        "reference_frames_per_scene": reference_frames_per_scene,
    }


def _fmt(value: Any, percent: bool = False) -> str:
    if value is None:
        return "-"
    if percent:
        return f"{100 * value:.0f}%"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def comparison_table(title: str, groups: dict[str, dict[str, dict[str, Any]]], bodies: Sequence[str]) -> str:
    """Markdown table: one row per group (mode, family, ...), per body: people, found share, mean OKS (found).

    ``groups[group][body]`` is a ``summarize`` result."""
    head = f"| {title} |" + "".join(f" {b} n | {b} found | {b} OKS |" for b in bodies)
    lines = [head, "|---|" + "---:|" * (3 * len(bodies))]
    for group, per_body in groups.items():
        cells = []
        for body in bodies:
            s = per_body.get(body)
            if s is None:
                cells += ["-", "-", "-"]
            else:
                cells += [str(s["people"]), _fmt(s["found_share"], percent=True), _fmt(s["mean_oks_found"])]
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cost_table(costs: dict[str, dict[str, Any]], reference: str | None = None, label: str = "body") -> str:
    """Markdown table of ``cost_summary`` per body (or arm: ``label``); with ``reference`` (one of them) a column
    of s/image ratios."""
    lines = [
        f"| {label} | images | scenes | build s/scene | render s/image | s/image (build+render) | ratio | "
        "build / render | build / render at 8 frames/scene |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for body, c in costs.items():
        ratio = "-"
        if reference in costs:
            ratio = f"{c['s_per_image'] / costs[reference]['s_per_image']:.2f}x"
        lines.append(
            f"| {body} | {c['images']} | {c['scenes']} | {c['build_per_scene_s']:.2f} | "
            f"{c['render_per_image_s']:.2f} | {c['s_per_image']:.2f} | {ratio} | {100 * c['build_share']:.1f}% | "
            f"{100 * c['build_share_at_reference']:.1f}% |"
        )
    return "\n".join(lines)
