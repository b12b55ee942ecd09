"""Read environment.sh without running a shell: ``NAME=${NAME:-default}`` lines, environment wins."""

from __future__ import annotations

import os
import re
from pathlib import Path

from bpgen.errors import UserError

ENV_FILE = Path(__file__).resolve().parents[1] / "environment.sh"
_LINE = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*)=\$\{(?P=name):-(?P<default>[^}]*)\}\s*(?:#.*)?$")


class EnvFileError(UserError, ValueError):
    """environment.sh has a line this reader does not accept."""


def read_env_file(path: Path = ENV_FILE, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Values of ``path``: each default, replaced by the process environment's value when it is set and not
    empty (what ``source`` does with ``${NAME:-default}``)."""
    environ = dict(os.environ) if environ is None else environ
    values: dict[str, str] = {}
    for number, raw in enumerate(Path(path).read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise EnvFileError(f"{path}:{number}: expected NAME=${{NAME:-default}}, got {line!r}; fix that line")
        name = match["name"]
        values[name] = environ.get(name) or match["default"].strip()  # ${NAME:-default}: empty means unset
    return values


def path_setting(
    name: str, default: str = "", path: Path = ENV_FILE, environ: dict[str, str] | None = None
) -> Path | None:
    """One path of environment.sh (the environment wins; relative to the checkout; ``~`` expanded), or None when
    empty. For the render core, which must not need the rest of the site config (``bpgen.run.site``)."""
    path = Path(path).resolve()
    environ = dict(os.environ) if environ is None else environ
    values = read_env_file(path, environ) if path.is_file() else environ
    value = (values.get(name) or default).strip()
    if not value:
        return None
    setting = Path(value).expanduser()
    return setting if setting.is_absolute() else path.parent / setting


def assets_dir_setting(path: Path = ENV_FILE, environ: dict[str, str] | None = None) -> Path | None:
    """BPGEN_ASSETS_DIR (the admin's asset library), or None when empty."""
    return path_setting("BPGEN_ASSETS_DIR", "", path, environ)
