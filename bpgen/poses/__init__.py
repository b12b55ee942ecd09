"""Pure-numpy pose sampling: anatomical joint ranges, strategies, named families, collision rejection.

Public API (import from the modules):
  ``config``       ``PoseConfig``, ``pose_config_from_dict`` (the pose: section)
  ``person``       ``sample_person`` -> ``Person`` (shape, look, a collision-free pose, orientation, on the floor)
  ``sampler``      ``sample_joint_angles``, ``STRATEGIES``; ``families`` the named acrobatic families
  ``angles``       ``JointAngles`` (a drawn pose before placing), ``extremeness``
  ``everyday``     ordinary-pose templates (``TEMPLATES``, ``BASES``); ``skeleton`` FK and the bounded solver;
                   ``seat`` seats fitted under sitting people
  ``joints``       per-joint normal and extreme ranges; ``orientation`` whole-body orientation modes
"""
