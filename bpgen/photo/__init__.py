"""Cameras and photometry as plain data and pure numpy: camera classes, metering and exposure, white balance,
depth of field, sensor noise, sharpening, JPEG quality.

Public API (import from the modules):
  ``cameras``   ``CAMERA_CLASSES``, ``CameraClass`` (cameras that exist, with sources)
  ``config``    ``PhotoConfig``, ``photo_config_from_dict`` (the photo: section)
  ``sampling``  ``PhotoSpec``, ``sample_photo`` (one frame's draws), ``photo_record`` (its frames.jsonl record)
  ``develop``   ``meter``, ``develop_linear`` (the chain up to the view transform), ``sharpen``, ``focus_distance``
"""
