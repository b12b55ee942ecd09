"""Framing like photos of people (numpy only): where the photographer stands and how large the person is.

A frame frames one person (the subject) at a drawn size, or, for a share of group shots, fits everyone in view.
The subject's size is the larger of its box's height over the image height and its box's width over the image
width (a standing person: its height fraction; a lying one: its length), drawn log-normally (median and
log-sigma, ``camera.person_fraction``) and clipped to ``camera.person_fraction_range``; the camera distance is
then solved so the projected body has that size, from a camera at a photographer's height (eye level, a share
crouching, mounted cameras high) and a drawn azimuth. The subject sits off the frame's centre by a drawn share of
the room the frame leaves.

How the default relates to COCO: COCO sorts people by segmentation area (small < 32^2, medium < 96^2 pixels,
large above; keypoints are evaluated on medium and large only). A standing person's mask covers about 0.45 of
its box, h x 0.4 h, so in a 640x480 frame a height fraction of 0.157 is about 32^2 px and 0.47 about 96^2. The
default, median 0.42 and log-sigma 0.5 clipped to [0.12, 1.0], gives 2% small, 57% medium and 41% large subjects
(``size_class_shares``): nearly all in the sizes COCO evaluates keypoints on; people other than the subject, and
group shots, add smaller ones.
"""

from __future__ import annotations

import numpy as np

from bpgen.choice import between
from bpgen.geometry.camera import Camera, fx_from_fov, look_at
from bpgen.scene.config import CameraConfig

MAX_ELEVATION = np.radians(80.0)


def direction_from(azimuth: float, elevation: float) -> np.ndarray:
    """Unit vector at ``azimuth`` around +Z and ``elevation`` above the XY plane (radians)."""
    return np.array([np.cos(azimuth) * np.cos(elevation), np.sin(azimuth) * np.cos(elevation), np.sin(elevation)])


def size_fraction(camera: Camera, points: np.ndarray) -> float:
    """The larger of the projected box's height / image height and width / image width (inf: behind the camera)."""
    uv, z = camera.project(points)
    if (z <= 0.05).any():
        return float("inf")
    span = uv.max(axis=0) - uv.min(axis=0)
    return float(max(span[1] / camera.height, span[0] / camera.width))


def draw_fraction(rng: np.random.Generator, config: CameraConfig) -> float:
    """The subject's size in the frame (one draw)."""
    median, sigma = config.person_fraction
    value = median * np.exp(sigma * rng.normal())
    return float(np.clip(value, *config.person_fraction_range))


def size_class_shares(config: CameraConfig, width: int = 640, height: int = 480, draws: int = 20000) -> dict:
    """Shares of COCO's small / medium / large of standing subjects drawn at ``config``'s sizes (mask area
    ~0.18 h^2 for a person of box height h)."""
    rng = np.random.default_rng(0)
    fractions = np.array([draw_fraction(rng, config) for _ in range(draws)])
    area = 0.18 * (np.minimum(fractions, 1.0) * height) ** 2
    return {
        "small": float((area < 32**2).mean()),
        "medium": float(((area >= 32**2) & (area < 96**2)).mean()),
        "large": float((area >= 96**2).mean()),
    }


def camera_height(rng: np.random.Generator, config: CameraConfig, elevated: bool) -> float:
    """A photographer's camera height above the floor: eye level, a share crouching, mounted cameras high.
    Always two draws."""
    u_low, u_height = rng.uniform(size=2)
    if elevated:
        bounds = config.elevated_height_m
    elif u_low < config.low_share:
        bounds = config.low_height_m
    else:
        bounds = config.height_m
    return between(u_height, bounds)


def _placed(target: np.ndarray, distance: float, azimuth: float, camera_z: float) -> np.ndarray:
    """The camera position ``distance`` from ``target`` at ``azimuth``, at height ``camera_z`` when reachable."""
    elevation = np.arcsin(np.clip((camera_z - target[2]) / distance, -1.0, 1.0))
    elevation = float(np.clip(elevation, -MAX_ELEVATION, MAX_ELEVATION))
    return target + distance * direction_from(azimuth, elevation)


def frame_subject(
    points: np.ndarray,
    fov_deg: float,
    width: int,
    height: int,
    camera_z: float,
    azimuth: float,
    fraction: float,
    roll_deg: float,
    offset: tuple[float, float],
) -> Camera:
    """A camera at height ``camera_z`` and ``azimuth`` from the subject's ``points`` whose distance makes them
    ``fraction`` of the frame (``size_fraction``), the subject shifted by ``offset`` (each in [-1, 1]) times the
    room left on either side."""
    fx = fx_from_fov(fov_deg, width)
    target = (points.min(axis=0) + points.max(axis=0)) / 2.0

    def camera_at(distance: float, aim: np.ndarray) -> Camera:
        return Camera(width, height, fx, look_at(_placed(target, distance, azimuth, camera_z), aim, roll_deg))

    near, far = 0.25, 200.0  # bisection on log distance: the size falls as the camera backs away
    for _ in range(24):
        middle = float(np.sqrt(near * far))
        if size_fraction(camera_at(middle, target), points) > fraction:
            near = middle
        else:
            far = middle
    distance = far
    centred = camera_at(distance, target)
    room = max(0.0, 1.0 - fraction) / 2.0
    right, up = centred.cam2world[:3, 0], centred.cam2world[:3, 1]
    half_width = distance * width / (2.0 * fx)
    half_height = distance * height / (2.0 * fx)
    aim = target - right * offset[0] * room * half_width * 2.0 - up * offset[1] * room * half_height * 2.0
    return camera_at(distance, aim)
