"""Train configuration: configs/train/<name>.yaml composed with Hydra into a checked TrainConfig (no Detectron2).

``to_detectron2`` (needs Detectron2) turns it into Detectron2's CfgNode, starting from the model-zoo config that
ships inside the detectron2 package, so nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bpgen.compose import CONFIG_DIR, compose_config
from bpgen.validate import ConfigError

TRAIN_CONFIG_DIR = CONFIG_DIR / "train"
NORMS = ("FrozenBN", "GN", "SyncBN")
DEVICES = ("cuda", "cpu")
# Lower-case sections of configs/train/*.yaml that are Detectron2 config nodes, passed through key by key.
DETECTRON2_SECTIONS = {"solver": "SOLVER", "input": "INPUT", "dataloader": "DATALOADER", "test": "TEST"}


class TrainConfigError(ConfigError):
    """A train setting is wrong or does not fit this machine; the message names the fix."""


@dataclass(frozen=True)
class TrainConfig:
    """bpgen's own train settings; every Detectron2 setting passes through as ``detectron2`` key/value pairs."""

    name: str
    zoo_config: str
    weights: str
    mask: bool
    keypoints: bool
    norm: str
    min_keypoints_per_image: int
    device: str
    dataset: Path | None
    output_dir: Path | None
    extra_eval: str
    detectron2: tuple[tuple[str, Any], ...]  # (KEY.PATH, value) for CfgNode.merge_from_list, opts last

    @property
    def from_scratch(self) -> bool:
        return self.weights == "scratch"

    def setting(self, key: str) -> Any:
        """The value this config gives Detectron2's ``key`` (the last one wins, as in merge_from_list)."""
        values = [value for name, value in self.detectron2 if name == key]
        if not values:
            raise KeyError(key)
        return values[-1]

    @property
    def max_iter(self) -> int:
        return int(self.setting("SOLVER.MAX_ITER"))


def available_configs() -> list[str]:
    return sorted(p.stem for p in TRAIN_CONFIG_DIR.glob("*.yaml") if p.stem != "base")


def compose_train_config(name: str, overrides: list[str] | tuple[str, ...] = ()) -> tuple[TrainConfig, dict[str, Any]]:
    """Compose configs/train/<name>.yaml; return the checked config and the resolved dict (saved with the output)."""
    if name not in available_configs():
        raise TrainConfigError(f"no train config {name!r}; choose one of: {', '.join(available_configs())}")
    try:
        settings = compose_config(name, overrides, "python -m bpgen_train.train_net --print-config", TRAIN_CONFIG_DIR)
    except ConfigError as exc:
        raise TrainConfigError(str(exc)) from None
    return train_config_from_dict(name, settings), settings


def detectron2_pairs(section: dict[str, Any], node: str) -> list[tuple[str, Any]]:
    """A lower-case section (``solver: {max_iter: 10, clip_gradients: {enabled: true}}``) as Detectron2 key/value
    pairs (``SOLVER.MAX_ITER``, ``SOLVER.CLIP_GRADIENTS.ENABLED``); lists become tuples as in Detectron2's defaults."""
    pairs: list[tuple[str, Any]] = []
    for key, value in section.items():
        name = f"{node}.{key.upper()}"
        if isinstance(value, dict):
            pairs += detectron2_pairs(value, name)
        else:
            pairs.append((name, tuple(value) if isinstance(value, list) else value))
    return pairs


def _is_int(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _check_solver(settings: dict[str, Any]) -> None:
    """The few Detectron2 values that fail late and obscurely when wrong; Detectron2 checks the rest."""
    max_iter = settings.get("SOLVER.MAX_ITER", 1)
    if not _is_int(max_iter, 1):
        raise TrainConfigError(f"solver.max_iter must be an integer >= 1, got {max_iter!r}")
    steps = settings.get("SOLVER.STEPS", ())
    if not all(_is_int(step, 1) for step in steps):
        raise TrainConfigError(f"solver.steps must be integers >= 1, got {list(steps)}")
    if any(step >= max_iter for step in steps):
        raise TrainConfigError(f"solver.steps {list(steps)} must be below solver.max_iter={max_iter}")
    base_lr = settings.get("SOLVER.BASE_LR", 1.0)
    if isinstance(base_lr, bool) or not isinstance(base_lr, int | float) or not base_lr > 0:
        raise TrainConfigError(f"solver.base_lr must be > 0, got {base_lr}")
    if not _is_int(settings.get("SOLVER.IMS_PER_BATCH", 1), 1):
        raise TrainConfigError(
            f"solver.ims_per_batch must be an integer >= 1, got {settings['SOLVER.IMS_PER_BATCH']!r}"
        )


def train_config_from_dict(name: str, cfg: dict[str, Any]) -> TrainConfig:
    model = cfg["model"]
    if model["norm"] not in NORMS:
        raise TrainConfigError(f"model.norm={model['norm']!r} is not valid; use one of: {', '.join(NORMS)}")
    if cfg["device"] not in DEVICES:
        raise TrainConfigError(f"device={cfg['device']!r} is not valid; use cuda or cpu")
    if not (model["mask"] or model["keypoints"]):
        raise TrainConfigError("model.mask and model.keypoints are both false; enable at least one head")
    if not _is_int(model["min_keypoints_per_image"], 0):
        raise TrainConfigError(
            f"model.min_keypoints_per_image must be an integer >= 0, got {model['min_keypoints_per_image']!r}"
        )
    opts = list(cfg["opts"] or ())
    if len(opts) % 2:
        raise TrainConfigError("opts must be KEY, VALUE pairs, e.g. [MODEL.RPN.POST_NMS_TOPK_TRAIN, 1000]")
    pairs = [("SEED", cfg["seed"])]
    for section, node in DETECTRON2_SECTIONS.items():
        pairs += detectron2_pairs(cfg[section], node)
    pairs += [(str(key), value) for key, value in zip(opts[::2], opts[1::2], strict=True)]
    _check_solver(dict(pairs))
    return TrainConfig(
        name=name,
        zoo_config=str(model["zoo_config"]),
        weights=str(model["weights"]),
        mask=bool(model["mask"]),
        keypoints=bool(model["keypoints"]),
        norm=model["norm"],
        min_keypoints_per_image=model["min_keypoints_per_image"],
        device=cfg["device"],
        dataset=Path(cfg["dataset"]).resolve() if cfg["dataset"] else None,
        output_dir=Path(cfg["output_dir"]).resolve() if cfg["output_dir"] else None,
        extra_eval=str(cfg["extra_eval"] or ""),
        detectron2=tuple(pairs),
    )


def resolve_weights(config: TrainConfig, weights_dir: Path) -> Path | None:
    """The pretrained weights file, or None when the config trains from scratch; a missing file is an error."""
    if config.from_scratch:
        return None
    path = Path(config.weights)
    path = path if path.is_absolute() else Path(weights_dir) / path
    if not path.is_file():
        raise TrainConfigError(
            f"pretrained weights {path} not found (compute nodes cannot download them); copy them there and set "
            "BPGEN_WEIGHTS_DIR in environment.sh, or train from scratch with model.weights=scratch"
        )
    return path


def check_device(config: TrainConfig, cuda_devices: int) -> None:
    if config.device == "cuda" and cuda_devices == 0:
        raise TrainConfigError(
            f"config {config.name} trains on the GPU but this machine has none; run it on a GPU node "
            "(sbatch jobs/train.sbatch) or use device=cpu"
        )


ExtraEval = tuple[str, Path, Path]  # name, COCO json, image root of an extra evaluation set


def parse_extra_eval(value: str) -> ExtraEval | None:
    """``NAME:JSON:IMAGE_ROOT`` of an extra COCO-format evaluation set (e.g. real people), or None."""
    if not value:
        return None
    parts = value.split(":")
    if len(parts) != 3 or not all(parts):
        raise TrainConfigError(
            f"extra_eval={value!r} must be NAME:JSON:IMAGE_ROOT, e.g. coco_person:/d/val.json:/d/img"
        )
    name, json_file, image_root = parts
    if not Path(json_file).is_file() or not Path(image_root).is_dir():
        raise TrainConfigError(f"extra_eval {name}: {json_file} or {image_root} does not exist; fix BPGEN_EXTRA_EVAL")
    return name, Path(json_file), Path(image_root)
