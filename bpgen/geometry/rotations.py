"""Small rotation helpers (numpy only): Euler XYZ angles, axis-angle and rotation matrices."""

from __future__ import annotations

import numpy as np

# SMPL-X / mannequin-x frame is Y-up, faces +Z; Blender's world is Z-up. This maps (x, y, z) -> (x, -z, y).
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def rot_x(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def euler_xyz_to_matrix(angles: np.ndarray) -> np.ndarray:
    """Intrinsic X then Y then Z rotation (R = Rx @ Ry @ Rz) for each row of ``angles`` (radians), [N,3,3]."""
    angles = np.atleast_2d(np.asarray(angles, dtype=np.float64))
    c, s = np.cos(angles), np.sin(angles)
    rx, ry, rz = (np.zeros((len(angles), 3, 3)) for _ in range(3))  # filled in place: the solvers call this a lot
    rx[:, 0, 0] = ry[:, 1, 1] = rz[:, 2, 2] = 1.0
    rx[:, 1, 1], rx[:, 1, 2], rx[:, 2, 1], rx[:, 2, 2] = c[:, 0], -s[:, 0], s[:, 0], c[:, 0]
    ry[:, 0, 0], ry[:, 0, 2], ry[:, 2, 0], ry[:, 2, 2] = c[:, 1], s[:, 1], -s[:, 1], c[:, 1]
    rz[:, 0, 0], rz[:, 0, 1], rz[:, 1, 0], rz[:, 1, 1] = c[:, 2], -s[:, 2], s[:, 2], c[:, 2]
    return rx @ ry @ rz


def matrix_to_axis_angle(matrices: np.ndarray) -> np.ndarray:
    """Rotation matrices [N,3,3] to axis-angle vectors [N,3] (angle in [0, pi])."""
    matrices = np.asarray(matrices, dtype=np.float64).reshape(-1, 3, 3)
    out = np.zeros((len(matrices), 3))
    for i, m in enumerate(matrices):
        cos = np.clip((np.trace(m) - 1.0) / 2.0, -1.0, 1.0)
        angle = np.arccos(cos)
        if angle < 1e-8:
            continue
        if np.pi - angle < 1e-4:  # near 180 degrees: axis from the symmetric part
            axis = np.sqrt(np.clip((np.diag(m) + 1.0) / 2.0, 0.0, None))
            j = int(np.argmax(axis))
            for k in range(3):
                if k != j:
                    axis[k] = np.copysign(axis[k], m[j, k] + m[k, j])
        else:
            axis = np.array([m[2, 1] - m[1, 2], m[0, 2] - m[2, 0], m[1, 0] - m[0, 1]]) / (2.0 * np.sin(angle))
        out[i] = axis / np.linalg.norm(axis) * angle
    return out


def axis_angle_to_matrix(vectors: np.ndarray) -> np.ndarray:
    """Axis-angle vectors [N,3] to rotation matrices [N,3,3] (Rodrigues)."""
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    out = np.empty((len(vectors), 3, 3))
    for i, v in enumerate(vectors):
        angle = np.linalg.norm(v)
        if angle < 1e-12:
            out[i] = np.eye(3)
            continue
        k = v / angle
        kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
        out[i] = np.eye(3) + np.sin(angle) * kx + (1.0 - np.cos(angle)) * kx @ kx
    return out


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation that turns direction ``a`` onto direction ``b``."""
    a = np.asarray(a, float) / np.linalg.norm(a)
    b = np.asarray(b, float) / np.linalg.norm(b)
    v = np.cross(a, b)
    c = float(np.dot(a, b))
    if c < -1.0 + 1e-9:  # opposite: 180 degrees about any axis orthogonal to a
        ortho = np.cross(a, [1.0, 0.0, 0.0])
        if np.linalg.norm(ortho) < 1e-6:
            ortho = np.cross(a, [0.0, 1.0, 0.0])
        return axis_angle_to_matrix(ortho / np.linalg.norm(ortho) * np.pi)[0]
    vx = np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
    return np.eye(3) + vx + vx @ vx / (1.0 + c)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A rotation drawn uniformly from SO(3) (from a random unit quaternion)."""
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
