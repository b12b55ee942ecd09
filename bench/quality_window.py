"""``python -m bpgen.render``, rendering only a centred window of each frame (Cycles' render border).

  BPGEN_BENCH_WINDOW=256x192 python bench/quality_window.py --run-dir DIR --shard 0 --images 4 [overrides...]

bench/bench_quality.py renders its 1024-sample reference this way: the same frames, pixels and seeds as a
full render, at a fraction of the cost. Pixels outside the window stay black; labels of such a shard are not
meant to be used.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bpgen.blender import scene as blender_scene
from bpgen.render.cli import exit_now, main


def window_bounds(width: int, height: int, window: tuple[int, int]) -> tuple[int, int, int, int]:
    """Pixel box (x0, y0, x1, y1) of a window of ``window`` pixels centred in a width x height frame."""
    w, h = min(window[0], width), min(window[1], height)
    x0, y0 = (width - w) // 2, (height - h) // 2
    return x0, y0, x0 + w, y0 + h


class WindowedScene(blender_scene.BlenderScene):
    """The renderer of bpgen.render with a render border around the window (the class is its own factory)."""

    def _setup_renderer(self) -> str:
        import bpy

        device = super()._setup_renderer()
        w, h = (int(v) for v in os.environ["BPGEN_BENCH_WINDOW"].split("x"))
        x0, y0, x1, y1 = window_bounds(self.config.width, self.config.height, (w, h))
        render = bpy.context.scene.render
        render.use_border, render.use_crop_to_border = True, False
        # Blender's border is in fractions of the frame, y measured from the bottom
        render.border_min_x, render.border_max_x = x0 / self.config.width, x1 / self.config.width
        render.border_min_y = 1.0 - y1 / self.config.height
        render.border_max_y = 1.0 - y0 / self.config.height
        return device


if __name__ == "__main__":
    exit_now(main(new_renderer=WindowedScene))
