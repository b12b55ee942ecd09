"""The one base of every refusal: each entry point catches ``UserError`` and prints it as one ``error:`` line.

Standard library only (``./1-build`` runs with a bare system python3).
"""

from __future__ import annotations

import sys

USER_ERROR_EXIT = 2


class UserError(Exception):
    """Something the user can fix; the message names the fix. Exit status 2, nothing half-written."""


class DeviceError(UserError, RuntimeError):
    """The configured render device is not available on this machine."""


def report(exc: UserError) -> int:
    """Print ``error: <message>`` on stderr and return the exit status of a refusal."""
    print(f"error: {exc}", file=sys.stderr)
    return USER_ERROR_EXIT
