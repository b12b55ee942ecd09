"""The Blender boundary: the only package that imports bpy or blenderproc.

Everything outside it works on plain numpy data (see bpgen.scene.plan) and can be tested without Blender.
Public API: ``scene.BlenderScene`` (implements ``bpgen.scene.renderer.Renderer``, its ``display`` through
``develop.DisplayTransform``), ``scene.available_devices``,
``bproc_adapter.load_blenderproc`` and ``versions``. No random number is drawn here: every choice is the plan's.
"""
