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


class TrainConfigError(ConfigError):
    """A train setting is wrong or does not fit this machine; the message names the fix."""


@dataclass(frozen=True)
class TrainConfig:
    name: str
    zoo_config: str
    weights: str
    mask: bool
    keypoints: bool
    norm: str
    device: str
    dataset: Path | None
    output_dir: Path | None
    seed: int
    ims_per_batch: int
    base_lr: float
    max_iter: int
    steps: tuple[int, ...]
    warmup_iters: int
    checkpoint_period: int
    clip_gradients: bool
    amp: bool
    min_size_train: tuple[int, ...]
    max_size_train: int
    min_size_test: int
    max_size_test: int
    dataloader_workers: int
    min_keypoints_per_image: int
    eval_period: int
    extra_eval: str
    opts: tuple[Any, ...]

    @property
    def from_scratch(self) -> bool:
        return self.weights == "scratch"


def available_configs() -> list[str]:
    return sorted(p.stem for p in TRAIN_CONFIG_DIR.glob("*.yaml") if p.stem != "base")


def compose_train_config(name: str, overrides: list[str] | tuple[str, ...] = ()) -> tuple[TrainConfig, dict[str, Any]]:
    """Compose configs/train/<name>.yaml; return the checked config and the resolved dict (saved with the output)."""
    if name not in available_configs():
        raise TrainConfigError(f"no train config {name!r}; choose one of: {', '.join(available_configs())}")
    try:
        settings = compose_config(name, overrides, "python -m train.train_net --print-config", TRAIN_CONFIG_DIR)
    except ConfigError as exc:
        raise TrainConfigError(str(exc)) from None
    return train_config_from_dict(name, settings), settings


def _positive(value: Any, key: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise TrainConfigError(f"{key} must be an integer >= {minimum}, got {value!r}")
    return value


def train_config_from_dict(name: str, cfg: dict[str, Any]) -> TrainConfig:
    model, solver, inputs = cfg["model"], cfg["solver"], cfg["input"]
    if model["norm"] not in NORMS:
        raise TrainConfigError(f"model.norm={model['norm']!r} is not valid; use one of: {', '.join(NORMS)}")
    if cfg["device"] not in DEVICES:
        raise TrainConfigError(f"device={cfg['device']!r} is not valid; use cuda or cpu")
    if not (model["mask"] or model["keypoints"]):
        raise TrainConfigError("model.mask and model.keypoints are both false; enable at least one head")
    steps = tuple(_positive(s, "solver.steps") for s in solver["steps"])
    max_iter = _positive(solver["max_iter"], "solver.max_iter")
    if any(s >= max_iter for s in steps):
        raise TrainConfigError(f"solver.steps {list(steps)} must be below solver.max_iter={max_iter}")
    base_lr = float(solver["base_lr"])
    if not base_lr > 0:
        raise TrainConfigError(f"solver.base_lr must be > 0, got {base_lr}")
    opts = tuple(cfg["opts"] or ())
    if len(opts) % 2:
        raise TrainConfigError("opts must be KEY, VALUE pairs, e.g. [MODEL.RPN.POST_NMS_TOPK_TRAIN, 1000]")
    return TrainConfig(
        name=name,
        zoo_config=str(model["zoo_config"]),
        weights=str(model["weights"]),
        mask=bool(model["mask"]),
        keypoints=bool(model["keypoints"]),
        norm=model["norm"],
        device=cfg["device"],
        dataset=Path(cfg["dataset"]).resolve() if cfg["dataset"] else None,
        output_dir=Path(cfg["output_dir"]).resolve() if cfg["output_dir"] else None,
        seed=_positive(cfg["seed"], "seed", 0),
        ims_per_batch=_positive(solver["ims_per_batch"], "solver.ims_per_batch"),
        base_lr=base_lr,
        max_iter=max_iter,
        steps=steps,
        warmup_iters=_positive(solver["warmup_iters"], "solver.warmup_iters", 0),
        checkpoint_period=_positive(solver["checkpoint_period"], "solver.checkpoint_period"),
        clip_gradients=bool(solver["clip_gradients"]),
        amp=bool(solver["amp"]),
        min_size_train=tuple(_positive(s, "input.min_size_train") for s in inputs["min_size_train"]),
        max_size_train=_positive(inputs["max_size_train"], "input.max_size_train"),
        min_size_test=_positive(inputs["min_size_test"], "input.min_size_test"),
        max_size_test=_positive(inputs["max_size_test"], "input.max_size_test"),
        dataloader_workers=_positive(cfg["dataloader_workers"], "dataloader_workers", 0),
        min_keypoints_per_image=_positive(cfg["min_keypoints_per_image"], "min_keypoints_per_image", 0),
        eval_period=_positive(cfg["eval_period"], "eval_period", 0),
        extra_eval=str(cfg["extra_eval"] or ""),
        opts=opts,
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


def parse_extra_eval(value: str) -> tuple[str, Path, Path] | None:
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
