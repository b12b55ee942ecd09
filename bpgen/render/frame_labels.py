"""Turn one rendered frame of a planned scene into COCO annotations and a per-frame record (numpy only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bpgen.geometry.keypoints import FOOT_KEYPOINTS
from bpgen.geometry.labels import PersonLabel, keypoint_visibility, label_person
from bpgen.scene.plan import FrameCamera

if TYPE_CHECKING:
    from bpgen.bodies import PosedBody
    from bpgen.geometry.camera import Camera
    from bpgen.poses.person import Person

BODY_JOINT_COUNT = 22  # pelvis + the 21 SMPL-X body joints; finger joints are not saved
# COCO-WholeBody's foot points (big toe, small toe, heel per foot) lie on the skin (or shoe): surface tolerance
FOOT_TOLERANCES = np.full(len(FOOT_KEYPOINTS), 0.04)


def person_attributes(person: Any) -> dict[str, Any]:
    """Who the person is and how they look (body model, age, sex, height, BMI, skin tone, hair, garments)."""
    look = person.look.labels() if person.look is not None else {}
    return dict(person.shape.attributes) | look


def _round(values: Any, digits: int = 5) -> list[Any]:
    return np.round(np.asarray(values, dtype=np.float64), digits).tolist()


def frame_labels(
    people: list[Person],
    view: FrameCamera,
    instance_map: np.ndarray,
    depth_map: np.ndarray,
    index_of: dict[str, int],
    person_names: list[str],
    min_visible_pixels: int,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """COCO annotations (without ids) and the frame record (camera + every person, annotated or not)."""
    camera = view.camera
    annotations: list[dict[str, Any]] = []
    persons: list[dict[str, Any]] = []
    for person, name in zip(people, person_names, strict=True):
        posed = person.posed
        index = index_of.get(name, -1)  # -1: not in the instance map (entirely hidden or outside)
        label = label_person(camera, posed.vertices, posed.faces, posed.keypoints, instance_map, depth_map, index)
        annotated = label.visible_area >= min_visible_pixels
        attributes = person_attributes(person)
        if annotated:
            annotations.append(coco_annotation(person, label, len(persons)) | attributes)
        feet = foot_labels(camera, posed, instance_map, depth_map, index)
        annotation_index = len(annotations) - 1 if annotated else None
        persons.append(person_record(camera, person, name, label, annotation_index) | attributes | feet)
    return annotations, camera_record(view, persons)


def coco_annotation(person: Person, label: PersonLabel, person_index: int) -> dict[str, Any]:
    """A visible person's COCO annotation (without ids; its attributes are added by the caller)."""
    return {
        "segmentation": label.visible_rle,
        "area": label.visible_area,
        "bbox": _round(label.bbox, 2),
        "iscrowd": 0,
        "category_id": 1,
        "keypoints": label.keypoints,
        "num_keypoints": label.num_keypoints,
        "extremeness": round(person.extremeness, 4),
        "pose_strategy": person.angles.strategy,
        "pose_template": person.template,  # everyday poses: "<base>/<gesture>"; else None
        "person_index": person_index,
    }


def foot_labels(
    camera: Camera, posed: PosedBody, instance_map: np.ndarray, depth_map: np.ndarray, index: int
) -> dict[str, Any]:
    """The foot points of a body that has them (COCO-WholeBody's), else nothing."""
    if posed.foot_keypoints is None:
        return {}
    uv, depth = camera.project(posed.foot_keypoints)
    flags = keypoint_visibility(uv, depth, instance_map, depth_map, index, FOOT_TOLERANCES)
    return {
        "foot_keypoint_names": list(FOOT_KEYPOINTS),
        "foot_keypoints_cam": _round(camera.to_camera(posed.foot_keypoints)),
        "foot_keypoints_2d": _round(uv, 2),
        "foot_keypoints_visibility": flags.tolist(),
    }


def person_record(
    camera: Camera, person: Person, name: str, label: PersonLabel, annotation_index: int | None
) -> dict[str, Any]:
    """A person's entry in the frame record: pose, shape, placement in world and camera, masks and visibility."""
    posed = person.posed
    w2c = camera.world2cam
    rotation_cam = w2c[:3, :3] @ person.rotation
    translation_cam = camera.to_camera(person.translation[None])[0]
    return {
        "name": name,
        "annotation_index": annotation_index,
        "strategy": person.angles.strategy,
        "template": person.template,
        "seat": None if person.seat is None else person.seat.kind,
        "orientation": person.orientation,
        "extremeness": round(person.extremeness, 4),
        "inversion_deg": round(person.inversion_deg, 2),
        "shape": _round(person.shape.values),
        "body_pose": _round(person.angles.body_pose),
        "rotation_world": _round(person.rotation),
        "translation_world": _round(person.translation),
        "cam_R_m2c": _round(rotation_cam),
        "cam_t_m2c": _round(translation_cam * 1000.0, 3),
        "joints_cam": _round(camera.to_camera(posed.joints[:BODY_JOINT_COUNT])),
        "joint_names": list(posed.joint_names[:BODY_JOINT_COUNT]),
        "keypoints_cam": _round(label.keypoints_cam),
        "keypoints_2d": _round(label.keypoints_2d, 2),
        "keypoints_visibility": label.keypoints[2::3],
        "segmentation_amodal": label.amodal_rle,
        "bbox_obj": _round(label.amodal_bbox, 2),
        "bbox_visib": _round(label.bbox, 2),
        "px_count_all": label.amodal_area,
        "px_count_visib": label.visible_area,
        "visib_fract": round(label.visib_fract, 4),
        "truncation": round(label.truncation, 4),
    }


def camera_record(view: FrameCamera, persons: list[dict[str, Any]]) -> dict[str, Any]:
    """The frame record: the camera (intrinsics, pose both ways, field of view) and its persons."""
    camera = view.camera
    w2c = camera.world2cam
    return {
        "viewpoint": view.viewpoint,
        "cam_K": _round(camera.K, 4),
        "cam2world_blender": _round(camera.cam2world),
        "cam_R_w2c": _round(w2c[:3, :3]),
        "cam_t_w2c": _round(w2c[:3, 3] * 1000.0, 3),
        "fov_x_deg": round(camera.fov_x_deg, 3),
        "depth_scale": 1.0,
        "persons": persons,
    }
