"""Geometry and keypoints (numpy; pycocotools and OpenCV for masks): rotations, capsule collisions, the pinhole
camera, skeleton names, labels.

Public API (import from the modules):
  ``rotations``  axis-angle / matrix helpers, random rotations
  ``collision``  capsules, self- and inter-body collision tests
  ``camera``     ``Camera`` (intrinsics, extrinsics, projection), ``look_at``, ``fx_from_fov``
  ``keypoints``  COCO-17 names, skeleton, flip map, depth tolerances; foot points; the SMPL-X body joints
  ``labels``     boxes, RLE masks (pycocotools), keypoint visibility, one person's label geometry
"""
