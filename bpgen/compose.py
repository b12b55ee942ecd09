"""Hydra composition of configs/<name>.yaml with command-line overrides, shared by render, merge and train.

Neutral: no stage's schema is imported here; each stage validates the resolved dict into its own dataclasses
(``bpgen.render.config`` for render, ``bpgen.merge.config``, ``bpgen_train.config``) with ``bpgen.validate``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bpgen.validate import ConfigError

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def compose_config(
    config_name: str, overrides: list[str] | tuple[str, ...], print_hint: str, config_dir: Path = CONFIG_DIR
) -> dict[str, Any]:
    """Compose <config_dir>/<config_name>.yaml with Hydra overrides into a resolved dict."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            composed = compose(config_name=config_name, overrides=list(overrides))
        resolved = OmegaConf.to_container(composed, resolve=True)
    except (HydraException, OmegaConfBaseException) as exc:
        first = str(exc).strip().splitlines()[0]
        raise ConfigError(f"bad config override ({first}); fix the key or value: `{print_hint}` lists them") from None
    assert isinstance(resolved, dict)
    return {str(key): value for key, value in resolved.items()}


def resolved_yaml(resolved: dict[str, Any]) -> str:
    """The text of a resolved config (what ``--print-config`` prints)."""
    import yaml

    return yaml.safe_dump(resolved, sort_keys=True)
