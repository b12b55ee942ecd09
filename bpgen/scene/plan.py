"""Draw a whole scene as plain data: people, materials, floor, walls, sky, lights, clutter, occluders, cameras.

``plan_scene`` takes an explicit ``numpy.random.Generator`` and returns a ``ScenePlan``; the Blender
boundary (``bpgen.blender.scene``) realises it without drawing any random number of its own, so a plan and
therefore a shard is reproducible from its seed.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, replace

import numpy as np

from bpgen.bodies import Body
from bpgen.choice import choose
from bpgen.colour import blackbody_color
from bpgen.geometry.camera import Camera, fx_from_fov, look_at
from bpgen.geometry.collision import bodies_overlap, spheres_hit_capsules
from bpgen.photo.sampling import PhotoSpec, sample_photo
from bpgen.poses.person import Person, repose_person, sample_person
from bpgen.scene.config import PlanConfig
from bpgen.scene.framing import camera_height, direction_from, draw_fraction, frame_subject
from bpgen.scene.rooms import Room, ground_material, plan_room
from bpgen.scene.specs import LightSpec, MaterialSpec, ObjectSpec, sample_material
from bpgen.world.assets import (
    WorldSpec,
    ground_albedo,
    hdri_sidecar,
    hdri_size,
    load_catalogue,
    look_azimuth,
    sample_texture,
    sample_world,
)

CAMERA_TRIES = 30  # camera draws per frame before the last one is taken as it is
REPOSE_TRIES = 10  # new poses tried per person and frame before it keeps the previous frame's
PRIMITIVES = ("CUBE", "CYLINDER", "CONE", "SPHERE", "MONKEY")
LIGHT_ENERGY = {"POINT": (200.0, 1500.0), "SUN": (1.0, 5.0), "AREA": (200.0, 1500.0), "SPOT": (300.0, 2000.0)}
LIGHT_TYPES = tuple(LIGHT_ENERGY)  # watts, except SUN: W/m^2


@dataclass(frozen=True)
class FrameCamera:
    camera: Camera
    viewpoint: str  # "default" or a viewpoint kind of mode=viewpoint
    photo: PhotoSpec  # camera class, field of view, aperture, ISO, white balance, noise, JPEG quality


@dataclass(frozen=True)
class ScenePlan:
    people: list[Person]
    person_materials: list[MaterialSpec]
    floor: MaterialSpec
    floor_size: float
    objects: list[ObjectSpec]
    lights: list[LightSpec]
    world: WorldSpec
    frames: list[FrameCamera]
    cycles_seed: int
    pose_attempts: int = 0  # poses drawn in total (for the rejection rate)
    dropped_people: int = 0  # people that found no collision-free spot
    layout: str = (
        "random"  # room, outdoor, random (domain randomisation), or backplate (an outdoor one before its HDRI)
    )
    room: Room | None = None  # its parts are among ``objects`` (role "room")
    # the people of frames 1.. when each frame poses them anew (``pose.per_frame``); frame 0 shows ``people``
    frame_people: tuple[tuple[Person, ...], ...] = ()
    reposed: int = 0  # person-frames given a new pose (the others kept the previous frame's)

    def people_in(self, frame: int) -> list[Person]:
        """Who frame ``frame`` shows, in the pose of that frame (same people, same order, in every frame)."""
        return _people_in(self.people, self.frame_people, frame)


def _people_in(people: list[Person], frame_people: tuple[tuple[Person, ...], ...], frame: int) -> list[Person]:
    return list(frame_people[frame - 1]) if frame > 0 and frame_people else people


def _place_people(
    rng: np.random.Generator, body: Body, config: PlanConfig
) -> tuple[list[Person], int, int, list[np.random.Generator]]:
    """Draw the people and place them on the floor without interpenetration; also each placed person's stream
    for the poses of later frames (spawned after the person's own draws, which it leaves as they were)."""
    low, high = config.mode.people
    count = int(rng.integers(low, high + 1))
    spacing = (0.35, 1.0) if config.mode.name == "occlusion" else config.scene.person_spacing
    people: list[Person] = []
    frame_streams: list[np.random.Generator] = []
    attempts = dropped = 0
    for person_rng in rng.spawn(count):  # one stream per person: the i-th person draws the same on any body
        person = sample_person(person_rng, body, config.pose, config.body, config.look)
        attempts += person.attempts
        center = person.posed.vertices.mean(axis=0)
        for _try in range(30):
            if people:
                anchor = people[int(rng.integers(len(people)))].posed.vertices.mean(axis=0)
                angle = rng.uniform(0.0, 2.0 * np.pi)
                gap = rng.uniform(*spacing)
                reach = np.ptp(person.posed.vertices[:, :2], axis=0).max() / 2.0
                offset = anchor[:2] + (gap + reach) * np.array([np.cos(angle), np.sin(angle)]) - center[:2]
            else:
                offset = -center[:2]
            candidate = person.moved(np.array([offset[0], offset[1], 0.0]))
            if not any(bodies_overlap(candidate.obstacles, p.obstacles) for p in people):
                people.append(candidate)
                frame_streams.append(person_rng.spawn(1)[0])
                break
        else:
            dropped += 1
    return people, attempts, dropped, frame_streams


def _repose(
    streams: list[np.random.Generator],
    body: Body,
    config: PlanConfig,
    people: list[Person],
    objects: list[ObjectSpec],
    room: Room | None,
    frames: int,
) -> tuple[tuple[tuple[Person, ...], ...], int]:
    """The people of frames 1..``frames``-1, each in a new pose drawn from its own stream (``repose_person``:
    where it stood, or on its seat), clear of the others and of the objects, inside the room; a person whose new
    poses all collide keeps the previous frame's pose."""
    shown = list(people)
    out: list[tuple[Person, ...]] = []
    reposed = 0
    for _frame in range(1, frames):
        for i, stream in enumerate(streams):
            others = [p for j, p in enumerate(shown) if j != i]
            for _try in range(REPOSE_TRIES):
                candidate = repose_person(stream, body, shown[i], config.pose)
                if candidate is None:
                    break
                if _stands_clear(candidate, others, objects, room):
                    shown[i] = candidate
                    reposed += 1
                    break
        out.append(tuple(shown))
    return tuple(out), reposed


def _stands_clear(person: Person, others: list[Person], objects: list[ObjectSpec], room: Room | None) -> bool:
    """``person`` touches no other person nor their seats (in their obstacles), no occluder or distractor (walls
    and room parts are kept away by ``room``) and stays inside ``room``."""
    if any(bodies_overlap(person.obstacles, p.obstacles) for p in others):
        return False
    for obj in objects:
        if obj.role in ("room", "wall", "seat"):
            continue
        if spheres_hit_capsules(np.array([obj.location]), np.array([obj.bounding_radius]), person.obstacles, 0.05):
            return False
    return room is None or all(room.contains(point) for point in person.posed.vertices[::50])


def _group_sphere(people: list[Person]) -> tuple[np.ndarray, float]:
    points = np.concatenate([p.posed.vertices[::37] for p in people])
    center = (points.min(axis=0) + points.max(axis=0)) / 2.0
    return center, float(np.linalg.norm(points - center, axis=1).max())


def _objects(
    rng: np.random.Generator,
    config: PlanConfig,
    people: list[Person],
    center: np.ndarray,
    radius: float,
    occluder_azimuth: float,
    walls: bool,
) -> list[ObjectSpec]:
    objects: list[ObjectSpec] = []
    occluder_count = int(rng.integers(config.mode.occluders[0], config.mode.occluders[1] + 1))
    distractor_count = int(rng.integers(config.scene.distractors[0], config.scene.distractors[1] + 1))
    wanted = [("occluder", occluder_count), ("distractor", distractor_count)]
    for role, count in wanted:
        for _ in range(count):
            for _try in range(20):
                if role == "occluder":
                    kind = str(rng.choice(["CUBE", "CUBE", "CYLINDER", "SPHERE"]))
                    # panels, pillars and boulders between the people and the cameras' side of the scene
                    size = (rng.uniform(0.2, 0.7), rng.uniform(0.05, 0.4), rng.uniform(0.4, 1.0))
                    azimuth = occluder_azimuth + np.radians(rng.uniform(-12, 12))
                    distance = 0.6 * radius + rng.uniform(0.3, 1.2)
                    yaw = azimuth - np.pi / 2 + np.radians(rng.uniform(-20, 20))  # broad side to the cameras
                else:
                    kind = str(rng.choice(PRIMITIVES))
                    a, b, c = rng.uniform(0.1, 0.5) * rng.uniform(0.6, 1.4, size=3)
                    size = (float(a), float(b), float(c))
                    azimuth = rng.uniform(0.0, 2.0 * np.pi)
                    distance = radius + rng.uniform(0.3, 4.0)
                    yaw = rng.uniform(0, 2 * np.pi)
                xy = center[:2] + distance * np.array([np.cos(azimuth), np.sin(azimuth)])
                location = np.array([xy[0], xy[1], size[2]])
                bounding = float(np.linalg.norm(size))
                if any(spheres_hit_capsules(location[None], np.array([bounding]), p.obstacles, 0.05) for p in people):
                    continue
                objects.append(
                    ObjectSpec(
                        kind,
                        (float(location[0]), float(location[1]), float(location[2])),
                        (0.0, 0.0, float(yaw)),
                        size,
                        sample_material(rng),
                        role,
                    )
                )
                break
    wall_count = int(rng.integers(config.scene.walls[0], config.scene.walls[1] + 1))
    for _ in range(wall_count):
        azimuth = rng.uniform(0.0, 2.0 * np.pi)
        distance = radius + rng.uniform(4.0, 12.0)
        xy = center[:2] + distance * np.array([np.cos(azimuth), np.sin(azimuth)])
        objects.append(
            ObjectSpec(
                "PLANE",
                (float(xy[0]), float(xy[1]), 10.0),
                (np.pi / 2, 0.0, float(azimuth + np.pi / 2)),
                (30.0, 10.0, 1.0),
                sample_material(rng),
                "wall",
            )
        )
    return objects if walls else [o for o in objects if o.role != "wall"]


# what seats are made of: (base colour HSV ranges, roughness, metallic, pattern) per material
SEAT_MATERIALS = {
    "wood": (((0.04, 0.10), (0.35, 0.70), (0.12, 0.55)), (0.45, 0.80), 0.0, "wave"),
    "plastic": (((0.0, 1.0), (0.0, 0.15), (0.05, 0.85)), (0.30, 0.60), 0.0, "plain"),
    "metal": (((0.0, 1.0), (0.0, 0.08), (0.35, 0.75)), (0.25, 0.50), 1.0, "plain"),
    "concrete": (((0.05, 0.12), (0.02, 0.12), (0.30, 0.60)), (0.80, 0.95), 0.0, "noise"),
    "upholstery": (((0.0, 1.0), (0.10, 0.45), (0.05, 0.45)), (0.70, 0.95), 0.0, "noise"),
}
SEAT_MATERIAL_MIX = {
    "chair": {"wood": 2.0, "plastic": 1.5, "metal": 0.5, "upholstery": 1.0},
    "stool": {"wood": 1.0, "plastic": 1.0, "metal": 1.0},
    "bench": {"wood": 2.0, "metal": 1.0, "concrete": 0.5},
    "box": {"wood": 1.0, "plastic": 1.0, "concrete": 0.3},
    "step": {"concrete": 2.0, "wood": 1.0},
}


def seat_material(rng: np.random.Generator, kind: str) -> MaterialSpec:
    """A plausible material for a seat of ``kind``: wood with its grain, plastic, metal, concrete, upholstery."""
    material = choose(rng, SEAT_MATERIAL_MIX[kind])
    (hue, saturation, value), roughness, metallic, pattern = SEAT_MATERIALS[material]
    h, s, v = (float(rng.uniform(*r)) for r in (hue, saturation, value))
    color = tuple(float(c) for c in colorsys.hsv_to_rgb(h, s, v))
    darker = tuple(float(c) for c in colorsys.hsv_to_rgb(h, min(1.0, s * 1.1), v * rng.uniform(0.6, 0.85)))
    return MaterialSpec(
        color=color,  # type: ignore[arg-type]
        roughness=float(rng.uniform(*roughness)),
        metallic=metallic,
        pattern=pattern,
        color2=darker,  # type: ignore[arg-type]
        scale=float(rng.uniform(8.0, 20.0)),
        distortion=float(rng.uniform(0.5, 4.0)),
    )


def _seats(rng: np.random.Generator, people: list[Person]) -> list[ObjectSpec]:
    """The parts of every person's seat, one material per seat (category 0: never in a person's mask)."""
    objects = []
    for person in people:
        if person.seat is None:
            continue
        material = seat_material(rng, person.seat.kind)
        for part in person.seat.parts:
            objects.append(
                ObjectSpec(part.shape, part.center, (0.0, 0.0, part.yaw), part.half_extents, material, "seat")
            )
    return objects


def _camera(
    rng: np.random.Generator,
    config: PlanConfig,
    viewpoint: str,
    photo: PhotoSpec,
    people: list[Person],
    center: np.ndarray,
    radius: float,
    azimuth_center: float | None,
    backdrop: Backdrop | None,
) -> Camera:
    """One frame's camera: a photographer's framing of one person or of the group (``bpgen.scene.framing``), or
    one of mode=viewpoint's extreme viewpoints; the field of view is the frame's camera class's. Before an HDRI
    backplate the camera stands at its capture height and looks at its open ground."""
    width, height = config.resolution
    settings = config.camera
    u_group, u_subject, u_azimuth, u_x, u_y, u_roll = rng.uniform(size=6)
    fraction = draw_fraction(rng, settings)
    camera_z = camera_height(rng, settings, photo.elevated)
    azimuth = (
        2.0 * np.pi * u_azimuth if azimuth_center is None else azimuth_center + np.radians(30.0 * u_azimuth - 15.0)
    )
    if backdrop is not None:
        camera_z = backdrop.camera_z(u_roll)
        azimuth = backdrop.camera_azimuth(u_azimuth)
    roll = settings.roll_deg * (2.0 * u_roll - 1.0)
    if viewpoint == "default" and u_group >= settings.group_share:
        subject = people[min(int(u_subject * len(people)), len(people) - 1)]
        offset = (1.4 * u_x - 0.7, 1.4 * u_y - 0.7)
        return frame_subject(
            subject.posed.vertices[::7], photo.fov_deg, width, height, camera_z, azimuth, fraction, roll, offset
        )
    fov = photo.fov_deg
    factor = rng.uniform(*settings.group_margin)
    target = center + rng.normal(0.0, 0.1 * radius, size=3)
    elevation = None
    if viewpoint != "default":  # the extreme viewpoints: their own elevation, field of view, distance and roll
        elevation = rng.uniform(*settings.elevation_deg)
        roll = rng.uniform(-30.0, 30.0)
    if viewpoint == "top_down":
        elevation, fov = rng.uniform(70.0, 89.0), rng.uniform(40.0, 70.0)
    elif viewpoint == "worms_eye":
        elevation = rng.uniform(-10.0, 0.0)
    elif viewpoint == "close_up":
        person = people[int(rng.integers(len(people)))]
        target = person.posed.joints[int(rng.integers(len(person.posed.joints)))]
        factor = rng.uniform(0.15, 0.45)
    elif viewpoint == "wide_fov":
        fov, factor = rng.uniform(90.0, 120.0), rng.uniform(0.6, 1.2)
    elif viewpoint == "narrow_fov":
        fov = rng.uniform(8.0, 20.0)
    fx = fx_from_fov(fov, width)
    half_fov = np.arctan(min(width, height) / (2.0 * fx))
    distance = max(radius / np.sin(half_fov) * factor, 0.3)
    if elevation is None:  # a group shot from the photographer's height
        position = target + distance * direction_from(azimuth, 0.0)
        position[2] = camera_z
    else:
        position = target + distance * direction_from(azimuth, np.radians(elevation))
    if viewpoint == "worms_eye":
        position[2] = rng.uniform(0.05, 0.4)
    position[2] = max(position[2], 0.05)
    return Camera(width, height, float(fx), look_at(position, target, roll))


def _camera_clear(camera: Camera, people: list[Person], objects: list[ObjectSpec], center: np.ndarray) -> bool:
    """The camera is outside every body, object and wall (walls face the people's centre)."""
    position = camera.position
    if any(spheres_hit_capsules(position[None], np.array([0.05]), p.obstacles, 0.15) for p in people):
        return False
    for obj in objects:
        location = np.array(obj.location)
        if obj.role == "room":  # the room's own test is Room.contains (plan_scene keeps the camera inside)
            continue
        if obj.role == "wall":
            normal = (location[:2] - center[:2]) / np.linalg.norm(location[:2] - center[:2])
            if np.dot(position[:2] - center[:2], normal) > np.linalg.norm(location[:2] - center[:2]) - 0.2:
                return False
        elif np.linalg.norm(position - location) < obj.bounding_radius + 0.1:
            return False
    return True


def _furnish(rng: np.random.Generator, objects: list[ObjectSpec], room: Room | None) -> list[ObjectSpec]:
    """Occluders and distractors of a natural layout: plausible materials (wood, plastic, concrete: what boxes,
    crates and pillars are made of) and, in a room, only those inside it. One material draw per object."""
    kept = []
    for obj in objects:
        material = seat_material(rng, "box")
        if obj.role == "seat":
            kept.append(obj)
        elif room is None or room.contains(np.array(obj.location), obj.bounding_radius * 0.5):
            kept.append(replace(obj, material=material))
    return kept


def _lights(rng: np.random.Generator, config: PlanConfig, center: np.ndarray) -> list[LightSpec]:
    """The random set's extra lights: point, sun, area and spot lights of any colour temperature."""
    lights = []
    for _ in range(int(rng.integers(config.scene.lights[0], config.scene.lights[1] + 1))):
        kind = str(rng.choice(LIGHT_TYPES))
        azimuth, elevation = rng.uniform(0, 2 * np.pi), rng.uniform(np.radians(15), np.radians(85))
        distance = rng.uniform(3.0, 8.0)
        location = center + distance * direction_from(azimuth, elevation)
        aim = look_at(location, center)[:3, :3]
        euler = _matrix_to_euler_xyz(aim)
        energy = rng.uniform(*LIGHT_ENERGY[kind])
        lights.append(
            LightSpec(
                kind,
                tuple(location.tolist()),
                euler,
                float(energy),
                blackbody_color(rng.uniform(2500, 9000)),
                float(rng.uniform(0.2, 2.0)),
            )
        )
    return lights


def plan_scene(rng: np.random.Generator, config: PlanConfig, body: Body, frames: int) -> ScenePlan:
    """Draw one scene with ``frames`` camera frames."""
    # independent streams: people, objects and lights, cameras, photometry, world and surfaces, seats, layout;
    # so changing the body model or how many attempts a pose took leaves the other draws of the scene as they were
    people_rng, rng, camera_rng, photo_rng, surfaces, seat_rng, layout_rng = rng.spawn(7)
    people, attempts, dropped, frame_streams = _place_people(people_rng, body, config)
    center, radius = _group_sphere(people)
    layout = choose(layout_rng, config.scene.layout_mix)
    room = plan_room(layout_rng, center, radius) if layout == "room" else None
    ground = ground_material(layout_rng)
    occluder_azimuth = rng.uniform(0.0, 2.0 * np.pi)
    objects = _objects(rng, config, people, center, radius, occluder_azimuth, walls=layout == "random")
    objects += _seats(seat_rng, people)
    if layout != "random":
        objects = _furnish(layout_rng, objects, room)
    # world and surface textures draw from their own stream, see bpgen/world/assets.py
    catalogue = load_catalogue(config.world.assets_dir)
    world = _backdrop(layout_rng, config, layout, sample_world(surfaces, config.world, catalogue))
    frame_people, reposed = (
        _repose(frame_streams, body, config, people, objects, room, frames) if config.pose.per_frame else ((), 0)
    )
    backdrop = None
    if world.backplate:
        layout = "backplate"
        sidecar = hdri_sidecar(world.hdri)
        backdrop = Backdrop(sidecar.capture_height_m, sidecar.open_azimuths_deg, world.rotation_deg)
    cameras: list[FrameCamera] = []
    for frame in range(frames):
        shown = _people_in(people, frame_people, frame)
        aim, reach = _group_sphere(shown) if shown is not people else (center, radius)  # this frame's poses
        viewpoint = choose(camera_rng, config.mode.viewpoints) if config.mode.viewpoints else "default"
        azimuth = occluder_azimuth if config.mode.name == "occlusion" else None
        photo = sample_photo(photo_rng, config.photo, len(people))
        for attempt in range(CAMERA_TRIES):
            camera = _camera(camera_rng, config, viewpoint, photo, shown, aim, reach, azimuth, backdrop)
            if room is not None and not room.contains(camera.position, 0.25):  # the photographer stands in the room:
                if attempt < CAMERA_TRIES - 1:  # a camera behind a wall is a failed try, like one inside a body
                    continue
                camera = _inside(camera, room, aim)  # the last try: moved in along its line of sight
            if _camera_clear(camera, shown, objects, center):
                break
        cameras.append(FrameCamera(camera, viewpoint, photo))
    lights = _lights(rng, config, center)
    if world.kind == "hdri":  # the HDRI already lights the scene: the extra lights only accent it
        lights = [replace(light, energy=light.energy * config.world.hdri_light_scale) for light in lights]
    if layout != "random":  # daylight and, in a room, its ceiling lamps: no coloured accent lights
        lights = [] if room is None else list(room.lamps)
    objects = [  # seats keep their own material (their draws come from their own stream)
        obj
        if obj.role == "seat"
        else replace(obj, material=replace(obj.material, texture=sample_texture(surfaces, config.world, catalogue)))
        for obj in objects
    ]
    floor_texture = sample_texture(surfaces, config.world, catalogue)
    random_floor = replace(sample_material(rng), texture=floor_texture)
    if room is not None:  # the room's slab wears the library's floor texture when one is drawn
        slab, *rest = room.parts
        objects += [replace(slab, material=replace(slab.material, texture=floor_texture)), *rest]
    return ScenePlan(
        people=people,
        person_materials=[sample_material(rng, ("plain", "plain", "noise", "wave", "checker")) for _ in people],
        floor=random_floor if layout == "random" else replace(ground, texture=floor_texture if room is None else None),
        floor_size=config.scene.floor_size,
        objects=objects,
        lights=lights,
        world=world,
        frames=cameras,
        cycles_seed=int(rng.integers(0, 2**31 - 1)),
        pose_attempts=attempts,
        dropped_people=dropped,
        layout=layout,
        room=room,
        frame_people=frame_people,
        reposed=reposed,
    )


@dataclass(frozen=True)
class Backdrop:
    """An HDRI backplate's constraints on the camera: the capture height (else 1.6 m +- 0.1) and the open ground's
    columns of the image (degrees from its left edge; all of it without a sidecar)."""

    capture_height_m: float | None
    open_columns_deg: tuple[tuple[float, float], ...]
    rotation_deg: float

    def camera_z(self, u: float) -> float:
        return self.capture_height_m if self.capture_height_m is not None else 1.5 + 0.2 * u

    def camera_azimuth(self, u: float) -> float:
        """Where the camera stands (azimuth from the people), so that it looks at an open column."""
        sectors = self.open_columns_deg or ((0.0, 360.0),)
        ends = np.cumsum([b - a for a, b in sectors])  # the sectors laid end to end
        position = u * ends[-1]
        index = min(int(np.searchsorted(ends, position, side="right")), len(sectors) - 1)
        column = sectors[index][1] - (ends[index] - position)
        return look_azimuth(float(column), self.rotation_deg) + np.pi


def _backdrop(rng: np.random.Generator, config: PlanConfig, layout: str, world: WorldSpec) -> WorldSpec:
    """The world as a backplate (the HDRI seen behind the people, a shadow catcher under them) when the layout is
    outdoor, the mode is not viewpoint's, and the HDRI is sharp enough. One draw."""
    u = rng.uniform()
    if layout != "outdoor" or world.kind != "hdri" or config.mode.name == "viewpoint":
        return world
    if u >= config.world.backplate_share or hdri_size(world.hdri)[0] < config.world.backplate_min_width:
        return world
    return replace(world, backplate=True, ground_albedo=ground_albedo(world.hdri))


def _inside(camera: Camera, room: Room, aim: np.ndarray) -> Camera:
    """The camera moved towards what it looks at until it stands inside ``room``, same orientation; turned to
    ``aim`` (the people's centre) when that left the frame (an off-centre subject leaves a narrow view as the
    camera comes closer)."""
    position = camera.position
    forward = -camera.cam2world[:3, 2]
    target = position + forward * 0.1
    for _ in range(60):  # the point it looks at that lies in the room
        if room.contains(target, 0.3):
            break
        target = target + forward * 0.25
    else:
        return camera
    moved = camera.cam2world.copy()
    moved[:3, 3] = room.pull_inside(position, target)
    inside = replace(camera, cam2world=moved)
    (u, v), depth = (c[0] for c in inside.project(aim[None]))
    if depth > 0 and 0 <= u < camera.width and 0 <= v < camera.height:
        return inside
    return replace(camera, cam2world=look_at(moved[:3, 3], aim))


def _matrix_to_euler_xyz(rotation: np.ndarray) -> tuple[float, float, float]:
    """Blender 'XYZ' Euler angles (R = Rz @ Ry @ Rx) of a rotation matrix."""
    sy = -rotation[2, 0]
    y = float(np.arcsin(np.clip(sy, -1.0, 1.0)))
    if abs(sy) < 0.9999:
        x = float(np.arctan2(rotation[2, 1], rotation[2, 2]))
        z = float(np.arctan2(rotation[1, 0], rotation[0, 0]))
    else:
        x, z = float(np.arctan2(-rotation[1, 2], rotation[1, 1])), 0.0
    return (x, y, z)
