"""Merge a run's DONE shards into one COCO + BOP-style dataset: ``python -m bpgen.merge RUN [--check]``."""
