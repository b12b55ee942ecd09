"""Seats for sitting people: a chair, stool, bench, box or step fitted under a posed body (numpy only).

A seat is owned by its person: it is placed from the posed body (seat top at the lowest buttock/thigh point over
the seat, front edge behind the knees), moves with the person, is left out of that person's collision test and
is an obstacle for everyone else and for the cameras. Heights outside ``SEAT_HEIGHT_M`` are refused, except that a
body too short for the lowest seat (a child) is lifted onto one with its feet off the floor. The scene plan gives
the seat a material; Blender draws its parts as category 0 (never in a person's mask).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from bpgen.bodies import CAPSULE_NAMES, PosedBody
from bpgen.geometry.collision import Capsules, segment_distances

SEAT_KINDS = ("chair", "stool", "bench", "box", "step")
SEAT_HEIGHT_M = (0.30, 0.65)  # seat tops outside this range are refused
LIFTED_HEIGHT_M = (0.30, 0.45)  # where a body too short for a seat is lifted to, feet dangling
SITTING_CAPSULES = tuple(CAPSULE_NAMES.index(n) for n in ("pelvis", "L_thigh", "R_thigh"))  # what rests on a seat
TOP_TOLERANCE_M = 0.012  # body points this far into the seat's top are resting on it, not in it


@dataclass(frozen=True)
class SeatPart:
    """One solid of a seat: a box (``CUBE``: half extents) or an upright ``CYLINDER`` (radius, radius, half
    height), turned by ``yaw`` about the vertical; world coordinates (Z up, metres)."""

    shape: str
    center: tuple[float, float, float]
    half_extents: tuple[float, float, float]
    yaw: float

    def local(self, points: np.ndarray) -> np.ndarray:
        """Points in this part's frame (its centre at 0, its axes those of the half extents)."""
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        d = np.asarray(points, np.float64) - np.array(self.center)
        return np.stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1], d[:, 2]], axis=1)

    def over(self, points: np.ndarray) -> np.ndarray:
        """[N] whether each point lies above or below the part's footprint."""
        p = self.local(points)
        hx, hy, _ = self.half_extents
        if self.shape == "CYLINDER":
            return p[:, 0] ** 2 + p[:, 1] ** 2 < hx * hx
        return (np.abs(p[:, 0]) < hx) & (np.abs(p[:, 1]) < hy)

    def contains(self, points: np.ndarray, top_tolerance: float = 0.0) -> np.ndarray:
        """[N] whether each point lies inside the part (its top face lowered by ``top_tolerance``)."""
        z = self.local(points)[:, 2]
        hz = self.half_extents[2]
        return (z > -hz) & (z < hz - top_tolerance) & self.over(points)

    def bounding_capsule(self) -> tuple[np.ndarray, np.ndarray, float]:
        """End points and radius of a capsule around the part, along its longest axis."""
        half = np.array(self.half_extents, dtype=np.float64)
        axis = int(np.argmax(half))
        others = [k for k in range(3) if k != axis]
        radius = float(np.hypot(half[others[0]], half[others[1]]))
        if self.shape == "CYLINDER":
            axis, radius = 2, float(half[0])
        direction = np.zeros(3)
        direction[axis] = half[axis]
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        turned = np.array([c * direction[0] - s * direction[1], s * direction[0] + c * direction[1], direction[2]])
        center = np.array(self.center)
        return center - turned, center + turned, radius


@dataclass(frozen=True)
class Seat:
    """What one person sits on: its kind, the height of its top above the floor and its solid parts."""

    kind: str
    height: float
    parts: tuple[SeatPart, ...]
    raised: float = 0.0  # how far the body was lifted onto it (a child on a seat, feet off the floor)

    def moved(self, offset: np.ndarray) -> Seat:
        dx, dy, dz = (float(v) for v in offset)
        return replace(
            self,
            parts=tuple(replace(p, center=(p.center[0] + dx, p.center[1] + dy, p.center[2] + dz)) for p in self.parts),
        )

    @property
    def capsules(self) -> Capsules:
        """Capsules around the parts (an obstacle for other people, objects and cameras)."""
        ends = [p.bounding_capsule() for p in self.parts]
        return Capsules(np.array([e[0] for e in ends]), np.array([e[1] for e in ends]), np.array([e[2] for e in ends]))

    def intersects(self, points: np.ndarray) -> bool:
        """Whether any point lies inside a part (points resting on the seat's top excepted)."""
        return any(bool(p.contains(points, TOP_TOLERANCE_M).any()) for p in self.parts)

    def gap(self, points: np.ndarray) -> float:
        """Height of the lowest of ``points`` over the seat's top part above that part's top face."""
        top = self.parts[0]
        over = top.over(points)
        if not over.any():
            return float("inf")
        return float(top.local(points[over])[:, 2].min() - top.half_extents[2])


def _sitting_points(posed: PosedBody) -> np.ndarray:
    """Vertices of the buttocks and thighs (nearest to the pelvis or a thigh capsule)."""
    capsules = posed.capsules
    distances = segment_distances(posed.vertices, posed.vertices, capsules.a, capsules.b) - capsules.r[None, :]
    nearest = np.argmin(distances, axis=1)
    return posed.vertices[np.isin(nearest, SITTING_CAPSULES)]


def fit_seat(rng: np.random.Generator, posed: PosedBody, kind: str) -> Seat | None:
    """A seat of ``kind`` under a seated body in world coordinates (soles on the floor at z = 0); the body must be
    lifted by its ``raised`` onto it. None when the pose cannot sit on it (seat too high, or it would cut the
    body)."""
    if kind not in SEAT_KINDS:
        raise ValueError(f"unknown seat {kind!r}; choose from {', '.join(SEAT_KINDS)}")
    pelvis = posed.joint("Pelvis")
    knees = np.array([posed.joint("L_Knee"), posed.joint("R_Knee")])
    forward = (knees.mean(axis=0) - pelvis)[:2]
    if np.linalg.norm(forward) < 0.05:
        return None  # thighs not forward: not a sitting pose
    forward = forward / np.linalg.norm(forward)
    yaw = float(np.arctan2(forward[1], forward[0]))
    lateral = np.array([-forward[1], forward[0]])
    sitting = _sitting_points(posed)
    u = (sitting[:, :2] - pelvis[:2]) @ forward
    v = (sitting[:, :2] - pelvis[:2]) @ lateral
    shin_radius = float(posed.capsules.r[CAPSULE_NAMES.index("L_shin")])
    front = float(((knees[:, :2] - pelvis[:2]) @ forward).min()) - shin_radius - rng.uniform(0.03, 0.08)
    rear = float(u.min()) - rng.uniform(0.0, 0.06)
    if front - rear < 0.12:
        return None
    over = (u > rear) & (u < front)
    if not over.any():
        return None
    natural = float(sitting[over, 2].min())
    if natural > SEAT_HEIGHT_M[1]:
        return None
    lift = 0.0
    top = natural
    if natural < SEAT_HEIGHT_M[0]:
        top = float(rng.uniform(*LIFTED_HEIGHT_M))
        lift = top - natural
    half_width = float(np.abs(v[over]).max()) + rng.uniform(0.03, 0.08)
    center_u = (front + rear) / 2.0
    origin = pelvis[:2] + center_u * forward
    shape = _parts(rng, kind, origin, forward, lateral, yaw, (front - rear) / 2.0, half_width, top)
    seat = Seat(kind, top, shape, lift)
    raised = sitting + np.array([0.0, 0.0, lift])
    gap = seat.gap(raised)  # a round or narrower top may miss the lowest point: raise it to what it is under
    if gap > 0.0:
        if gap == float("inf") or top + gap > SEAT_HEIGHT_M[1]:
            return None
        seat = Seat(kind, top + gap, _resized(shape, top, top + gap), lift)
    if seat.intersects(posed.vertices + np.array([0.0, 0.0, lift])):
        return None
    return seat


def _resized(parts: tuple[SeatPart, ...], top: float, new_top: float) -> tuple[SeatPart, ...]:
    """The same seat with its top at ``new_top``: parts reaching the floor stretch, parts above it move up."""
    out = []
    for part in parts:
        x, y, z = part.center
        hx, hy, hz = part.half_extents
        if z - hz <= 1e-6 and z + hz >= top - 0.1:  # a leg, post or solid seat: stretch with the seat's top
            scale = 1.0 + (new_top - top) / max(2.0 * hz, 1e-9)
            out.append(replace(part, center=(x, y, z * scale), half_extents=(hx, hy, hz * scale)))
        elif z - hz <= 1e-6:  # a stool's foot stays on the floor
            out.append(part)
        else:  # the board and the backrest
            out.append(replace(part, center=(x, y, z + new_top - top)))
    return tuple(out)


def _parts(
    rng: np.random.Generator,
    kind: str,
    origin: np.ndarray,
    forward: np.ndarray,
    lateral: np.ndarray,
    yaw: float,
    half_depth: float,
    half_width: float,
    top: float,
) -> tuple[SeatPart, ...]:
    """The solids of a seat: the top part first (what the person sits on)."""

    def at(u: float, v: float, z: float) -> tuple[float, float, float]:
        xy = origin + u * forward + v * lateral
        return (float(xy[0]), float(xy[1]), float(z))

    if kind in ("box", "step"):
        if kind == "step":  # a wide stair step or kerb, as deep as the thighs allow
            half_width = max(half_width, float(rng.uniform(0.6, 1.2)))
        return (SeatPart("CUBE", at(0, 0, top / 2), (half_depth, half_width, top / 2), yaw),)
    thickness = float(rng.uniform(0.015, 0.025))  # half thickness of a seat board
    if kind == "stool":
        radius = float(min(half_depth, max(half_width, 0.14), 0.22))
        post = (top - 2 * thickness) / 2
        return (
            SeatPart("CYLINDER", at(0, 0, top - thickness), (radius, radius, thickness), yaw),
            SeatPart("CYLINDER", at(0, 0, post), (0.025, 0.025, post), yaw),
            SeatPart("CYLINDER", at(0, 0, 0.008), (radius * 0.9, radius * 0.9, 0.008), yaw),
        )
    if kind == "bench":
        half_width = max(half_width, float(rng.uniform(0.5, 0.9)))
    board = SeatPart("CUBE", at(0, 0, top - thickness), (half_depth, half_width, thickness), yaw)
    leg = (top - 2 * thickness) / 2
    if kind == "bench":
        return (
            board,
            *(
                SeatPart("CUBE", at(0, side * (half_width - 0.08), leg), (half_depth * 0.9, 0.02, leg), yaw)
                for side in (-1.0, 1.0)
            ),
        )
    legs = tuple(
        SeatPart("CUBE", at(du * (half_depth - 0.03), dv * (half_width - 0.03), leg), (0.018, 0.018, leg), yaw)
        for du in (-1.0, 1.0)
        for dv in (-1.0, 1.0)
    )
    back_half = float(rng.uniform(0.17, 0.25))
    back = SeatPart("CUBE", at(-half_depth - 0.015, 0, top + back_half), (0.012, half_width, back_half), yaw)
    return (board, *legs, back)
