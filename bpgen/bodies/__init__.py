"""Human bodies: the ``Body`` protocol and its two models, anny (default, realistic) and the mannequin.

The model part of the body: section is ``bodies.config.BodyConfig``; ``python -m bpgen.bodies.anny --build-cache``
builds anny's model cache (0-setup, image builds).

Nothing outside this package imports anny or mannequin-x; ``load_body(name)`` gives the named one.
"""

from bpgen.bodies.protocol import (
    CAPSULE_NAMES,
    IGNORED_CAPSULE_PAIRS,
    NOMINAL_LIMB_LENGTH,
    Body,
    BodyAssetError,
    BodyShape,
    PosedBody,
    Surface,
    capsules_from_joints,
    limb_length,
)

__all__ = [
    "CAPSULE_NAMES",
    "IGNORED_CAPSULE_PAIRS",
    "NOMINAL_LIMB_LENGTH",
    "Body",
    "BodyAssetError",
    "BodyShape",
    "PosedBody",
    "Surface",
    "capsules_from_joints",
    "limb_length",
    "load_body",
]


def load_body(name: str) -> Body:
    """The body model ``name`` ("anny" or "mannequin"); raises BodyAssetError when it cannot be loaded."""
    if name == "mannequin":
        from bpgen.bodies.mannequin import MannequinBody

        return MannequinBody()
    if name == "anny":
        from bpgen.bodies.anny import AnnyBody

        return AnnyBody()
    raise ValueError(f"unknown body {name!r}; use anny or mannequin")
