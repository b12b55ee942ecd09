"""The operations wing, the top layer: what the entry points 2-submit, 00-clean and 1-build do.

Public API (import from the modules; nothing below this package imports it):
  ``submit``      ``./2-submit``: freeze a run, plan and submit Slurm arrays or a local pool, ``--status``/``--wait``
  ``status``      shard states of a run from DONE markers, the queue and the submissions; the status table
  ``local``       the local render pool (``--local``)
  ``task``        ``RenderShardTask`` (the object pickled into pending Slurm arrays; its import path is kept)
  ``slurm``       array planning, sbatch parameters and text, the cluster's commands
  ``clean``       ``./00-clean``; ``containers`` ``./1-build`` (standard library only)
The run layout, locks and site settings they share with merge and training are ``bpgen.run``'s.
"""
