"""``replaced``: ``dataclasses.replace`` for the frozen, slotted dataclasses the message
path copies at every change (a conversation has some forty fields), in about half the
time.

``dataclasses.replace`` collects every field into keyword arguments and calls the
generated ``__init__``, which sets each one again; here the slots are copied straight
over and the changed ones set after. The result is the same: a class with a
``__post_init__``, a field left out of ``__init__`` or an ``__init__`` of its own (where
the copy could differ) goes through ``dataclasses.replace``, as does any class that is
not frozen and slotted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")

_Copier = Callable[[Any, dict[str, Any]], Any]
_COPIERS: dict[type, _Copier] = {}
_FIELD_NAMES: dict[type, frozenset[str]] = {}
_new = object.__new__
_set = object.__setattr__


def replaced(obj: _T, /, **changes: Any) -> _T:
    """A copy of the dataclass instance ``obj`` with ``changes``; ``TypeError`` for a
    name that is not one of its fields."""
    cls = type(obj)
    copier = _COPIERS.get(cls)
    if copier is None:
        copier = _COPIERS[cls] = _copier(cls)
    result: _T = copier(obj, changes)
    return result


def field_names(cls: type) -> frozenset[str]:
    """The names of the dataclass ``cls``'s fields (remembered per class)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(field.name for field in dataclasses.fields(cls))
    return names


def _copier(cls: type) -> _Copier:
    fields = dataclasses.fields(cls)
    params = getattr(cls, "__dataclass_params__", None)
    if (
        params is None
        # A class of its own (not a subclass that is no dataclass itself) with the
        # generated ``__init__``: a hand-written one may do more than set the fields.
        or "__dataclass_fields__" not in cls.__dict__
        or not params.init
        or not params.frozen
        or "__slots__" not in cls.__dict__
        or hasattr(cls, "__post_init__")
        or not all(field.init for field in fields)
    ):
        return _replace
    names = tuple(field.name for field in fields)
    known = field_names(cls)

    def copy(obj: Any, changes: dict[str, Any]) -> Any:
        new: Any = _new(cls)
        for name in names:
            _set(new, name, getattr(obj, name))
        for name, value in changes.items():
            if name not in known:
                raise TypeError(f"{cls.__name__} has no field {name!r}")
            _set(new, name, value)
        return new

    return copy


def _replace(obj: Any, changes: dict[str, Any]) -> Any:
    return dataclasses.replace(obj, **changes)
