"""Shared validators of config values: each failure is a ``ConfigError`` with a one-line message naming the fix."""

from __future__ import annotations

from typing import Any

from bpgen.errors import UserError


class ConfigError(UserError, ValueError):
    """A configuration value is wrong; the message says how to fix it."""


IntRange = tuple[int, int]
FloatRange = tuple[float, float]


def range_pair(
    value: Any, key: str, kind: type, minimum: float, maximum: float | None = None, why: str = ""
) -> tuple[Any, Any]:
    """A [min, max] pair with ``minimum <= min <= max``, and ``max <= maximum`` when given (``why`` says why)."""
    try:
        low, high = (kind(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a [min, max] pair of numbers, got {value!r}; e.g. {key}=[1,3]") from None
    if low < minimum or high < low:
        raise ConfigError(f"{key}={value!r} must satisfy {minimum} <= min <= max; fix {key}")
    if maximum is not None and high > maximum:
        raise ConfigError(f"{key}={value!r} has a max above the bound {maximum:,}{_why(why)}; lower the max of {key}")
    return low, high


def bounded(number: Any, key: str, low: float, high: float, why: str = "", fix: str = "") -> Any:
    """``number`` (already checked to be a number) within ``[low, high]``; the refusal names the bound and the fix
    (``fix``, else raise or lower ``key``)."""
    if number < low:
        raise ConfigError(f"{key}={number!r} is below the bound {low:,}{_why(why)}; {fix or 'raise ' + key}")
    if number > high:
        raise ConfigError(f"{key}={number!r} is above the bound {high:,}{_why(why)}; {fix or 'lower ' + key}")
    return number


def _why(why: str) -> str:
    return f" ({why})" if why else ""


def positive(value: Any, key: str, kind: type = int, allow_zero: bool = False) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a number, got {value!r}") from None
    if isinstance(value, bool) or number < 0 or (number == 0 and not allow_zero) or number != value:
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{key} must be {'an integer' if kind is int else 'a number'} {bound}, got {value!r}")
    return number


def flag(value: Any, key: str) -> bool:
    """A true/false switch (not 0/1, not a string)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    return value


def probability(value: Any, key: str) -> float:
    """A share in [0, 1]."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a number in [0, 1], got {value!r}") from None
    if isinstance(value, bool) or not 0.0 <= number <= 1.0:
        raise ConfigError(f"{key} must be in [0, 1], got {value!r}; e.g. {key}=0.5")
    return number


def choice(value: Any, key: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{key}={value!r} is not valid; use one of: {', '.join(choices)}")
    return str(value)


def section(value: Any, key: str, keys: tuple[str, ...], fix: str) -> dict[str, Any]:
    """A config section: a mapping with exactly ``keys``; ``fix`` says where a missing key comes from."""
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be a mapping of {', '.join(keys)}, got {value!r}; {fix}")
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise ConfigError(f"{key} has unknown keys {unknown}; valid: {', '.join(keys)}")
    missing = [k for k in keys if k not in value]
    if missing:
        raise ConfigError(f"{key}.{missing[0]} is missing; {fix}")
    return value


def weights(value: Any, key: str, known: tuple[str, ...]) -> dict[str, float]:
    given = dict(value or {})
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ConfigError(f"{key} has unknown entries {unknown}; valid: {', '.join(known)}")
    if any(float(w) < 0 for w in given.values()) or sum(float(w) for w in given.values()) <= 0:
        raise ConfigError(f"{key} weights must be >= 0 with at least one > 0, got {given}")
    return {k: float(w) for k, w in given.items()}
