"""Cycles settings: the cycles: section that the quality presets (configs/quality/) fill.

Public API: ``cycles.CyclesConfig``, ``cycles.cycles_config_from_dict``, ``cycles.PRESETS``, ``cycles.MAX_BOUNCES``.
"""
