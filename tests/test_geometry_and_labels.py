import numpy as np
import pytest
from pycocotools import mask as mask_utils

from bpgen.bodies import BodyShape
from bpgen.bodies.mannequin import MannequinBody
from bpgen.geometry.camera import Camera, fx_from_fov, look_at
from bpgen.geometry.labels import OCCLUDED, VISIBLE, amodal_mask, encode_rle, keypoint_visibility, rle_area_bbox


def make_camera(width=64, height=48, fov=60.0, position=(0.0, -5.0, 1.0), target=(0.0, 0.0, 1.0), roll=0.0):
    return Camera(width, height, fx_from_fov(fov, width), look_at(np.array(position), np.array(target), roll))


def test_target_projects_to_the_principal_point_for_any_roll():
    for roll in (0.0, 25.0, -80.0):
        camera = make_camera(roll=roll)
        uv, z = camera.project(np.array([[0.0, 0.0, 1.0]]))
        assert np.allclose(uv[0], [32.0, 24.0]) and z[0] == pytest.approx(5.0)


def test_projection_axes_follow_opencv():
    camera = make_camera()
    uv, _ = camera.project(np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 2.0]]))
    assert uv[0, 0] > 32.0  # world +x is to the right when looking along +y
    assert uv[1, 1] < 24.0  # up in the world is up in the image (smaller row)
    fx = camera.fx
    assert uv[0, 0] == pytest.approx(32.0 + fx * 1.0 / 5.0)
    assert camera.fov_x_deg == pytest.approx(60.0)


def test_world2cam_inverts_cam2world():
    camera = make_camera(position=(3.0, -2.0, 4.0), target=(0.5, 0.2, 0.3), roll=12.0)
    cv_to_blender = np.diag([1.0, -1.0, -1.0, 1.0])
    assert np.allclose(camera.world2cam @ camera.cam2world @ cv_to_blender, np.eye(4), atol=1e-9)


def test_top_down_look_at_is_well_defined():
    pose = look_at(np.array([0.0, 0.0, 5.0]), np.array([0.0, 0.0, 0.0]))
    assert np.isfinite(pose).all() and np.allclose(pose[:3, :3] @ pose[:3, :3].T, np.eye(3))


def test_rle_area_and_bbox_match_the_mask():
    mask = np.zeros((48, 64), bool)
    mask[10:20, 5:30] = True
    mask[30, 40] = True
    rle = encode_rle(mask)
    area, bbox = rle_area_bbox(rle)
    assert area == mask.sum()
    assert bbox == [5.0, 10.0, 36.0, 21.0]
    assert np.array_equal(mask_utils.decode(dict(rle, counts=rle["counts"].encode())), mask)


def test_keypoint_visibility_flags():
    instance = np.zeros((48, 64), int)
    instance[10:30, 10:30] = 3  # the person
    instance[10:30, 20:30] = 4  # something in front of its right half
    depth = np.full((48, 64), 5.0)
    uv = np.array([[15.5, 15.5], [25.5, 15.5], [15.5, 15.5], [70.0, 10.0], [15.5, 15.5]])
    z = np.array([5.05, 5.05, 5.5, 5.0, -1.0])
    flags = keypoint_visibility(uv, z, instance, depth, 3, np.full(5, 0.1))
    assert flags.tolist() == [VISIBLE, OCCLUDED, OCCLUDED, 0, 0]


def test_amodal_mask_of_a_body_covers_its_projection():
    body = MannequinBody()
    posed = body.pose(np.zeros((21, 3)), BodyShape(np.zeros(10)))
    vertices = posed.vertices + np.array([0.0, 0.0, 1.0])
    camera = make_camera(width=160, height=120, fov=50.0, position=(0.0, -4.0, 1.0), target=(0.0, 0.0, 1.0))
    mask, truncation = amodal_mask(camera, vertices, posed.faces)
    uv, _ = camera.project(posed.keypoints + np.array([0.0, 0.0, 1.0]))
    assert truncation == pytest.approx(0.0)
    inside = [mask[int(v), int(u)] for u, v in uv]
    assert np.mean(inside) > 0.8  # joints lie inside the silhouette
    # a camera that sees only the top half truncates the body
    close = make_camera(width=160, height=120, fov=30.0, position=(0.0, -3.0, 1.7), target=(0.0, 0.0, 1.7))
    _, cut = amodal_mask(close, vertices, posed.faces)
    assert 0.2 < cut < 0.9
