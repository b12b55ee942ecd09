"""Detectron2 training project for bpgen datasets: configs, dataset registration, Slurm launch, train/infer."""
