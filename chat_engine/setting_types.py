"""Reading one setting's value as its field's type: from TOML's typed values or from
the text of an environment variable or a command-line flag."""

from __future__ import annotations

import math
import types
import typing
from typing import Any


def parseable(typ: Any) -> bool:
    """Whether a field of this type can be configured."""
    typ, _ = unwrap_optional(typ)
    return typ in (bool, int, float, str) or _is_str_tuple(typ)


def unwrap_optional(typ: Any) -> tuple[Any, bool]:
    """``(T, True)`` for ``T | None``, else ``(typ, False)``."""
    if typing.get_origin(typ) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(typ) if arg is not type(None)]
        if len(args) == 1:
            return args[0], True
    return typ, False


def coerce(typ: Any, value: object, *, from_text: bool) -> tuple[object, str | None]:
    """``(value as typ, None)``, or ``(None, what was expected)`` when it cannot be.

    ``typ`` must be ``parseable``; ``from_text`` says the value is text to parse (the
    environment, a flag) rather than a typed TOML value.
    """
    if typ is bool:
        flag = _to_bool(value, from_text)
        return (flag, None) if flag is not None else (None, "true or false")
    if typ is int:
        number = _to_int(value, from_text)
        return (number, None) if number is not None else (None, "an integer")
    if typ is float:
        real = _to_float(value, from_text)
        return (real, None) if real is not None else (None, "a finite number")
    if typ is str:
        return (value.strip(), None) if isinstance(value, str) else (None, "a string")
    if isinstance(value, str) and from_text:
        return tuple(part.strip() for part in value.split(",") if part.strip()), None
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value), None
    return None, "a list of strings"


def _is_str_tuple(typ: Any) -> bool:
    return typing.get_origin(typ) is tuple and typing.get_args(typ) == (str, ...)


def _to_bool(value: object, from_text: bool) -> bool | None:
    if isinstance(value, bool):
        return value
    if from_text and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
    return None


def _to_int(value: object, from_text: bool) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if from_text and isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _to_float(value: object, from_text: bool) -> float | None:
    """A finite number: ``inf`` would quietly switch a limit or a timer off."""
    number: float | None = None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif from_text and isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    return number if number is not None and math.isfinite(number) else None
