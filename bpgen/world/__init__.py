"""World assets as plain data: the world: section, the admin's asset library (HDRIs, texture sets) and bpy's
own HDRIs, frozen per run, and the world and surface texture draws of a scene.

Public API: ``assets.WorldConfig``, ``world_config_from_dict``, ``freeze_assets``, ``check_frozen_assets``,
``load_catalogue``, ``sample_world``, ``sample_texture``, ``WorldSpec``, ``TextureSpec``, ``AssetsError``.
"""
