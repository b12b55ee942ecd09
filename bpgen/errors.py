"""Errors that reach the user as one ``error:`` line (exit status 2)."""


class DeviceError(RuntimeError):
    """The configured render device is not available on this machine."""
