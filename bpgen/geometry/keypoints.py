"""Skeleton names: the COCO-17 person keypoints (names, skeleton, flip map, depth tolerances), the foot points and
the SMPL-X body joints a pose drives."""

from __future__ import annotations

COCO_KEYPOINTS = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
# 1-based, as in COCO's person_keypoints json
COCO_SKELETON = (
    (16, 14),
    (14, 12),
    (17, 15),
    (15, 13),
    (12, 13),
    (6, 12),
    (7, 13),
    (6, 7),
    (6, 8),
    (7, 9),
    (8, 10),
    (9, 11),
    (2, 3),
    (1, 2),
    (1, 3),
    (2, 4),
    (3, 5),
    (4, 6),
    (5, 7),
)
COCO_FLIP_MAP = tuple(
    (f"left_{n}", f"right_{n}") for n in ("eye", "ear", "shoulder", "elbow", "wrist", "hip", "knee", "ankle")
)

# Keypoints that come from skeleton joints (SMPL-X names); the face ones come from head-surface landmarks.
JOINT_KEYPOINTS = {
    "left_shoulder": "L_Shoulder",
    "right_shoulder": "R_Shoulder",
    "left_elbow": "L_Elbow",
    "right_elbow": "R_Elbow",
    "left_wrist": "L_Wrist",
    "right_wrist": "R_Wrist",
    "left_hip": "L_Hip",
    "right_hip": "R_Hip",
    "left_knee": "L_Knee",
    "right_knee": "R_Knee",
    "left_ankle": "L_Ankle",
    "right_ankle": "R_Ankle",
}
FACE_KEYPOINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")

PERSON_CATEGORY = {
    "id": 1,
    "name": "person",
    "supercategory": "person",
    "keypoints": list(COCO_KEYPOINTS),
    "skeleton": [list(pair) for pair in COCO_SKELETON],
}

# The six foot points anny's regressor adds to COCO-17 (frames.jsonl's foot_keypoint_names), in their order.
FOOT_KEYPOINTS = ("left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel")
# The skeleton's joints driven by a pose: the 21 SMPL-X body joints (the pelvis is the root).
BODY_JOINTS = (
    "L_Hip",
    "R_Hip",
    "Spine1",
    "L_Knee",
    "R_Knee",
    "Spine2",
    "L_Ankle",
    "R_Ankle",
    "Spine3",
    "L_Foot",
    "R_Foot",
    "Neck",
    "L_Collar",
    "R_Collar",
    "Head",
    "L_Shoulder",
    "R_Shoulder",
    "L_Elbow",
    "R_Elbow",
    "L_Wrist",
    "R_Wrist",
)  # (SMPL-X body_pose order; index i drives joint i + 1 of the skeleton)


# Depth tolerance (m) of each COCO keypoint's visibility test: how far behind the visible surface it may
# lie (joints sit inside the limb, face landmarks on the surface).
KEYPOINT_DEPTH_TOLERANCE = {n: 0.03 for n in FACE_KEYPOINTS} | {
    n: 0.11 if "hip" in n else 0.08 if "shoulder" in n or "knee" in n else 0.06 for n in JOINT_KEYPOINTS
}
