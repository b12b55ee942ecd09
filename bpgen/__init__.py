"""bpgen: synthetic people in extreme poses, rendered with BlenderProc.

Layers, lowest first (each imports only its own and lower layers; tests/test_layers.py checks it):
  shared leaves   the root modules: errors, atomic, progress, hostinfo, choice, settings, colour, validate, compose
  run layout      run/: the run directory's layout, ``Run``, locks, process lifetimes, site settings
  geometry        geometry/: rotations, collisions, camera, keypoints, labels
  sections        poses/, bodies/, appearance/, photo/, quality/, world/ (each with its own config section)
  scene plan      scene/: the plan (plain data) and the renderer boundary
  blender         blender/: the only code that imports bpy and blenderproc
  render          render/: the render schema, frame labels, the shard loop and lifecycle; preview/
  stages          merge/, and the training project bpgen_train/
  operations      ops/: submission, status, local pool, cleaning, container builds
"""

__version__ = "0.1.0"
