"""``business.copying.replaced``: the same copies as ``dataclasses.replace``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from business.changes import ChangeBuilder
from business.copying import replaced
from tests.business.test_conversation import active


def test_a_conversation_copy_equals_what_dataclasses_replace_makes() -> None:
    conv = active()
    copy = replaced(conv, last_seq=conv.last_seq + 1, visitor_read_seq=1)
    assert copy == dataclasses.replace(conv, last_seq=conv.last_seq + 1, visitor_read_seq=1)
    assert copy is not conv
    assert type(copy) is type(conv)
    assert replaced(conv) == conv
    # The original is untouched, and the copy is as frozen as it.
    assert conv.last_seq + 1 == copy.last_seq
    with pytest.raises(dataclasses.FrozenInstanceError):
        copy.last_seq = 0  # type: ignore[misc]


def test_a_name_that_is_no_field_is_refused() -> None:
    with pytest.raises(TypeError, match="no_such_field"):
        replaced(active(), no_such_field=1)


@dataclass(frozen=True, slots=True)
class _Derived:
    a: int
    doubled: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "doubled", self.a * 2)


@dataclass
class _Plain:
    a: int
    b: str = "x"


@dataclass(frozen=True, slots=True, init=False)
class _OwnInit:
    x: int

    def __init__(self, x: int) -> None:
        object.__setattr__(self, "x", x * 10)


def test_classes_it_cannot_copy_straight_go_through_dataclasses_replace() -> None:
    # A hand-written ``__init__`` runs, as it would in ``dataclasses.replace``.
    assert replaced(_OwnInit(1), x=2) == dataclasses.replace(_OwnInit(1), x=2)
    assert replaced(_OwnInit(1), x=2).x == 20
    # A derived field is made again from the new value, as ``__init__`` would.
    assert replaced(_Derived(1), a=5).doubled == 10
    plain = _Plain(1)
    assert replaced(plain, b="y") == _Plain(1, "y")
    with pytest.raises(TypeError):
        replaced(plain, c=1)


def test_a_change_naming_no_field_of_the_conversation_fails_where_it_is_made() -> None:
    builder = ChangeBuilder(active())
    with pytest.raises(TypeError, match="no_such_field"):
        builder.update(no_such_field=1)
    builder.update(visitor_read_seq=1)
    assert builder.done().conversation.visitor_read_seq == 1
