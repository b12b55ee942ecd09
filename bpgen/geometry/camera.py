"""Pinhole camera geometry (numpy only): intrinsics, look-at poses, projection.

Conventions: world is Z-up, metres. ``cam2world`` matrices use Blender's camera axes (looks along -Z, +Y up);
``world2cam`` matrices and projections use OpenCV's (x right, y down, z forward), as COCO and BOP expect.
Pixel (i, j) covers [i, i+1) x [j, j+1): the principal point of a centred sensor is (W/2, H/2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpgen.geometry.rotations import axis_angle_to_matrix

BLENDER_TO_OPENCV = np.diag([1.0, -1.0, -1.0])
SENSOR_WIDTH_MM = 36.0


@dataclass(frozen=True)
class Camera:
    """One frame's camera: intrinsics and Blender-convention pose."""

    width: int
    height: int
    fx: float
    cam2world: np.ndarray  # [4,4], Blender camera axes

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.width / 2.0], [0.0, self.fx, self.height / 2.0], [0.0, 0.0, 1.0]])

    @property
    def lens_mm(self) -> float:
        """Blender focal length for a 36 mm wide sensor fitted horizontally."""
        return self.fx * SENSOR_WIDTH_MM / self.width

    @property
    def fov_x_deg(self) -> float:
        return float(np.degrees(2.0 * np.arctan(self.width / (2.0 * self.fx))))

    @property
    def world2cam(self) -> np.ndarray:
        """[4,4] world -> OpenCV camera coordinates."""
        rotation = BLENDER_TO_OPENCV @ self.cam2world[:3, :3].T
        out = np.eye(4)
        out[:3, :3] = rotation
        out[:3, 3] = -rotation @ self.cam2world[:3, 3]
        return out

    @property
    def position(self) -> np.ndarray:
        return self.cam2world[:3, 3].copy()

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points [N,3] in OpenCV camera coordinates [N,3]."""
        w2c = self.world2cam
        return np.asarray(points, float) @ w2c[:3, :3].T + w2c[:3, 3]

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates [N,2] and camera depths [N] of world points (depth <= 0: behind the camera)."""
        cam = self.to_camera(points)
        z = cam[:, 2]
        safe = np.where(np.abs(z) < 1e-9, 1e-9, z)
        uv = cam[:, :2] / safe[:, None] * self.fx + np.array([self.width / 2.0, self.height / 2.0])
        return uv, z


def fx_from_fov(fov_x_deg: float, width: int) -> float:
    return width / (2.0 * np.tan(np.radians(fov_x_deg) / 2.0))


def look_at(position: np.ndarray, target: np.ndarray, roll_deg: float = 0.0) -> np.ndarray:
    """Blender-convention cam2world [4,4] at ``position`` looking at ``target``, rolled about the view axis."""
    position = np.asarray(position, float)
    forward = np.asarray(target, float) - position
    forward /= np.linalg.norm(forward)
    world_up = np.array([0.0, 0.0, 1.0]) if abs(forward[2]) < 0.999 else np.array([0.0, 1.0, 0.0])
    right = np.cross(forward, world_up)
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    rotation = np.stack([right, up, -forward], axis=1)  # columns: camera x, y, z axes in the world
    rotation = rotation @ axis_angle_to_matrix(np.array([0.0, 0.0, np.radians(roll_deg)]))[0]
    out = np.eye(4)
    out[:3, :3] = rotation
    out[:3, 3] = position
    return out
