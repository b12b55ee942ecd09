"""The resolved config text of every quality preset and mode is frozen in golden files.

A run's shards refuse a config.yaml that differs from the run's frozen text, so moving or renaming the render
schema must not change a byte of what ``python -m bpgen.render --print-config`` prints.
"""

import os

import pytest
from helpers import run_module

from bpgen.compose import resolved_yaml
from bpgen.render.config import compose_render_config

QUALITIES = ("draft", "standard", "high", "reference")
MODES = ("pose", "occlusion", "viewpoint")
CASES = [(quality, mode, "anny") for quality in QUALITIES for mode in MODES] + [("standard", "pose", "mannequin")]


def golden_name(quality: str, mode: str, body: str) -> str:
    return f"print_config/{quality}_{mode}_{body}.yaml"


@pytest.mark.parametrize(("quality", "mode", "body"), CASES)
def test_resolved_config_text_is_unchanged(golden, quality, mode, body):
    _, resolved = compose_render_config([f"quality={quality}", f"mode={mode}", f"body={body}"], assets_dir=None)
    golden(golden_name(quality, mode, body), resolved_yaml(resolved))


def test_print_config_cli_prints_the_golden_text(golden):
    """The entry point itself, with no asset library set: the same bytes as the composer's text."""
    env = dict(os.environ, BPGEN_ASSETS_DIR="")
    result = run_module("bpgen.render", "--print-config", "quality=high", "mode=occlusion", env=env)
    assert result.returncode == 0, result.stderr
    golden(golden_name("high", "occlusion", "anny"), result.stdout)
