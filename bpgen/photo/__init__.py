"""Camera photometry as plain data and pure numpy: view transform, exposure, white balance, depth of field,
sensor noise, JPEG quality.

Public API (import from the modules):
  ``config``    ``PhotoConfig``, ``photo_config_from_dict`` (the photo: section)
  ``sampling``  ``PhotoSpec``, ``sample_photo`` (one frame's draws), ``photo_record`` (its frames.jsonl record)
  ``develop``   ``develop`` (the post-processing chain), ``focus_distance`` and its steps
"""
