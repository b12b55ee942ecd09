"""Merge settings: configs/merge.yaml composed with Hydra overrides into a frozen, checked MergeConfig."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bpgen.compose import compose_config
from bpgen.validate import ConfigError

IMAGE_MODES = ("hardlink", "copy", "symlink")


@dataclass(frozen=True)
class MergeConfig:
    val_ratio: float
    split_seed: int
    images: str
    min_visible_area: int
    min_visible_keypoints: int
    badlist: Path | None
    bop: bool
    bop_chunk_size: int
    contact_sheet_images: int
    workers: int


def _int(value: Any, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key} must be an integer >= {minimum}, got {value!r}")
    return value


def merge_config_from_dict(cfg: dict[str, Any]) -> MergeConfig:
    ratio = cfg["split"]["val_ratio"]
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0.0 <= ratio < 1.0:
        raise ConfigError(f"split.val_ratio must be in [0, 1), got {ratio!r}")
    if cfg["images"] not in IMAGE_MODES:
        raise ConfigError(f"images={cfg['images']!r} is not valid; use one of: {', '.join(IMAGE_MODES)}")
    badlist = str(cfg["filters"]["badlist"] or "")
    if badlist and not Path(badlist).is_file():
        raise ConfigError(f"filters.badlist={badlist} does not exist; give a file of image names, one per line")
    return MergeConfig(
        val_ratio=float(ratio),
        split_seed=_int(cfg["split"]["seed"], "split.seed", 0),
        images=cfg["images"],
        min_visible_area=_int(cfg["filters"]["min_visible_area"], "filters.min_visible_area", 0),
        min_visible_keypoints=_int(cfg["filters"]["min_visible_keypoints"], "filters.min_visible_keypoints", 0),
        badlist=Path(badlist).resolve() if badlist else None,
        bop=bool(cfg["bop"]["enabled"]),
        bop_chunk_size=_int(cfg["bop"]["chunk_size"], "bop.chunk_size", 1),
        contact_sheet_images=_int(cfg["contact_sheet_images"], "contact_sheet_images", 0),
        workers=_int(cfg["workers"], "workers", 0),
    )


def compose_merge_config(overrides: list[str] | tuple[str, ...] = ()) -> tuple[MergeConfig, dict[str, Any]]:
    resolved = compose_config("merge", overrides, "python -m bpgen.merge --print-config")
    return merge_config_from_dict(resolved), resolved
