"""Telling database errors apart, across SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

_SQLITE_TAKEN = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})
_PG_UNIQUE_VIOLATION = "23505"


def is_key_taken(error: IntegrityError) -> bool:
    """Whether ``error`` is a UNIQUE or PRIMARY KEY violation (not a foreign key, a NOT
    NULL or a CHECK)."""
    orig = error.orig
    name = getattr(orig, "sqlite_errorname", None)
    if name is not None:
        return name in _SQLITE_TAKEN
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code == _PG_UNIQUE_VIOLATION
