"""The SQLite writer's statements, compiled once and then run as plain SQL.

``Connection.execute`` of a Core statement pays, on every call, for the statement's
cache key (a walk of the whole statement: an UPDATE of a conversation names dozens of
columns), the compiled-cache lookup and an execution context that converts each
parameter by its column's type. On the SQLite writer's thread that was most of the
0.4 ms a lone message's commit took. Here each (statement, parameter names) is compiled
once for the dialect: its SQL text, the order of its positional parameters and their
type conversions (``bind_processor``). A write then converts its rows itself (``bind``)
and hands the text and tuples to sqlite3's connection when the writer's whole batch is
prepared (``data.sqlite_writer``, which announces the statements and wraps the errors
as SQLAlchemy would), or else to ``exec_driver_sql``, which goes through the engine (its
events, its error wrapping: an ``IntegrityError`` stays one).

Only what a plain text can say exactly is prepared: a statement that needs Python-side
column defaults filled in, RETURNING, expanding or literal-execute parameters is left
to ``Connection.execute`` (``get`` answers None for it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cachetools import LRUCache
from sqlalchemy import Connection, CursorResult, Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import StatementError
from sqlalchemy.sql.compiler import SQLCompiler

_Processor = Callable[[Any], Any] | None


class PreparedWrite:
    """One statement for one set of parameter names: its SQL and how to fill it."""

    __slots__ = ("names", "processors", "sql", "stmt")

    def __init__(
        self, stmt: Executable, sql: str, names: tuple[str, ...], processors: tuple[_Processor, ...]
    ) -> None:
        self.stmt = stmt  # held, so its id() is not reused while cached
        self.sql = sql
        self.names = names
        self.processors = processors

    def params(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(
            row[name] if process is None else process(row[name])  # as SQLAlchemy does
            for name, process in zip(self.names, self.processors, strict=True)
        )

    def bind(self, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """The DBAPI parameters of ``rows``, converted as their columns' types say."""
        try:
            return [self.params(row) for row in rows]
        except Exception as error:
            # A value its type refuses (a naive datetime): the error SQLAlchemy raises.
            name = f"{type(error).__module__}.{type(error).__name__}"
            raise StatementError(f"({name}) {error}", self.sql, rows, error) from error

    def execute(self, connection: Connection, rows: list[dict[str, Any]]) -> CursorResult[Any]:
        params = self.bind(rows)
        return connection.exec_driver_sql(self.sql, params[0] if len(params) == 1 else params)


class PreparedWrites:
    """``PreparedWrite`` by statement and parameter names, made on first use."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        # The writes are module constants (or cached per set of columns): a few dozen.
        # Bounded all the same, should a statement ever be built per call.
        self._cache: LRUCache[tuple[int, tuple[str, ...]], PreparedWrite | None] = LRUCache(
            maxsize=512
        )

    def get(self, stmt: Executable, rows: list[dict[str, Any]]) -> PreparedWrite | None:
        """The prepared form of ``stmt`` for ``rows`` (all with the same names), or
        None: run it through ``Connection.execute``."""
        names = tuple(rows[0])
        if any(row.keys() != rows[0].keys() for row in rows[1:]):
            return None
        key = (id(stmt), names)
        if key in self._cache:
            found = self._cache[key]
            # None: not preparable; were the id another statement's now, this one only
            # goes the slower, always right way.
            if found is None or found.stmt is stmt:
                return found
        prepared = self._prepare(stmt, names)
        self._cache[key] = prepared
        return prepared

    def _prepare(self, stmt: Executable, names: tuple[str, ...]) -> PreparedWrite | None:
        compiled = stmt.compile(dialect=self._dialect, column_keys=list(names))  # type: ignore[attr-defined]
        if not isinstance(compiled, SQLCompiler) or not self._dialect.positional:
            return None
        if (
            compiled.insert_prefetch
            or compiled.update_prefetch
            or compiled.effective_returning
            or compiled.literal_execute_params
            or compiled.post_compile_params
            or any(bind.expanding for bind in compiled.binds.values())
            or compiled.positiontup is None
        ):
            return None
        order = tuple(compiled.positiontup)
        if not set(order) <= set(names):
            return None  # a parameter the rows do not give: let SQLAlchemy say so
        # The compiler's conversions by parameter, as the execution context reads them.
        # Private to SQLAlchemy: should a release rename it, every write goes the
        # slower, always right way instead of failing.
        by_name = getattr(compiled, "_bind_processors", None)
        if not isinstance(by_name, dict):
            return None
        processors: list[_Processor] = []
        for name in order:
            process = by_name.get(name)
            if process is not None and not callable(process):
                return None  # a tuple type's processors, per element
            processors.append(process)
        return PreparedWrite(stmt, compiled.string, order, tuple(processors))
