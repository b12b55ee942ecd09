"""Pure-numpy pose sampling: anatomical joint ranges, strategies, named families, collision rejection."""
