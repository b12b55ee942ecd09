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
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from bpgen.bodies.protocol import PosedBody, Surface

if TYPE_CHECKING:
    from bpgen.appearance.look import Look

SLOTS = ("skin", "sclera", "iris", "pupil", "mouth", "hair")
GARMENT_SLOTS = ("top", "bottom", "feet")  # layers of the skin material, by coverage attributes
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
    "long": (20.0, -20.0, -60.0, 0.02),
    "tied": (22.0, 14.0, -28.0, 0.008),
}
PUPIL_DEG, IRIS_DEG = 10.0, 27.0


def brow_field(rest: np.ndarray, eyes: tuple[np.ndarray, np.ndarray], eye_gap: float) -> np.ndarray:
    """[V] signed brow coverage (> 0 on a brow): an arched band above each eye, thicker near the nose."""
    field: np.ndarray = np.full(len(rest), -1.0)
    for eye, sign in zip(eyes, (1.0, -1.0), strict=True):
        lateral = (rest[:, 0] - eye[0]) * sign / eye_gap  # outward from the eye centre, in eye gaps
        rise = (rest[:, 2] - eye[2]) / eye_gap
        arch = 0.33 + 0.04 * np.cos(np.clip(lateral, -0.6, 0.6) * 2.6)  # brow centre line above the eye
        half = 0.045 * (1.0 - 0.45 * np.clip((lateral + 0.3) / 0.8, 0.0, 1.0))  # tapers outwards
        inside = np.minimum(half - np.abs(rise - arch), 0.3 * (np.minimum(lateral + 0.32, 0.5 - lateral)))
        in_front = rest[:, 1] < eye[1] + 0.1 * eye_gap
        field = np.where(in_front & (np.abs(lateral) < 1.0), np.maximum(field, inside), field)
    return field


@dataclass(frozen=True)
class AnnyTopology:
    """What dressing needs from anny that does not depend on the person: faces, UVs, skinning, face parts."""

    faces: np.ndarray  # [F,3]
    uv: np.ndarray  # [F*3,2]
    dominant_bone: np.ndarray  # [V] index of each vertex's largest skinning weight
    bone_labels: tuple[str, ...]
    face_part: np.ndarray  # [F] index into part_names, -1 elsewhere
    part_names: tuple[str, ...]
    masks: dict[str, str]  # region name -> the model's UV mask image (lips, fingernails, toenails)

    def part(self, name: str) -> np.ndarray:
        return self.face_part == self.part_names.index(name)

    @cached_property
    def groups(self) -> np.ndarray:
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
    """[V] signed coverage per garment kind on this person's T-pose mesh, in metres: > 0 inside the garment.

    Linear inside each limb (distance along the limb past the sleeve or trouser end, height past the waist or
    the neckline), so that the zero line interpolated across a triangle is the garment's smooth edge.
    """
    outside = -0.05
    arm = np.full(len(rest), np.nan)
    leg = np.full(len(rest), np.nan)
    arm_length = leg_length = 0.0
    for side, arm_group, leg_group in (("L", 3, 7), ("R", 4, 8)):
        on_arm = groups == arm_group
        arm[on_arm] = _limb_parameter(rest[on_arm], named[f"{side}_Shoulder"], named[f"{side}_Wrist"])
        arm_length = float(np.linalg.norm(named[f"{side}_Wrist"] - named[f"{side}_Shoulder"]))
        on_leg = groups == leg_group
        leg[on_leg] = _limb_parameter(rest[on_leg], named[f"{side}_Hip"], named[f"{side}_Ankle"])
        leg_length = float(np.linalg.norm(named[f"{side}_Ankle"] - named[f"{side}_Hip"]))
    hips = (named["L_Hip"][2] + named["R_Hip"][2]) / 2.0
    torso_length = float(named["Neck"][2] - hips)
    height = rest[:, 2] - hips  # metres above the hip joints
    torso = groups == 0
    arms = (groups == 3) | (groups == 4)
    legs = (groups == 7) | (groups == 8)
    feet = (groups == 9) | (groups == 10)
    frontness = np.clip((named["Neck"][1] - rest[:, 1]) / 0.04, 0.0, 1.0)  # 1 on the chest (anny faces -y)
    neckline = torso_length * (NECK_H - NECKLINE_DEPTH * frontness)
    cover: dict[str, np.ndarray] = {}
    for kind in kinds:
        f = np.full(len(rest), outside)
        if kind in SLEEVE_END:  # tops
            low = -np.inf if kind == "leotard" else torso_length * (WAIST_H - 0.05)
            f[torso] = np.minimum(height[torso] - low, neckline[torso] - height[torso])
            end = SLEEVE_END[kind]
            if end > 0:
                f[arms] = (end - arm[arms]) * arm_length
            if kind == "leotard":
                f[legs] = (0.04 - leg[legs]) * leg_length
        elif kind in LEG_END:  # bottoms
            top = neckline if kind == "dress" else np.full(len(rest), torso_length * (WAIST_H + 0.03))
            f[torso] = top[torso] - height[torso]
            f[legs] = (LEG_END[kind] - leg[legs]) * leg_length
        elif kind == "socks":
            f[feet] = 0.05
            f[legs] = (leg[legs] - 0.86) * leg_length
        elif kind == "shoes":
            ankle = min(named["L_Ankle"][2], named["R_Ankle"][2])
            f[feet] = ankle + 0.015 - rest[feet, 2]
            f[legs] = (leg[legs] - 0.985) * leg_length
        cover[kind] = f
    return cover


def hair_field(
    rest: np.ndarray,
    groups: np.ndarray,
    center: np.ndarray,
    radius: float,
    named: dict[str, np.ndarray],
    style: str,
    length: float,
) -> np.ndarray:
    """[V] signed hair coverage in metres (> 0 under the hair): above the style's hairline on the head (its
    elevation above the head centre per azimuth, lower at the back); long hair also lies over the back of the
    neck and the upper back down to ``length`` below the neck's base (it follows the body in every pose)."""
    front_deg, side_deg, back_deg, _ = HAIRLINES[style]
    offset = rest - center
    direction = offset / np.maximum(np.linalg.norm(offset, axis=1, keepdims=True), 1e-9)
    elevation = np.degrees(np.arcsin(np.clip(direction[:, 2], -1.0, 1.0)))
    forward = -direction[:, 1] / np.maximum(np.hypot(direction[:, 0], direction[:, 1]), 1e-9)  # cos(azimuth)
    threshold = (
        front_deg * np.clip(forward, 0.0, 1.0)
        + side_deg * (1.0 - np.abs(forward))
        + back_deg * np.clip(-forward, 0.0, 1.0)
    )
    head_or_neck = (groups == 2) | (groups == 1)
    field = np.where(head_or_neck, np.radians(elevation - threshold) * radius, -0.05)
    if style == "long" and length > 0:
        neck = named["Neck"]
        behind = rest[:, 1] - (neck[1] + 0.3 * radius)  # anny faces -y: the back is at larger y
        reach = rest[:, 2] - (neck[2] - length)
        sides = 1.6 * radius - np.abs(rest[:, 0] - neck[0])
        back = np.minimum(np.minimum(behind, reach), sides)
        field = np.where((groups == 0) | (groups == 1), np.maximum(field, back), field)
    return field


def hair_flow(points: np.ndarray, center: np.ndarray) -> dict[str, np.ndarray]:
    """[V] hair coordinates in metres: ``hair_across`` around the head, ``hair_along`` down from the crown
    (strands run along it), so a shader can draw streaks that fall from the crown in every pose."""
    offset = points - center
    distance = np.linalg.norm(offset, axis=1)
    azimuth = np.arctan2(offset[:, 0], -offset[:, 1])
    polar = np.arccos(np.clip(offset[:, 2] / np.maximum(distance, 1e-9), -1.0, 1.0))
    return {"hair_across": azimuth * np.sin(np.clip(polar, 0.3, np.pi)) * 0.1, "hair_along": polar * distance}


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


def _ponytail(look: Look, center: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rest-pose geometry of a tied ponytail: a tapered tube leaving the back of the head (vertices, faces, uv)."""
    back = np.array([0.0, 1.0, 0.0])  # anny faces -y
    up = np.array([0.0, 0.0, 1.0])
    left = np.array([1.0, 0.0, 0.0])
    rows, cols = 7, 9
    t = np.linspace(0.0, 1.0, rows)
    root = center + radius * 0.9 * back + radius * 0.2 * up
    axis_points = root + np.outer(t * look.hair_length, 0.5 * back - 0.87 * up)
    thickness = radius * (0.3 - 0.2 * t)
    angle = np.linspace(0.0, 2.0 * np.pi, cols)
    ring = np.cos(angle)[:, None] * left + np.sin(angle)[:, None] * (0.87 * back + 0.5 * up)
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
    attributes, thickness = _garment_layers(topology, look, rest, rest_named)
    slot = _face_slots(topology, rest, eyes)
    eye_gap = float(np.linalg.norm(eyes[0] - eyes[1]))
    attributes["brow"] = brow_field(rest, eyes, eye_gap)

    normals = vertex_normals(posed.vertices, topology.faces)
    mesh = _MeshParts([posed.vertices + normals * thickness[:, None]], [topology.faces], [topology.uv], [rest])
    center, radius = _head_sphere(rest, topology.groups, eye_gap)
    if look.hair_style != "bald":
        attributes["hair"] = _add_hair(mesh, posed, topology, look, rest, rest_named, slot, normals, center, radius)
        count = sum(len(f) for f in mesh.faces) - len(slot)
        slot = np.concatenate([slot, np.full(count, SLOT["hair"])])
    rest_points = np.concatenate(mesh.rest)
    extra = len(rest_points) - len(rest)
    attributes = {name: np.concatenate([values, np.full(extra, -1.0)]) for name, values in attributes.items()}
    attributes.update(hair_flow(rest_points, center))
    surface = Surface(SLOTS, slot, np.concatenate(mesh.uv), rest_points, attributes, topology.masks)
    return PosedBody(
        np.concatenate(mesh.vertices),
        np.concatenate(mesh.faces),
        posed.joints,
        posed.joint_names,
        posed.keypoints,
        posed.capsules,
        posed.foot_keypoints,
        surface,
    )


@dataclass
class _MeshParts:
    """The pieces of a dressed mesh, concatenated in order: the dressed body, then the hair shell and ponytail."""

    vertices: list[np.ndarray]
    faces: list[np.ndarray]  # indices into the concatenated vertices
    uv: list[np.ndarray]  # per face corner
    rest: list[np.ndarray]  # rest-pose positions of the vertices

    def add(self, vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray, rest: np.ndarray) -> None:
        self.vertices.append(vertices)
        self.faces.append(faces)
        self.uv.append(uv)
        self.rest.append(rest)


def _garment_layers(
    topology: AnnyTopology, look: Look, rest: np.ndarray, rest_named: dict[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The skin shader's coverage attribute of each garment slot (-1: none) and the cloth thickness per vertex
    (on the skin of torso, limbs, hands and feet only)."""
    faces, groups = topology.faces, topology.groups
    kinds = tuple(g.kind for g in look.garments)
    coverage = garment_coverage(rest, groups, rest_named, kinds)
    attributes = {f"cover_{slot_name}": np.full(len(rest), -1.0) for slot_name in GARMENT_SLOTS}
    thickness = np.zeros(len(rest))
    dress = "dress" in kinds
    for garment in look.garments:
        f = coverage[garment.kind]
        if dress and garment.slot == "top":  # a dress covers the torso: the top shows only as sleeves
            f = np.where(groups == 0, -0.05, f)
        attributes[f"cover_{garment.slot}"] = f
        thickness = np.maximum(thickness, np.where(f > 0, THICKNESS[garment.kind], 0.0))
    body_faces = topology.face_part < 0  # the skin of torso and limbs (not head, hands, feet parts)
    body_faces |= topology.part("foot.L") | topology.part("foot.R") | topology.part("hand.L") | topology.part("hand.R")
    thickness[~np.isin(np.arange(len(rest)), faces[body_faces])] = 0.0
    return attributes, thickness


def _face_slots(topology: AnnyTopology, rest: np.ndarray, eyes: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The material slot of each body face: skin, dark inner tissue, and pupil / iris / sclera on the eyeballs."""
    faces = topology.faces
    slot = np.zeros(len(faces), dtype=np.int64)
    for inner in ("mouth_cavity", "tongue", "eye_cavity.L", "eye_cavity.R", "eye_back.L", "eye_back.R"):
        slot[topology.part(inner)] = SLOT["mouth"]  # dark inner tissue
    centroids = rest[faces].mean(axis=1)
    for eye, part in zip(eyes, ("eye_front.L", "eye_front.R"), strict=True):
        on_eye = topology.part(part)
        to_face = centroids[on_eye] - eye
        cos = -to_face[:, 1] / np.maximum(np.linalg.norm(to_face, axis=1), 1e-9)
        angle = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
        slot[on_eye] = np.where(
            angle < PUPIL_DEG, SLOT["pupil"], np.where(angle < IRIS_DEG, SLOT["iris"], SLOT["sclera"])
        )
    return slot


def _head_sphere(rest: np.ndarray, groups: np.ndarray, eye_gap: float) -> tuple[np.ndarray, float]:
    """Centre and radius of the skull (rest pose), which the hairline and hair flow are measured from."""
    head_vertices = rest[groups == 2]
    center = (head_vertices.min(axis=0) + head_vertices.max(axis=0)) / 2.0
    center[1] += 0.1 * eye_gap  # the skull's centre lies behind the face's
    radius = float(np.median(np.linalg.norm(head_vertices - center, axis=1)))
    return center, radius


def _add_hair(
    mesh: _MeshParts,
    posed: PosedBody,
    topology: AnnyTopology,
    look: Look,
    rest: np.ndarray,
    rest_named: dict[str, np.ndarray],
    slot: np.ndarray,
    normals: np.ndarray,
    center: np.ndarray,
    radius: float,
) -> np.ndarray:
    """Add the hair shell over the scalp (and a tied ponytail) to ``mesh``; returns the hair attribute, the skin
    shader's hair layer: a smooth hairline under the shell's edge."""
    faces, vertices = topology.faces, mesh.vertices[0]
    head_faces = topology.part("head")
    field = hair_field(rest, topology.groups, center, radius, rest_named, look.hair_style, look.hair_length)
    skin_faces = (head_faces | (topology.face_part < 0)) & (slot == SLOT["skin"])
    hair = skin_faces & (field[faces] > 0).all(axis=1)
    shell_thickness = HAIRLINES[look.hair_style][3]
    used = np.unique(faces[hair])
    edge = np.isin(used, faces[~hair])  # the hairline: the shell comes down onto the scalp there
    remap = np.full(len(rest), -1, dtype=np.int64)
    remap[used] = np.arange(len(used)) + len(vertices)
    lift = shell_thickness * (1.0 + 0.6 * np.clip((rest[used, 2] - center[2]) / radius, 0.0, 1.0))
    lift[edge] = 0.0
    uv = topology.uv.reshape(-1, 3, 2)[hair].reshape(-1, 2)
    mesh.add(vertices[used] + normals[used] * lift[:, None], remap[faces[hair]], uv, rest[used])
    if look.hair_style == "tied" and look.hair_length > 0:
        points, grid, grid_uv = _ponytail(look, center, radius + shell_thickness)
        head = np.unique(faces[head_faces])
        rotation, translation = _kabsch(rest[head], posed.vertices[head])  # the head's rigid motion
        offset = sum(len(v) for v in mesh.vertices)
        mesh.add(points @ rotation.T + translation, grid + offset, grid_uv[grid].reshape(-1, 2), points)
    return field
