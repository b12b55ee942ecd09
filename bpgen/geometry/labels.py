"""Per-person labels from rendered maps (numpy + pycocotools): masks, RLE, boxes, keypoints, visibility.

Inputs are the renderer's instance map (object index per pixel), its depth map (distance along the camera's
optical axis, metres) and the plan's 3D geometry; nothing here imports Blender.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from bpgen.geometry.camera import Camera
from bpgen.geometry.keypoints import COCO_KEYPOINTS, KEYPOINT_DEPTH_TOLERANCE

TOLERANCES = np.array([KEYPOINT_DEPTH_TOLERANCE[n] for n in COCO_KEYPOINTS])
NOT_LABELED, OCCLUDED, VISIBLE = 0, 1, 2


def encode_rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO RLE of a binary mask, with ``counts`` as a str (json-ready)."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def pycocotools_rle(rle: dict[str, Any]) -> dict[str, Any]:
    """An RLE as pycocotools' C functions take it (``counts`` as bytes), from the json form (str) or as it is."""
    counts = rle["counts"]
    return {"size": rle["size"], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def rle_area_bbox(rle: dict[str, Any]) -> tuple[int, list[float]]:
    """Area and [x, y, w, h] box of an RLE (pycocotools' own definitions)."""
    coded = pycocotools_rle(rle)
    return int(mask_utils.area(coded)), [float(v) for v in mask_utils.toBbox(coded)]


def keypoint_visibility(
    uv: np.ndarray,
    depth: np.ndarray,
    instance_map: np.ndarray,
    depth_map: np.ndarray,
    index: int,
    tolerances: np.ndarray = TOLERANCES,
) -> np.ndarray:
    """COCO visibility per keypoint: 2 visible, 1 in the image but hidden, 0 outside the image or behind.

    A keypoint is visible when the pixel it projects to shows this person (``instance_map == index``) and the
    rendered surface there is not nearer than the keypoint by more than its tolerance (joints lie inside
    limbs, so their tolerance is about the limb's radius; face landmarks lie on the surface).
    """
    height, width = instance_map.shape
    flags = np.zeros(len(uv), dtype=np.int64)
    inside = (depth > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < width) & (uv[:, 1] >= 0) & (uv[:, 1] < height)
    cols = np.clip(np.floor(uv[:, 0]).astype(int), 0, width - 1)
    rows = np.clip(np.floor(uv[:, 1]).astype(int), 0, height - 1)
    own = instance_map[rows, cols] == index
    unhidden = depth_map[rows, cols] >= depth - tolerances
    flags[inside] = OCCLUDED
    flags[inside & own & unhidden] = VISIBLE
    return flags


def coco_keypoints(uv: np.ndarray, flags: np.ndarray) -> tuple[list[float], int]:
    """COCO's flat [x1, y1, v1, ...] (x = y = 0 where v = 0) and num_keypoints (v > 0)."""
    out: list[float] = []
    for (x, y), v in zip(uv, flags, strict=True):
        out += [round(float(x), 2), round(float(y), 2), int(v)] if v > 0 else [0.0, 0.0, 0]
    return out, int(np.count_nonzero(flags))


def amodal_mask(
    camera: Camera, vertices: np.ndarray, faces: np.ndarray, pad: float = 0.5, supersample: int = 4
) -> tuple[np.ndarray, float]:
    """The person's full silhouette (ignoring occluders) by rasterising its mesh, and its truncation.

    The mesh is filled at ``supersample`` times the resolution and a pixel is kept when at least half of it
    is covered (cv2 fills every pixel a polygon touches, which would fatten thin limbs). Truncation is the
    share of the silhouette outside the image, measured on a canvas padded by ``pad`` times the image size
    on each side. Triangles crossing the camera plane are skipped.
    """
    uv, z = camera.project(vertices)
    in_front = (z[faces] > 0.01).all(axis=1)
    tris = uv[faces[in_front]]
    pad_x, pad_y = int(camera.width * pad), int(camera.height * pad)
    full_w, full_h = camera.width + 2 * pad_x, camera.height + 2 * pad_y
    canvas = np.zeros((full_h * supersample, full_w * supersample), np.uint8)
    shift = 3  # sub-pixel precision: coordinates in 1/8 of a fine pixel
    # continuous coordinate u lies in fine pixel floor(u * s); cv2 puts integer coordinates at pixel centres
    fine = (tris + np.array([pad_x, pad_y])) * supersample - 0.5
    points = np.round(fine * (1 << shift)).astype(np.int32)
    points = points[np.abs(points).max(axis=(1, 2)) < 2**26]
    if len(points):
        cv2.fillPoly(canvas, list(points), 255, lineType=cv2.LINE_8, shift=shift)  # type: ignore[call-overload]
    coverage = cv2.resize(canvas, (full_w, full_h), interpolation=cv2.INTER_AREA)
    silhouette = coverage >= 128
    inside = silhouette[pad_y : pad_y + camera.height, pad_x : pad_x + camera.width]
    total = int(silhouette.sum())
    truncation = 1.0 - float(inside.sum()) / total if total else 1.0
    return inside, truncation


@dataclass(frozen=True)
class PersonLabel:
    """Everything measured about one person in one frame."""

    visible_rle: dict[str, Any]
    visible_area: int
    bbox: list[float]
    amodal_rle: dict[str, Any]
    amodal_area: int
    amodal_bbox: list[float]
    keypoints: list[float]
    num_keypoints: int
    keypoints_2d: np.ndarray  # [17,2] projected, also where not labelled
    keypoints_cam: np.ndarray  # [17,3] OpenCV camera coordinates
    visib_fract: float
    truncation: float


def label_person(
    camera: Camera,
    vertices: np.ndarray,
    faces: np.ndarray,
    keypoints_world: np.ndarray,
    instance_map: np.ndarray,
    depth_map: np.ndarray,
    index: int,
) -> PersonLabel:
    """Measure one person in one rendered frame."""
    visible = instance_map == index
    visible_rle = encode_rle(visible)
    visible_area, bbox = rle_area_bbox(visible_rle)
    full, truncation = amodal_mask(camera, vertices, faces)
    full |= visible  # rasterisation and the renderer can differ by a pixel at the outline
    amodal_rle = encode_rle(full)
    amodal_area, amodal_bbox = rle_area_bbox(amodal_rle)
    uv, depth = camera.project(keypoints_world)
    flags = keypoint_visibility(uv, depth, instance_map, depth_map, index)
    flat, count = coco_keypoints(uv, flags)
    return PersonLabel(
        visible_rle,
        visible_area,
        bbox,
        amodal_rle,
        amodal_area,
        amodal_bbox,
        flat,
        count,
        uv,
        camera.to_camera(keypoints_world),
        visible_area / amodal_area if amodal_area else 0.0,
        truncation,
    )
