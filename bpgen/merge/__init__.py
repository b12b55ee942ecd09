"""Merge a run's DONE shards into one COCO + BOP-style dataset: ``python -m bpgen.merge RUN [--check]``.

Public API (import from the modules): ``build.merge_run`` (the dataset, swapped into place atomically),
``check`` (``--check`` of a merged dataset), ``config`` (the merge config), ``stats`` (stats.json and plots),
``coco_writer`` (the split COCO files, streamed), ``plan`` (pure split and ids), ``shard_merge`` (one shard's part).
"""
