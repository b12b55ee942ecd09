"""The Blender boundary: the only package that imports bpy or blenderproc.

Everything outside it works on plain numpy data (see bpgen.scene.plan) and can be tested without Blender.
"""
