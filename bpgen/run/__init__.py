"""The run layer: what a run directory is, below every stage that reads or writes one.

Public API (import from the modules; this ``__init__`` imports nothing, so that ``./1-build`` can import ``site``
with a bare system python3 >= 3.8 and no PyYAML):
  ``layout``     the one spelling of the run directory's file and directory names, shard id and image bounds
  ``directory``  ``Run`` (a run directory: manifest, frozen config, submissions, shard state), ``RunSpec``
  ``site``       ``SiteConfig`` from environment.sh (standard library only)
  ``locks``      per-process run locks and the waiting submission lock
  ``procs``      process lifetimes: children that end with their parent
  ``python -m bpgen.run NAME_OR_DIR`` prints a run's directory.
"""
