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
