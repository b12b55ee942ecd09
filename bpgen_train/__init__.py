"""Detectron2 training project for bpgen datasets: configs, dataset registration, Slurm launch, train/infer.

Public API (import from the modules): ``data.register_bpgen`` and ``dataset_spec`` (register a merged dataset
by explicit call), ``data.keypoint_metadata``, ``config`` (the train config), ``launch`` (one process per GPU
under Slurm); entry points ``python -m bpgen_train.train_net``, ``.infer``, ``.export``.
"""
