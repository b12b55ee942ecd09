"""The render's linear outputs and Blender's view transform applied to a frame developed in numpy.

Cycles writes the colour as half-float EXR in linear light, with the diffuse albedo (Blender's DiffCol pass, which
holds subsurface skin too) beside it, so that ``bpgen.photo.develop`` can meter on the light falling on the
people and expose, blur and add noise in linear light; ``DisplayTransform`` then turns the result into 8-bit sRGB
with Blender's own colour management (AgX, Filmic or Standard and a look), exactly as Blender would have written
the render, always at exposure 0 (so no per-exposure colour-management state accumulates).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

ALBEDO_PREFIX = "albedo_"
DEVELOP_NAME = "bpgen_develop"


def enable_albedo_output() -> None:
    """Write the DiffCol pass as half-float EXR next to the colour, registered as BlenderProc's ``diffuse`` output
    (BlenderProc's own ``enable_diffuse_color_output`` writes 8-bit PNG, through the view transform)."""
    import bpy
    from blenderproc.python.utility.Utility import Utility

    output_dir = Utility.get_temporary_directory()
    scene = bpy.context.scene
    scene.render.use_compositing = True
    scene.use_nodes = True
    tree = scene.node_tree
    bpy.context.view_layer.use_pass_diffuse_color = True
    layers = Utility.get_the_one_node_with_type(tree.nodes, "CompositorNodeRLayers")
    output = tree.nodes.new("CompositorNodeOutputFile")
    output.base_path = output_dir
    output.format.file_format = "OPEN_EXR"
    output.format.color_depth = "16"
    output.file_slots.values()[0].path = ALBEDO_PREFIX
    tree.links.new(layers.outputs["DiffCol"], output.inputs["Image"])
    Utility.add_output_entry(
        {"key": "diffuse", "path": os.path.join(output_dir, ALBEDO_PREFIX) + "%04d.exr", "version": "2.0.0"}
    )


class DisplayTransform:
    """Blender's view transform of a linear-light frame, through a scene of its own (not the rendered one)."""

    def __init__(self, view_transform: str, look: str) -> None:
        self.view_transform = view_transform
        self.look = look

    def _scene(self) -> Any:
        import bpy

        scene = bpy.data.scenes.get(DEVELOP_NAME) or bpy.data.scenes.new(DEVELOP_NAME)
        scene.display_settings.display_device = "sRGB"
        scene.view_settings.view_transform = self.view_transform
        scene.view_settings.look = self.look
        scene.view_settings.exposure = 0.0
        scene.view_settings.gamma = 1.0
        settings = scene.render.image_settings
        settings.file_format, settings.color_mode, settings.color_depth = "PNG", "RGB", "8"
        settings.compression = 0
        return scene

    def _image(self, width: int, height: int) -> Any:
        import bpy

        image = bpy.data.images.get(DEVELOP_NAME)
        if image is not None and tuple(image.size) != (width, height):
            bpy.data.images.remove(image)
            image = None
        if image is None:
            image = bpy.data.images.new(DEVELOP_NAME, width, height, alpha=True, float_buffer=True)
        return image

    def apply(self, linear: np.ndarray) -> np.ndarray:
        """[H,W,3] linear Rec.709 (float) -> [H,W,3] uint8 sRGB."""
        import cv2
        from blenderproc.python.utility.Utility import Utility

        height, width = linear.shape[:2]
        rgba = np.ones((height, width, 4), np.float32)
        rgba[..., :3] = linear
        image = self._image(width, height)
        image.pixels.foreach_set(rgba[::-1].ravel())  # Blender's rows run bottom-up
        path = os.path.join(Utility.get_temporary_directory(), f"{DEVELOP_NAME}.png")
        image.save_render(path, scene=self._scene())
        out = cv2.imread(path, cv2.IMREAD_COLOR)
        os.remove(path)
        return np.ascontiguousarray(out[..., ::-1])
