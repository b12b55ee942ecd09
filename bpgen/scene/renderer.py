"""The renderer boundary: what a renderer reads of the config, what it hands back, and what it must do.

``bpgen.blender.scene.BlenderScene`` implements ``Renderer`` with Cycles; the shard loop (``bpgen.render.shard``)
only sees this protocol and a ``RendererFactory``, so its resume and DONE logic can run with any renderer (tests
use a small fake, tests/test_shard_loop.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from bpgen.photo.config import PhotoConfig
    from bpgen.quality.cycles import CyclesConfig
    from bpgen.scene.plan import ScenePlan


def person_name(index: int) -> str:
    """The name of the plan's person ``index`` in the rendered scene (and its instance map)."""
    return f"person_{index:02d}"


@dataclass(frozen=True)
class RenderedFrame:
    linear: np.ndarray  # [H,W,3] float32, linear light (Rec.709), not yet exposed nor view-transformed
    albedo: np.ndarray  # [H,W,3] float32, diffuse albedo (0 where nothing diffuse: sky, hair, metal)
    depth: np.ndarray  # [H,W] float32, metres along the optical axis (large where nothing was hit)
    instance_map: np.ndarray  # [H,W] int
    index_of: dict[str, int]  # object name -> instance index in instance_map


class RenderSettings(Protocol):
    """The top-level render keys and sections a renderer reads (``bpgen.render.config.RenderConfig`` has them)."""

    @property
    def samples(self) -> int: ...
    @property
    def denoiser(self) -> str: ...
    @property
    def device(self) -> str: ...
    @property
    def threads(self) -> int: ...
    @property
    def max_bounces(self) -> int: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def photo(self) -> PhotoConfig: ...
    @property
    def cycles(self) -> CyclesConfig: ...


class Renderer(Protocol):
    """Builds a scene from its plan and renders the plan's frames, one ``RenderedFrame`` per frame."""

    @property
    def device(self) -> str:
        """What renders (e.g. "CPU:16 threads", "OPTIX:NVIDIA H200"), for logs and DONE.json."""
        ...

    def build(self, plan: ScenePlan) -> None: ...

    def render(self) -> list[RenderedFrame]: ...

    def display(self, linear: np.ndarray) -> np.ndarray:
        """The view transform: an exposed linear-light frame [H,W,3] as 8-bit sRGB [H,W,3] uint8."""
        ...

    def versions(self) -> dict[str, str]:
        """Versions of the renderer's software (e.g. blender, blenderproc), for DONE.json and coco.json."""
        ...


# Makes the renderer of a shard from its config (``BlenderScene`` is one): called once per shard, after a DONE shard
# was skipped and before the shard's temp dir exists, with file descriptor 1 sent to the shard's blender.log.
RendererFactory = Callable[[RenderSettings], Renderer]
