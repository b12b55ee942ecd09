"""Slurm: array planning and sbatch parameters (pure), the cluster's commands (scontrol, squeue, sbatch)."""
