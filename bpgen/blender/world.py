"""Blender node trees for the world (HDRI, physical sky or flat colour) and for textured PBR materials.

Realises ``bpgen.world.assets`` specs; no random number is drawn here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpgen.world.assets import TextureSpec, WorldSpec

BOX_BLEND = 0.25  # soft seams where box projection switches faces
BUMP_DISTANCE_M = 0.02  # relief of a displacement map used as bump (no normal map in the set)


def load_image(path: str, non_color: bool = False) -> Any:
    """An image datablock (loaded once per scene); data maps (roughness, normal, height) are not colour."""
    import bpy

    image = bpy.data.images.load(path, check_existing=True)
    if non_color:
        image.colorspace_settings.name = "Non-Color"
    return image


def build_world(spec: WorldSpec) -> None:
    """The scene's world: an HDRI environment (rotated about Z, tinted, scaled), a Nishita sky or a colour."""
    import bpy

    world = bpy.context.scene.world or bpy.data.worlds.new("World")
    bpy.context.scene.world = world
    world.use_nodes = True
    nodes, links = world.node_tree.nodes, world.node_tree.links
    nodes.clear()
    output = nodes.new("ShaderNodeOutputWorld")
    background = nodes.new("ShaderNodeBackground")
    background.inputs["Strength"].default_value = spec.strength
    links.new(background.outputs["Background"], output.inputs["Surface"])
    if spec.kind == "hdri":
        coords = nodes.new("ShaderNodeTexCoord")
        mapping = nodes.new("ShaderNodeMapping")
        mapping.inputs["Rotation"].default_value = (0.0, 0.0, float(np.radians(spec.rotation_deg)))
        links.new(coords.outputs["Generated"], mapping.inputs["Vector"])
        environment = nodes.new("ShaderNodeTexEnvironment")
        environment.image = load_image(spec.hdri)
        links.new(mapping.outputs["Vector"], environment.inputs["Vector"])
        tint = nodes.new("ShaderNodeMix")
        tint.data_type = "RGBA"
        tint.blend_type = "MULTIPLY"
        tint.inputs["Factor"].default_value = 1.0
        tint.inputs["B"].default_value = (*spec.tint, 1.0)
        links.new(environment.outputs["Color"], tint.inputs["A"])
        links.new(tint.outputs["Result"], background.inputs["Color"])
    elif spec.kind == "sky":
        sky = nodes.new("ShaderNodeTexSky")
        sky.sky_type = "NISHITA"
        sky.sun_elevation = np.radians(spec.sun_elevation_deg)
        sky.sun_rotation = np.radians(spec.sun_rotation_deg)
        sky.air_density = spec.air_density
        links.new(sky.outputs["Color"], background.inputs["Color"])
    else:
        background.inputs["Color"].default_value = (*spec.color, 1.0)


def textured_material(
    bproc: Any, name: str, texture: TextureSpec, roughness: float, object_scale: tuple[float, float, float]
) -> Any:
    """A Principled BSDF fed by a PBR texture set, box-projected on the object's own axes scaled to metres
    (``object_scale``: the object's scale, whose unit primitive spans -1..1), one repeat per ``tile_m``.
    ``roughness`` is used when the set has no roughness map."""
    material = bproc.material.create(f"mat_{name}")
    bsdf = material.get_the_one_node_with_type("BsdfPrincipled")
    bsdf.inputs["Metallic"].default_value = 0.0
    bsdf.inputs["Roughness"].default_value = roughness
    coords = material.new_node("ShaderNodeTexCoord")
    mapping = material.new_node("ShaderNodeMapping")
    mapping.inputs["Scale"].default_value = tuple(float(s) / texture.tile_m for s in object_scale)
    mapping.inputs["Location"].default_value = tuple(o / texture.tile_m for o in texture.offset_m)
    material.link(coords.outputs["Object"], mapping.inputs["Vector"])

    def image(path: str, non_color: bool) -> Any:
        node = material.new_node("ShaderNodeTexImage")
        node.image = load_image(path, non_color)
        node.projection = "BOX"
        node.projection_blend = BOX_BLEND
        material.link(mapping.outputs["Vector"], node.inputs["Vector"])
        return node

    maps = texture.textures
    material.link(image(maps.color, False).outputs["Color"], bsdf.inputs["Base Color"])
    if maps.roughness:
        material.link(image(maps.roughness, True).outputs["Color"], bsdf.inputs["Roughness"])
    if maps.normal:
        normal = material.new_node("ShaderNodeNormalMap")
        material.link(image(maps.normal, True).outputs["Color"], normal.inputs["Color"])
        material.link(normal.outputs["Normal"], bsdf.inputs["Normal"])
    elif maps.displacement:
        bump = material.new_node("ShaderNodeBump")
        bump.inputs["Distance"].default_value = BUMP_DISTANCE_M
        material.link(image(maps.displacement, True).outputs["Color"], bump.inputs["Height"])
        material.link(bump.outputs["Normal"], bsdf.inputs["Normal"])
    return material


def natural_surface(material: Any, bsdf: Any, spec: Any, object_scale: tuple[float, float, float]) -> None:
    """Planks, tiles or a fine grain laid out in metres on the surface (``bpgen.scene.specs.MaterialSpec``'s natural
    patterns): object coordinates times the object's scale, the two largest axes as the surface's plane."""
    coords = material.new_node("ShaderNodeTexCoord")
    metres = material.new_node("ShaderNodeVectorMath")
    metres.operation = "MULTIPLY"
    metres.inputs[1].default_value = object_scale
    material.link(coords.outputs["Object"], metres.inputs[0])
    split = material.new_node("ShaderNodeSeparateXYZ")
    material.link(metres.outputs["Vector"], split.inputs["Vector"])
    plane = material.new_node("ShaderNodeCombineXYZ")
    axes = sorted(range(3), key=lambda i: -object_scale[i])[:2]
    for axis, socket in zip(sorted(axes), ("X", "Y"), strict=True):
        material.link(split.outputs["XYZ"[axis]], plane.inputs[socket])
    mottle = material.new_node("ShaderNodeTexNoise")
    mottle.inputs["Scale"].default_value = 1.0 / max(spec.scale, 1e-3)
    mottle.inputs["Detail"].default_value = 6.0
    material.link(metres.outputs["Vector"], mottle.inputs["Vector"])
    shade = material.new_node("ShaderNodeMix")
    shade.data_type = "RGBA"
    shade.inputs["A"].default_value = (*spec.color, 1.0)
    shade.inputs["B"].default_value = (*spec.color2, 1.0)
    material.link(mottle.outputs["Fac"], shade.inputs["Factor"])
    if spec.pattern == "grain":
        material.link(shade.outputs["Result"], bsdf.inputs["Base Color"])
        return
    bricks = material.new_node("ShaderNodeTexBrick")
    bricks.inputs["Scale"].default_value = 1.0
    bricks.inputs["Brick Width"].default_value = spec.element_m[0]
    bricks.inputs["Row Height"].default_value = spec.element_m[1]
    bricks.inputs["Mortar Size"].default_value = spec.gap_m
    bricks.inputs["Mortar Smooth"].default_value = 0.2
    bricks.inputs["Bias"].default_value = 0.0
    bricks.offset = 0.5 if spec.pattern == "planks" or spec.element_m[0] != spec.element_m[1] else 0.0
    bricks.inputs["Mortar"].default_value = (*spec.gap_color, 1.0)
    material.link(plane.outputs["Vector"], bricks.inputs["Vector"])
    material.link(shade.outputs["Result"], bricks.inputs["Color1"])
    darker = material.new_node("ShaderNodeMix")
    darker.data_type = "RGBA"
    darker.blend_type = "MULTIPLY"
    darker.inputs["Factor"].default_value = 1.0
    darker.inputs["B"].default_value = (0.82, 0.8, 0.78, 1.0)  # the element-to-element variation
    material.link(shade.outputs["Result"], darker.inputs["A"])
    material.link(darker.outputs["Result"], bricks.inputs["Color2"])
    material.link(bricks.outputs["Color"], bsdf.inputs["Base Color"])
    if spec.pattern == "planks":  # grain along the planks
        grain = material.new_node("ShaderNodeTexWave")
        grain.wave_type = "BANDS"
        grain.bands_direction = "Y"
        grain.inputs["Scale"].default_value = 40.0
        grain.inputs["Distortion"].default_value = 8.0
        grain.inputs["Detail"].default_value = 4.0
        material.link(plane.outputs["Vector"], grain.inputs["Vector"])
        figure = material.new_node("ShaderNodeMix")
        figure.data_type = "RGBA"
        figure.blend_type = "MULTIPLY"
        figure.inputs["Factor"].default_value = 0.35
        material.link(bricks.outputs["Color"], figure.inputs["A"])
        material.link(grain.outputs["Color"], figure.inputs["B"])
        material.link(figure.outputs["Result"], bsdf.inputs["Base Color"])
