"""Run BlenderProc 2.8.0's API in-process on the pip ``bpy`` module (Blender 4.2).

BlenderProc 2.8.0 expects to run inside a Blender binary started by ``blenderproc run`` (which downloads
Blender and pip-installs into it). With the pip ``bpy`` wheel we instead:

1. set ``OUTSIDE_OF_THE_INTERNAL_BLENDER_PYTHON_ENVIRONMENT_BUT_IN_RUN_SCRIPT`` so its ``__init__`` neither
   raises nor runs its pip set-up (it then imports no API module);
2. import the ``blenderproc.api.<topic>`` modules bpgen uses and attach them to the package, as
   ``bproc.<topic>``; the others (and ``bproc.object``, of which bpgen uses ``create_primitive`` only) are imported
   on first use: between them they import scikit-learn, matplotlib and more, ~0.5 s of every task's start;
3. give it a temp dir through ``SetupUtility.setup_utility_paths``;
4. run ``bproc.init()``'s steps minus its UI-language switch (the bpy module only knows ``DEFAULT``).

``load_blenderproc()`` is idempotent and returns the ``blenderproc`` module, ready to use.
"""

from __future__ import annotations

import atexit
import importlib
import os
import shutil
import tempfile
from types import ModuleType

from bpgen.errors import UserError
from bpgen.run.layout import SCRATCH_PREFIX

API_TOPICS = (
    "loader",
    "utility",
    "sampler",
    "math",
    "postprocessing",
    "writer",
    "material",
    "lighting",
    "camera",
    "renderer",
    "world",
    "constructor",
    "types",
    "object",
    "filter",
)
USED_TOPICS = ("camera", "material", "renderer", "types", "utility")  # what bpgen calls: imported at load
_ENV_FLAG = "OUTSIDE_OF_THE_INTERNAL_BLENDER_PYTHON_ENVIRONMENT_BUT_IN_RUN_SCRIPT"
_state: dict[str, ModuleType] = {}


class BlenderUnavailableError(UserError, RuntimeError):
    """bpy or blenderproc cannot be imported."""


def load_blenderproc(temp_dir: str | None = None) -> ModuleType:
    """Import BlenderProc with its API attached and initialise the scene once per process."""
    if "bproc" in _state:
        return _state["bproc"]
    os.environ[_ENV_FLAG] = "1"
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")  # BlenderProc imports gitpython; nodes may lack git
    try:
        import blenderproc as bproc
        import bpy  # noqa: F401  (fail here, with the fix named, rather than inside a BlenderProc module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BlenderUnavailableError(
            f"cannot import Blender/BlenderProc ({exc}); run ./0-setup to install bpy and blenderproc"
        ) from exc
    from blenderproc.python.types.MeshObjectUtility import create_primitive
    from blenderproc.python.utility.Initializer import clean_up
    from blenderproc.python.utility.SetupUtility import SetupUtility

    for topic in API_TOPICS:
        if topic in USED_TOPICS:
            setattr(bproc, topic, importlib.import_module(f"blenderproc.api.{topic}"))
        else:
            setattr(bproc, topic, LazyTopic(topic, {"create_primitive": create_primitive} if topic == "object" else {}))

    bproc.clean_up = clean_up
    if temp_dir is None:
        temp_dir = tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=os.environ.get("BPGEN_SCRATCH") or None)
        atexit.register(shutil.rmtree, temp_dir, ignore_errors=True)
    SetupUtility.setup_utility_paths(temp_dir)
    _init_without_language_switch()
    _state["bproc"] = bproc
    return bproc


class LazyTopic(ModuleType):
    """``blenderproc.api.<topic>``, imported when one of its names is first used (``known`` names are bound at
    once); then the same functions as the module's."""

    def __init__(self, topic: str, known: dict[str, object]) -> None:
        super().__init__(f"blenderproc.api.{topic}")
        self.__dict__.update(known)

    def __getattr__(self, name: str) -> object:
        value = getattr(importlib.import_module(self.__name__), name)
        setattr(self, name, value)
        return value


def _init_without_language_switch() -> None:
    """``blenderproc.init()`` minus ``preferences.view.language = 'en_US'`` (TypeError in the bpy module)."""
    import bpy
    from blenderproc.python.renderer import RendererUtility
    from blenderproc.python.utility.GlobalStorage import GlobalStorage
    from blenderproc.python.utility.Initializer import _Initializer, clean_up

    if GlobalStorage.is_in_storage("bproc_init_complete") and GlobalStorage.get("bproc_init_complete"):
        return
    clean_up(clean_up_camera=True)
    bpy.context.scene.render.engine = "CYCLES"
    RendererUtility.set_render_devices(use_only_cpu=True)
    _Initializer.set_default_parameters()
    GlobalStorage.add("bproc_init_complete", True)


def versions() -> dict[str, str]:
    """Blender and BlenderProc versions of the loaded modules."""
    import blenderproc
    import bpy

    return {"blender": bpy.app.version_string, "blenderproc": blenderproc.__version__}
