"""Train Detectron2 on a merged bpgen dataset.

``python -m bpgen_train.train_net --config-name NAME --run RUN [overrides]``.

Every start resumes from the last checkpoint in the output directory. SIGUSR1 (``#SBATCH --signal=USR1@300``
before the time limit, or preemption) makes all ranks stop at the same iteration, save a checkpoint and, under
Slurm, requeue the job, which then continues where it stopped. The resolved config (Hydra and Detectron2) is
saved in the output directory; metrics.json and TensorBoard events are written there too.
Exit status: 0 trained, 2 bad input (one ``error:`` line naming the fix), 3 stopped by the signal (checkpointed).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bpgen.errors import UserError, report
from bpgen.run import layout
from bpgen_train.config import (
    ExtraEval,
    TrainConfig,
    TrainConfigError,
    check_device,
    compose_train_config,
    parse_extra_eval,
    resolve_weights,
)
from bpgen_train.data import DatasetError, DatasetSpec, dataset_spec
from bpgen_train.launch import DieWithLauncher, launch_plan

STOPPED = 3
STOPPED_MARKER = "STOPPED_BY_SIGNAL"
_stop_requested = {"flag": False}


def _request_stop(signum: int, frame: Any) -> None:
    _stop_requested["flag"] = True


def build_cfg(
    config: TrainConfig, spec: DatasetSpec, weights: Path | None, output_dir: Path, extra: ExtraEval | None
) -> Any:
    """Detectron2 CfgNode: the model-zoo config shipped with Detectron2, bpgen's own settings (dataset, heads,
    weights, norm, device, output), then every Detectron2 key of the train config as it is (``merge_from_list``).
    ``extra``: the extra evaluation set (``extra_eval_set``), evaluated after val."""
    from detectron2 import model_zoo
    from detectron2.config import get_cfg

    cfg = get_cfg()
    cfg.merge_from_file(model_zoo.get_config_file(config.zoo_config))
    cfg.DATASETS.TRAIN = (spec.splits["train"].name,)
    val = (spec.splits["val"].name,) if spec.splits["val"].images else ()  # a one-shard run has no val split
    cfg.DATASETS.TEST = val + ((extra[0],) if extra else ())
    cfg.MODEL.MASK_ON = config.mask
    cfg.MODEL.KEYPOINT_ON = config.keypoints
    cfg.MODEL.ROI_HEADS.NUM_CLASSES = len(spec.thing_classes)
    cfg.MODEL.ROI_KEYPOINT_HEAD.NUM_KEYPOINTS = len(spec.keypoint_names)
    cfg.MODEL.ROI_KEYPOINT_HEAD.MIN_KEYPOINTS_PER_IMAGE = config.min_keypoints_per_image
    cfg.MODEL.WEIGHTS = str(weights) if weights else ""
    if weights is None:
        cfg.MODEL.BACKBONE.FREEZE_AT = 0
    if config.norm != "FrozenBN":
        cfg.MODEL.RESNETS.NORM = config.norm
        cfg.MODEL.FPN.NORM = config.norm
        cfg.MODEL.ROI_MASK_HEAD.NORM = config.norm
    cfg.MODEL.DEVICE = config.device
    cfg.INPUT.MASK_FORMAT = "bitmask"  # bpgen masks are RLE
    cfg.OUTPUT_DIR = str(output_dir)
    try:
        cfg.merge_from_list([item for pair in config.detectron2 for item in pair])
    except (KeyError, ValueError, AssertionError) as exc:
        raise TrainConfigError(
            f"Detectron2 refused the config ({exc}); fix the key or value in configs/train/"
        ) from None
    if cfg.MODEL.ROI_HEADS.NUM_CLASSES != len(spec.thing_classes):
        raise DatasetError(
            f"the model predicts {cfg.MODEL.ROI_HEADS.NUM_CLASSES} classes but {spec.root} has "
            f"{len(spec.thing_classes)} ({', '.join(spec.thing_classes)}); drop MODEL.ROI_HEADS.NUM_CLASSES from opts"
        )
    cfg.freeze()
    return cfg


def make_trainer_class() -> Any:
    from detectron2.engine import DefaultTrainer, HookBase
    from detectron2.engine.hooks import EvalHook
    from detectron2.evaluation import COCOEvaluator

    class StopOnSignal(HookBase):
        """All ranks agree (all-reduce) to stop after the same iteration once any got SIGUSR1; then checkpoint."""

        def after_step(self) -> None:
            import torch
            import torch.distributed as dist

            stop = _stop_requested["flag"]
            if dist.is_available() and dist.is_initialized():
                flag = torch.tensor([int(stop)], device="cuda" if torch.cuda.is_available() else "cpu")
                dist.all_reduce(flag, op=dist.ReduceOp.MAX)
                stop = bool(flag.item())
            if stop:
                iteration = self.trainer.iter
                self.trainer.checkpointer.save(f"model_{iteration:07d}", iteration=iteration)
                raise StoppedBySignal(iteration)

    class Trainer(DefaultTrainer):
        @classmethod
        def build_evaluator(cls, cfg: Any, dataset_name: str, output_folder: str | None = None) -> Any:
            folder = output_folder or os.path.join(cfg.OUTPUT_DIR, "inference", dataset_name)
            return COCOEvaluator(dataset_name, output_dir=folder)

        def build_hooks(self) -> list[Any]:
            hooks = super().build_hooks()
            # The same place on every rank (rank 0 alone has the writer): just before the evaluation, so the
            # all-reduce of the stop flag never interleaves with the evaluation's collectives.
            at = next((i for i, hook in enumerate(hooks) if isinstance(hook, EvalHook)), len(hooks))
            hooks.insert(at, StopOnSignal())
            return hooks

    return Trainer


class StoppedBySignal(Exception):
    """Training stopped at an iteration after SIGUSR1 (time limit or preemption); a checkpoint was saved."""

    def __init__(self, iteration: int) -> None:
        super().__init__(f"stopped by SIGUSR1 after iteration {iteration}; checkpoint saved")
        self.iteration = iteration


def extra_eval_set(config: TrainConfig, environ: Mapping[str, str]) -> ExtraEval | None:
    """The extra COCO-format evaluation set: ``extra_eval`` of the train config, else BPGEN_EXTRA_EVAL."""
    return parse_extra_eval(config.extra_eval or environ.get("BPGEN_EXTRA_EVAL", ""))


def run_training(
    config: TrainConfig,
    resolved: dict[str, Any],
    spec: DatasetSpec,
    weights: Path | None,
    output_dir: Path,
    eval_only: bool,
    extra: ExtraEval | None,
) -> dict[str, Any]:
    """The per-process training function that Detectron2's launch runs on every GPU (or once on the CPU);
    ``extra``: the extra evaluation set, parsed once by the launcher (``extra_eval_set``)."""
    import yaml
    from detectron2.checkpoint import DetectionCheckpointer
    from detectron2.engine import default_setup
    from detectron2.utils import comm

    from bpgen_train.data import register_bpgen

    signal.signal(signal.SIGUSR1, _request_stop)
    register_bpgen(spec)
    if extra:
        from detectron2.data import DatasetCatalog
        from detectron2.data.datasets import register_coco_instances

        if extra[0] not in DatasetCatalog.list():
            register_coco_instances(extra[0], {}, str(extra[1]), str(extra[2]))
    cfg = build_cfg(config, spec, weights, output_dir, extra)
    default_setup(cfg, argparse.Namespace(config_file="", eval_only=eval_only, resume=True, opts=[]))
    if comm.is_main_process():
        (output_dir / "bpgen_train.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
    trainer_class = make_trainer_class()
    if eval_only:
        model = trainer_class.build_model(cfg)
        DetectionCheckpointer(model, save_dir=cfg.OUTPUT_DIR).resume_or_load(cfg.MODEL.WEIGHTS, resume=True)
        return dict(trainer_class.test(cfg, model))
    trainer = trainer_class(cfg)
    trainer.resume_or_load(resume=True)
    (output_dir / STOPPED_MARKER).unlink(missing_ok=True)
    try:
        results = trainer.train()
    except StoppedBySignal as stop:
        print(f"[bpgen] {stop}", file=sys.stderr, flush=True)
        if comm.is_main_process():
            (output_dir / STOPPED_MARKER).write_text(f"{stop.iteration}\n")
            if os.environ.get("SLURM_JOB_ID"):
                subprocess.run(["scontrol", "requeue", os.environ["SLURM_JOB_ID"]], check=False)
        return {"stopped_at": stop.iteration}
    return dict(results or {})


def default_output_dir(config: TrainConfig, spec: DatasetSpec) -> Path:
    return config.output_dir or layout.train_output_dir(spec.root.parent, config.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpgen_train.train_net", description=__doc__.splitlines()[0])
    parser.add_argument("--config-name", default="mask_rcnn_R_50_FPN", help="a file of configs/train/ (no .yaml)")
    parser.add_argument("--run", help="run directory or name whose RUN/dataset to train on (or dataset=PATH)")
    parser.add_argument("--eval-only", action="store_true", help="evaluate the last checkpoint on val")
    parser.add_argument("--num-gpus", type=int, help="GPUs on this machine to use (default: all visible)")
    parser.add_argument("--weights-dir", type=Path, help="default: BPGEN_WEIGHTS_DIR from environment.sh")
    parser.add_argument("--print-config", action="store_true", help="print the resolved train config and exit")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides on configs/train/, e.g. solver.max_iter=1000")
    args = parser.parse_args(argv)
    try:
        overrides = list(args.overrides)
        if args.run:
            overrides.append(f"dataset={_dataset_dir(args.run)}")
        config, resolved = compose_train_config(args.config_name, overrides)
        if args.print_config:
            import yaml

            print(yaml.safe_dump(resolved, sort_keys=False), end="")
            return 0
        if config.dataset is None:
            raise DatasetError("no dataset: pass --run RUN (a merged run) or dataset=RUN/dataset")
        spec = dataset_spec(config.dataset)
        weights = resolve_weights(config, args.weights_dir or _weights_dir())
        extra = extra_eval_set(config, os.environ)
        gpus = _cuda_devices()
        check_device(config, gpus)
        plan = launch_plan(os.environ, args.num_gpus or gpus if config.device == "cuda" else 1)
        output_dir = default_output_dir(config, spec)
        output_dir.mkdir(parents=True, exist_ok=True)
    except UserError as exc:
        return report(exc)
    except ImportError as exc:
        print(f"error: {exc}; install the train stack with ./0-setup --train", file=sys.stderr)
        return 2
    from detectron2.engine import launch

    signal.signal(signal.SIGUSR1, signal.SIG_IGN if plan.num_gpus_per_machine > 1 else _request_stop)
    launch(
        DieWithLauncher(run_training),  # ranks end with the launcher, also when it is SIGKILLed
        plan.num_gpus_per_machine if config.device == "cuda" else 1,
        num_machines=plan.num_machines,
        machine_rank=plan.machine_rank,
        dist_url=plan.dist_url,
        args=(config, resolved, spec, weights, output_dir, args.eval_only, extra),
    )
    return STOPPED if (output_dir / STOPPED_MARKER).is_file() else 0


def _dataset_dir(run: str) -> Path:
    from bpgen.run.directory import Run
    from bpgen.run.site import load_site_config

    return Run.find(run, load_site_config().data_root).dataset_dir


def _weights_dir() -> Path:
    from bpgen.run.site import load_site_config

    return load_site_config().weights_dir


def _cuda_devices() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


if __name__ == "__main__":
    sys.exit(main())
