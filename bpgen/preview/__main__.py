"""``python -m bpgen.preview SHARD_DIR``: a shard's labelled contact sheet (see ``bpgen.preview.sheet``)."""

import sys

from bpgen.preview.sheet import main

if __name__ == "__main__":
    sys.exit(main())
