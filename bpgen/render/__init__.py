"""The render stage: the render schema, frame labels, the shard loop and its lifecycle.

Public API (import from the modules; this ``__init__`` stays light so that ``python -m bpgen.render`` refuses bad
input before anything heavy is imported):
  ``config``       ``RenderConfig``, ``compose_render_config``, ``load_resolved_config``, the render limits
  ``shard``        ``render_shard`` (one shard, resumable, with any ``bpgen.scene.renderer.Renderer``),
                   ``render_scene``, ``stdout_to``
  ``lifecycle``    the shard temp dir, scene checkpoints, ``assemble_shard``, ``finalize``, ``scene_seed``
  ``frame_labels`` one frame's COCO annotations and frames.jsonl record
  ``cli``          ``main`` of ``python -m bpgen.render``, ``blender_renderer`` (its renderer factory)
"""
