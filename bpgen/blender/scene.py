"""Realise a ``ScenePlan`` with BlenderProc and render its frames (the only place that builds Blender data).

No random numbers are drawn here: every choice comes from the plan.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from bpgen.blender import bproc_adapter
from bpgen.blender.develop import DisplayTransform, enable_albedo_output
from bpgen.blender.mesh import link_object, pose_per_frame, triangle_mesh
from bpgen.blender.person import add_person_mesh
from bpgen.blender.world import build_world, natural_surface, textured_material
from bpgen.errors import DeviceError
from bpgen.quality.cycles import DENOISE_PASSES
from bpgen.scene.plan import ScenePlan, WorldSpec
from bpgen.scene.renderer import RenderedFrame, RenderSettings, person_name
from bpgen.scene.specs import NATURAL_PATTERNS, LightSpec, MaterialSpec, ObjectSpec

GPU_TYPES = {"auto": ["OPTIX", "CUDA"], "optix": ["OPTIX"], "cuda": ["CUDA"], "cpu": []}


def available_devices() -> dict[str, list[str]]:
    """Cycles compute devices found per backend, e.g. {"CPU": [...], "CUDA": [...], "OPTIX": [...]}."""
    import bpy

    preferences = bpy.context.preferences.addons["cycles"].preferences
    found: dict[str, list[str]] = {}
    for backend in ("CPU", "CUDA", "OPTIX", "HIP"):
        try:
            devices = preferences.get_devices_for_type(backend)
        except (TypeError, ValueError):  # backend not compiled in
            continue
        names = [d.name for d in devices if d.type == backend]
        if names:
            found[backend] = names
    return found


def render_threads(config_threads: int) -> int:
    """Threads to render with: the config's, else BPGEN_RENDER_THREADS (set by 2-submit's tasks), else
    SLURM_CPUS_PER_TASK, else this process's CPU affinity (``bpgen.hostinfo.usable_cpus``)."""
    from bpgen.hostinfo import usable_cpus

    if config_threads > 0:
        return config_threads
    value = os.environ.get("BPGEN_RENDER_THREADS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    return usable_cpus()


def apply_quality(scene: Any, config: RenderSettings, gpu: bool) -> None:
    """Samples, denoiser and light paths (``quality=`` preset, bpgen.quality.cycles) on a bpy scene whose compositor
    denoiser (BlenderProc's init adds one) is already gone: Cycles' own denoiser is used instead."""
    quality, cycles = config.cycles, scene.cycles
    cycles.samples = config.samples
    cycles.use_adaptive_sampling = quality.adaptive
    cycles.adaptive_threshold = quality.noise_threshold
    cycles.adaptive_min_samples = quality.min_samples
    cycles.use_denoising = config.denoiser != "none"
    for layer in scene.view_layers:  # Blender denoises a view layer only when both flags are on
        layer.cycles.use_denoising = cycles.use_denoising
    if cycles.use_denoising:
        cycles.denoiser = config.denoiser
        cycles.denoising_input_passes = DENOISE_PASSES[quality.denoise_passes]
        cycles.denoising_prefilter = quality.denoise_prefilter.upper()
        cycles.denoising_quality = quality.denoise_quality.upper()
        cycles.denoising_use_gpu = gpu
    cycles.use_light_tree = quality.light_tree
    cycles.use_guiding = quality.path_guiding and not gpu  # Cycles guides paths on the CPU only
    cycles.max_bounces = config.max_bounces
    cycles.diffuse_bounces = quality.diffuse_bounces
    cycles.glossy_bounces = quality.glossy_bounces
    cycles.transmission_bounces = quality.transmission_bounces
    cycles.transparent_max_bounces = quality.transparent_bounces
    cycles.volume_bounces = quality.volume_bounces
    cycles.sample_clamp_direct = quality.clamp_direct
    cycles.sample_clamp_indirect = quality.clamp_indirect
    cycles.caustics_reflective = cycles.caustics_refractive = quality.caustics
    cycles.blur_glossy = quality.filter_glossy
    cycles.texture_limit_render = str(quality.texture_limit) if quality.texture_limit else "OFF"
    scene.render.use_simplify = quality.texture_limit > 0  # Cycles reads the texture limit from Simplify


class BlenderScene:
    """One Blender session: renderer set up once, then ``build(plan)`` + ``render()`` per scene.

    The ``bpgen.scene.renderer.Renderer`` of the shard loop; the class is its ``RendererFactory``.
    """

    def __init__(
        self,
        config: RenderSettings,
        segmentation_keys: tuple[str, ...] = ("instance", "name"),
    ) -> None:
        self.config = config
        self.segmentation_keys = segmentation_keys
        self.bproc = bproc_adapter.load_blenderproc()
        self._device = self._setup_renderer()
        self._display = DisplayTransform(config.photo.view_transform, config.photo.blender_look)

    @property
    def device(self) -> str:
        """The Cycles device, e.g. "OPTIX:NVIDIA H200" or "CPU:16 threads"."""
        return self._device

    def versions(self) -> dict[str, str]:
        """Blender's and BlenderProc's versions."""
        return bproc_adapter.versions()

    def _setup_renderer(self) -> str:
        import bpy

        bproc, config = self.bproc, self.config
        scene = bpy.context.scene
        scene.render.threads_mode = "FIXED"
        scene.render.threads = render_threads(config.threads)
        # frames of a scene differ only by camera: keep Cycles' synced scene (BVH, shaders) between them;
        # ``build`` frees it between scenes
        scene.render.use_persistent_data = True
        found = available_devices()
        backend = next((b for b in GPU_TYPES[config.device] if b in found), None)
        if config.device in ("optix", "cuda") and backend is None:
            raise DeviceError(
                f"device={config.device} asked for, but Cycles found only {sorted(found)}; "
                "use device=auto or device=cpu"
            )
        if config.denoiser == "OPTIX" and backend != "OPTIX":
            raise DeviceError(
                f"denoiser=OPTIX needs an NVIDIA GPU with OptiX, but Cycles found only {sorted(found)}; "
                "use denoiser=OPENIMAGEDENOISE"
            )
        bproc.renderer.set_render_devices(use_only_cpu=backend is None, desired_gpu_device_type=backend and [backend])
        bproc.camera.set_resolution(config.width, config.height)
        bproc.renderer.set_denoiser(None)  # drops the compositor denoiser BlenderProc's init set up
        apply_quality(scene, config, gpu=backend is not None)
        bproc.renderer.enable_depth_output(activate_antialiasing=False)
        bproc.renderer.enable_segmentation_output(
            map_by=list(self.segmentation_keys), default_values={"category_id": 0}
        )
        # the colour is rendered in linear light (half-float EXR) with its diffuse albedo, so that the frame is
        # metered and exposed in numpy (bpgen.photo.develop); ``display`` then applies the view transform
        bproc.renderer.set_output_format(file_format="OPEN_EXR", color_depth=16)
        enable_albedo_output()
        scene.view_settings.exposure = 0.0
        return f"{backend}:{','.join(found[backend])}" if backend else f"CPU:{scene.render.threads} threads"

    # --- scene content -------------------------------------------------------------------------------------
    def build(self, plan: ScenePlan) -> None:
        """Replace the current scene content by ``plan``'s."""
        import bpy

        bproc = self.bproc
        bproc.clean_up(clean_up_camera=False)
        bproc.utility.reset_keyframes()
        bpy.context.scene.cycles.seed = plan.cycles_seed
        # a scene's frames share Cycles' persistent data, scenes do not: turning it off frees the previous
        # scene's session (BVH, shaders, light tree), so a scene renders the same pixels whatever was rendered
        # before it in this process (a resumed shard equals an uninterrupted one)
        bpy.context.scene.render.use_persistent_data = False
        bpy.context.scene.render.use_persistent_data = True
        for i, (person, material) in enumerate(zip(plan.people, plan.person_materials, strict=True)):
            if person.look is not None and person.posed.surface is not None:
                obj = add_person_mesh(person_name(i), person.posed, person.look)  # skin, eyes, hair, clothes
            else:
                obj = self._mesh(person_name(i), person.posed.vertices, person.posed.faces, material).blender_obj
            poses = [plan.people_in(f)[i].posed.vertices for f in range(len(plan.frames))]
            if any(p is not poses[0] for p in poses):  # posed anew in later frames: the same mesh, moved
                pose_per_frame(obj, poses)
        half = plan.floor_size / 2.0
        floor = bproc.object.create_primitive("PLANE", scale=[half, half, 1.0])
        floor.set_name("floor")
        if plan.room is not None:  # below the room's slab: the ground seen through its windows and doors
            floor.set_location((0.0, 0.0, -0.02))
        if plan.world.backplate:  # the HDRI shows through the ground, which keeps the people's shadows
            floor.blender_obj.is_shadow_catcher = True
            catcher = MaterialSpec(color=plan.world.ground_albedo, roughness=1.0, metallic=0.0)
            floor.replace_materials(self._material("floor", catcher))
        else:
            floor.replace_materials(
                self._material("floor", plan.floor, world_scale=True, object_scale=(half, half, 1.0))
            )
        for i, spec in enumerate(plan.objects):
            self._primitive(f"{spec.role}_{i:02d}", spec)
        for i, light in enumerate(plan.lights):
            self._light(i, light)
        self._world(plan.world)
        self._cameras(plan)
        # BlenderProc numbers objects for the instance map only when segmentation output is enabled; number
        # this scene's objects the same way (background 0).
        for index, obj in enumerate(o for o in bpy.context.scene.objects if o.type == "MESH"):
            obj.pass_index = index + 1
            obj["category_id"] = 1 if obj.name.startswith("person_") else 0  # for BlenderProc's COCO writer

    def _mesh(self, name: str, vertices: np.ndarray, faces: np.ndarray, material: MaterialSpec) -> Any:
        obj = link_object(name, triangle_mesh(name, vertices, faces))
        wrapped = self.bproc.types.MeshObject(obj)
        wrapped.replace_materials(self._material(name, material))
        return wrapped

    def _primitive(self, name: str, spec: ObjectSpec) -> None:
        obj = self.bproc.object.create_primitive(spec.kind)
        obj.set_name(name)
        obj.set_location(spec.location)
        obj.set_rotation_euler(spec.rotation_euler)
        obj.set_scale(spec.scale)
        obj.replace_materials(
            self._material(name, spec.material, world_scale=spec.role == "wall", object_scale=spec.scale)
        )

    def _material(
        self,
        name: str,
        spec: MaterialSpec,
        world_scale: bool = False,
        object_scale: tuple[float, float, float] = (1.0, 1.0, 1.0),
    ) -> Any:
        if spec.texture is not None:  # a PBR texture set of the asset library, tiled in metres
            return textured_material(self.bproc, name, spec.texture, spec.roughness, object_scale)
        material = self.bproc.material.create(f"mat_{name}")
        bsdf = material.get_the_one_node_with_type("BsdfPrincipled")
        bsdf.inputs["Roughness"].default_value = spec.roughness
        bsdf.inputs["Metallic"].default_value = spec.metallic
        color = (*spec.color, 1.0)
        if spec.pattern in NATURAL_PATTERNS:
            natural_surface(material, bsdf, spec, object_scale)
            return material
        if spec.pattern == "plain":
            bsdf.inputs["Base Color"].default_value = color
            return material
        coords = material.new_node("ShaderNodeTexCoord")
        mapping = material.new_node("ShaderNodeMapping")
        scale = spec.scale / (10.0 if world_scale else 1.0)
        mapping.inputs["Scale"].default_value = (scale, scale, scale)
        material.link(coords.outputs["Object"], mapping.inputs["Vector"])
        node_type = {
            "noise": "ShaderNodeTexNoise",
            "checker": "ShaderNodeTexChecker",
            "voronoi": "ShaderNodeTexVoronoi",
            "wave": "ShaderNodeTexWave",
            "brick": "ShaderNodeTexBrick",
        }[spec.pattern]
        texture = material.new_node(node_type)
        material.link(mapping.outputs["Vector"], texture.inputs["Vector"])
        if "Distortion" in texture.inputs:
            texture.inputs["Distortion"].default_value = spec.distortion
        mix = material.new_node("ShaderNodeMix")
        mix.data_type = "RGBA"
        mix.inputs["A"].default_value = color
        mix.inputs["B"].default_value = (*spec.color2, 1.0)
        factor = texture.outputs["Fac"] if "Fac" in texture.outputs else texture.outputs["Distance"]
        material.link(factor, mix.inputs["Factor"])
        material.link(mix.outputs["Result"], bsdf.inputs["Base Color"])
        return material

    def _light(self, index: int, spec: LightSpec) -> None:
        light = self.bproc.types.Light(light_type=spec.kind, name=f"light_{index:02d}")
        light.set_location(spec.location)
        light.set_rotation_euler(spec.rotation_euler)
        light.set_energy(spec.energy)
        light.set_color(spec.color)
        data = light.blender_obj.data
        if spec.kind == "AREA":
            data.size = spec.size
        elif spec.kind in ("POINT", "SPOT"):
            data.shadow_soft_size = spec.size / 4.0

    def _world(self, spec: WorldSpec) -> None:
        build_world(spec)

    def _cameras(self, plan: ScenePlan) -> None:
        import bpy

        camera = bpy.context.scene.camera
        camera.data.sensor_fit = "HORIZONTAL"
        camera.data.sensor_width = 36.0
        camera.data.shift_x = camera.data.shift_y = 0.0
        camera.data.clip_start, camera.data.clip_end = 0.01, 1000.0
        camera.data.animation_data_clear()
        camera.data.dof.use_dof = False  # depth of field is a post-process (bpgen.photo.develop): exact masks
        for frame, view in enumerate(plan.frames):
            self.bproc.camera.add_camera_pose(view.camera.cam2world, frame=frame)
            camera.data.lens = view.camera.lens_mm
            camera.data.keyframe_insert(data_path="lens", frame=frame)

    # --- rendering -----------------------------------------------------------------------------------------
    def render(self) -> list[RenderedFrame]:
        data = self.bproc.renderer.render(verbose=False)
        frames = []
        for rgb, albedo, depth, segmap, attributes in zip(
            data["colors"],
            data["diffuse"],
            data["depth"],
            data["instance_segmaps"],
            data["instance_attribute_maps"],
            strict=True,
        ):
            index_of = {entry["name"]: int(entry["idx"]) for entry in attributes}
            frames.append(
                RenderedFrame(
                    np.asarray(rgb, np.float32)[..., :3],
                    np.asarray(albedo, np.float32)[..., :3],
                    np.asarray(depth, np.float32),
                    np.asarray(segmap).astype(np.int32),
                    index_of,
                )
            )
        return frames

    def display(self, linear: np.ndarray) -> np.ndarray:
        """Blender's view transform (``photo.view_transform`` and ``photo.look``, exposure 0) of an exposed
        linear-light frame: 8-bit sRGB, as Blender would have written the render."""
        return self._display.apply(linear)
