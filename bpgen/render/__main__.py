"""``python -m bpgen.render``: render one shard (see ``bpgen.render.cli``)."""

from bpgen.render.cli import run_main

if __name__ == "__main__":
    run_main()
