"""``python -m bpgen.run NAME_OR_DIR``: print the run's directory (jobs/common.sh asks this)."""

from __future__ import annotations

import argparse
import sys

from bpgen.errors import UserError, report
from bpgen.run.directory import Run
from bpgen.run.site import load_site_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpgen.run", description=__doc__.split(":", 1)[1].strip())
    parser.add_argument("run", help="a run name under BPGEN_DATA_ROOT, or a run directory")
    args = parser.parse_args(argv)
    try:
        print(Run.find(args.run, load_site_config().data_root).path)
    except UserError as exc:
        return report(exc)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
