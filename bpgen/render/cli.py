"""Render one shard: ``python -m bpgen.render --run-dir DIR --shard K --images N [overrides...]``.

Overrides use Hydra's syntax on configs/render.yaml, e.g. ``mode=occlusion resolution=[320,240] samples=32``.
Exit status: 0 done (or already DONE), 2 bad input (nothing written), 1 failure while rendering.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bpgen.atomic import unwritable_reason
from bpgen.compose import resolved_yaml
from bpgen.errors import UserError, report
from bpgen.render.config import compose_render_config, load_resolved_config
from bpgen.render.shard import InputError, render_shard
from bpgen.run import layout
from bpgen.settings import assets_dir_setting
from bpgen.world.assets import check_frozen_assets

if TYPE_CHECKING:
    from bpgen.scene.renderer import Renderer, RendererFactory, RenderSettings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bpgen.render",
        description="Render one shard of synthetic people in extreme poses (BlenderProc, Blender 4.2).",
        epilog="Overrides: Hydra syntax on configs/render.yaml, e.g. mode=occlusion resolution=[320,240].",
    )
    parser.add_argument("--run-dir", type=Path, help="run directory; the shard goes to RUN/shards/shard_<K>/")
    parser.add_argument("--shard", type=int, help="shard id K (>= 0); with the run seed it fixes all randomness")
    parser.add_argument("--images", type=int, help="images in this shard (> 0)")
    parser.add_argument(
        "--config", type=Path, help="render with this resolved config (a run's config.yaml from ./2-submit)"
    )
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    parser.add_argument("overrides", nargs="*", help="config overrides, key=value")
    return parser.parse_args(argv)


def check_arguments(args: argparse.Namespace) -> None:
    """The shard id and image count, first of all: before the config is composed or anything is allocated."""
    if args.run_dir is None or args.shard is None or args.images is None:
        raise InputError("--run-dir, --shard and --images are required; e.g. --run-dir runs/demo --shard 0 --images 8")
    if args.shard < 0:
        raise InputError(f"--shard must be >= 0, got {args.shard}")
    if args.images <= 0:
        raise InputError(f"--images must be > 0, got {args.images}")
    layout.check_shard_id(args.shard)
    layout.check_images_per_shard(args.images)


def check_inputs(args: argparse.Namespace) -> None:
    check_arguments(args)
    run_dir = Path(args.run_dir).resolve()
    problem = unwritable_reason(run_dir)
    if problem:
        raise InputError(f"run dir {run_dir} is not writable ({problem}); choose a writable --run-dir")


def blender_renderer(config: RenderSettings) -> Renderer:
    """Cycles through BlenderProc: the renderer of ``python -m bpgen.render``. Blender is imported only here, once
    the input is checked and the shard is not DONE."""
    from bpgen.blender.scene import BlenderScene

    return BlenderScene(config)


def main(argv: list[str] | None = None, new_renderer: RendererFactory = blender_renderer) -> int:
    """Render the shard the arguments name with ``new_renderer`` (bench/quality_window.py passes its own)."""
    args = parse_args(argv)
    try:
        if not args.print_config:
            check_arguments(args)  # bounds of --shard/--images first: nothing composed, imported or allocated yet
        if args.config is not None:
            if args.overrides:
                raise InputError("--config renders a frozen config as it is; drop the overrides or --config")
            config, resolved = load_resolved_config(args.config)
            check_frozen_assets(config.world)  # the library frozen by ./2-submit is here and unchanged
        else:
            config, resolved = compose_render_config(args.overrides, assets_dir=assets_dir_setting())
        if args.print_config:
            print(resolved_yaml(resolved), end="")
            return 0
        check_inputs(args)
        render_shard(Path(args.run_dir).resolve(), args.shard, args.images, config, resolved, new_renderer)
    except UserError as exc:
        return report(exc)
    return 0


def exit_now(code: int) -> None:
    """Exit without interpreter teardown once Blender is loaded: the bpy module can crash (SIGSEGV) while
    Python unloads it, which would turn a finished shard into a failed task."""
    if "bpy" in sys.modules:
        import atexit
        import shutil

        session_temp = sys.modules["bpy"].app.tempdir  # blender_XXXXXX: Blender removes it only in its own exit
        atexit._run_exitfuncs()
        if session_temp:
            shutil.rmtree(session_temp, ignore_errors=True)  # else one empty directory per task in the node's /tmp
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def run_main() -> None:
    """The ``python -m bpgen.render`` process: any exception is status 1, and Blender never unloads."""
    try:
        status = main()
    except Exception:
        import traceback

        traceback.print_exc()
        status = 1
    exit_now(status)
