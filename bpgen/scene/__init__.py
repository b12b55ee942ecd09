"""Scene planning (numpy only): everything random about a scene is decided here, Blender only builds it.

Public API (import from the modules):
  ``plan``      ``plan_scene`` -> ``ScenePlan`` (people, objects, lights, world, cameras, photometry per frame)
  ``config``    the mode:, scene: and camera: sections, and ``PlanConfig`` (what a plan reads of the config)
  ``specs``     ``MaterialSpec``, ``ObjectSpec``, ``LightSpec`` (what a scene is made of)
  ``rooms``     ``plan_room`` -> ``Room``, ``natural_material``, ``ground_material`` (the layouts' surfaces)
  ``framing``   ``frame_subject``, ``draw_fraction``, ``camera_height``, ``size_fraction`` (photographers' cameras)
  ``renderer``  the renderer boundary: ``Renderer``, ``RenderSettings``, ``RenderedFrame``, ``person_name``
"""
