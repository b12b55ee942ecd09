"""Triangle meshes from numpy arrays (the one place that fills Blender mesh data in bulk)."""

from __future__ import annotations

from typing import Any

import numpy as np


def triangle_mesh(name: str, vertices: np.ndarray, faces: np.ndarray) -> Any:
    """A new ``bpy.types.Mesh`` with ``vertices`` [V,3] and triangles ``faces`` [F,3] (loop i = corner i)."""
    import bpy

    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(vertices))
    mesh.vertices.foreach_set("co", vertices.astype(np.float32).ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.astype(np.int32).ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    mesh.polygons.foreach_set("loop_total", np.full(len(faces), 3, dtype=np.int32))
    return mesh


def link_object(name: str, mesh: Any) -> Any:
    """Update and smooth-shade ``mesh``, wrap it in an object linked to the scene, and return the object."""
    import bpy

    mesh.update()
    mesh.shade_smooth()
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.collection.objects.link(obj)
    return obj


def pose_per_frame(obj: Any, frames: list[np.ndarray]) -> None:
    """Show ``frames[f]`` ([V,3], same topology as the mesh) at frame ``f``: one absolute shape key per frame
    after the first, keyed fully on at its frame and off at the others. The mesh and its materials stay; Cycles
    re-syncs only its vertices from one frame to the next."""
    obj.shape_key_add(name="Basis", from_mix=False)
    keys = []
    for f, vertices in enumerate(frames[1:], start=1):
        key = obj.shape_key_add(name=f"frame_{f:03d}", from_mix=False)
        key.data.foreach_set("co", vertices.astype(np.float32).ravel())
        keys.append(key)
    for f in range(len(frames)):
        for k, key in enumerate(keys, start=1):
            key.value = 1.0 if k == f else 0.0
            key.keyframe_insert("value", frame=f)
