"""The SQL unit of work, and the writer gate that keeps SQLite free of "database is locked".

SQLite has one writer per database file. Under WAL, a transaction that reads first and
writes later must *upgrade* its read snapshot to the write lock; if another connection
committed in between, SQLite fails at once with SQLITE_BUSY ("database is locked"), and
``busy_timeout`` cannot help because waiting does not make the old snapshot current.
Business code reads a conversation and then writes its next seq, so that failure would
hit exactly the hot path. Two measures, each for a case the other does not cover:

- ``BEGIN IMMEDIATE`` (see ``data.database``): every transaction takes the write lock
  when it starts, so there is never an upgrade to fail. Another process writing to the
  same file (an admin command, say) makes us wait up to ``busy_timeout`` at BEGIN.
- a per-``Database`` asyncio lock (``WriterGate``) held for the whole unit of work.
  BEGIN IMMEDIATE alone serialises writers in one process too, but through SQLite's
  busy handler, which sleeps and retries and is not fair: in a burst a connection can
  keep losing past ``busy_timeout`` (measured here: 1 of 3,000 concurrent messages
  failed without the gate, none with it). Queueing in the event loop is FIFO, has no
  timeout, and keeps pool connections and worker threads out of the contention.

Reads wait in the same queue. That costs little (a unit of work is a few indexed
statements on a local file) and a unit of work cannot tell in advance whether it will
write. PostgreSQL needs no gate: ``for_update`` row locks serialise the writers that must
be serialised, and everything else runs concurrently.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Generic, Self, TypeVar, overload

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from business.errors import Conflict, DomainError, Unavailable
from data.cache import Caches
from data.pg_lane import FastLane
from data.repositories import (
    SqlAdapterStateRepository,
    SqlAgentRepository,
    SqlAnalyticsRepository,
    SqlApiKeyRepository,
    SqlCannedRepository,
    SqlContext,
    SqlConversationQueryRepository,
    SqlConversationRepository,
    SqlEventRepository,
    SqlLiveCountRepository,
    SqlMemberRepository,
    SqlQueueRepository,
    SqlReportRepository,
    SqlTenantRepository,
    SqlTranscriptMailRepository,
    SqlVisitorRepository,
    SqlWebhookDeliveryRepository,
    SqlWebhookRepository,
    SqlWidgetConfigRepository,
)
from data.repositories.delivery_owners import SqlDeliveryOwnerRepository
from data.repositories.files import SqlFileRepository
from data.repositories.governance import SqlAuditLogRepository, SqlRetentionSettingsRepository
from data.repositories.identities import (
    SqlIdentitySettingsRepository,
    SqlVisitorIdentityRepository,
)
from data.repositories.locks import SqlTenantLocks
from data.repositories.redaction import SqlRedactionSettingsRepository
from data.repositories.reservations import SqlReservationRepository
from data.repositories.visitor_data import SqlVisitorDataRepository
from data.sqlite_writer import SqliteWriter

logger = logging.getLogger(__name__)


class WriterGate:
    """At most one holder at a time, in FIFO order; re-entry from the holding task is
    refused, because on SQLite a nested unit of work would wait for itself forever."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[object] | None = None

    async def acquire(self) -> None:
        task = asyncio.current_task()
        if task is not None and task is self._holder:
            raise RuntimeError("units of work must not be nested (it would deadlock on SQLite)")
        await self._lock.acquire()
        self._holder = task

    def release(self) -> None:
        self._holder = None
        self._lock.release()


_R = TypeVar("_R")


class _Repository(Generic[_R]):
    """A unit of work's repository, made on first use and then kept on the instance.

    A unit of work offers some thirty repositories and uses two or three; making them
    all for each one was a measurable share of the engine's work per message."""

    def __init__(self, make: Callable[[SqlContext], _R]) -> None:
        self._make = make
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, uow: None, owner: type) -> Self: ...

    @overload
    def __get__(self, uow: SqlUnitOfWork, owner: type) -> _R: ...

    def __get__(self, uow: SqlUnitOfWork | None, owner: type) -> _R | Self:
        if uow is None:
            return self
        repository = self._make(uow._ctx)
        uow.__dict__[self._name] = repository  # found before this descriptor from now on
        return repository


class SqlUnitOfWork:
    """One database transaction behind ``business.ports.UnitOfWork``.

    Invariants: only ``commit`` makes changes durable, and leaving the ``async with``
    block without committing rolls back. Work after a ``commit`` in the same block runs
    in a new transaction. When ``commit`` returns, what it wrote is in the caches (or,
    when it fails, dropped from them). On SQLite at most one unit of work per
    ``Database`` is inside its block at a time. Use one instance per block; entering it
    again after leaving is allowed.

    It holds one connection for its whole block; a transaction begins with the first
    statement (on SQLite that is ``BEGIN IMMEDIATE``, see the module docstring). The
    conversation, event and member repositories queue their writes and ``commit`` sends each
    kind in one trip before COMMIT; the other repositories use an ORM session on the
    same connection. On SQLite, a unit of work whose reads the caches answered never
    opens its connection: ``commit`` hands the queued writes to the writer thread
    (``data.sqlite_writer``), which stores them in one hop.
    """

    # Each made on first use (_Repository): a unit of work touches two or three.
    tenants = _Repository(SqlTenantRepository)
    queues = _Repository(SqlQueueRepository)
    visitors = _Repository(SqlVisitorRepository)
    conversations = _Repository(SqlConversationRepository)
    events = _Repository(SqlEventRepository)
    agents = _Repository(SqlAgentRepository)
    adapter_state = _Repository(SqlAdapterStateRepository)
    canned = _Repository(SqlCannedRepository)
    members = _Repository(SqlMemberRepository)
    reports = _Repository(SqlReportRepository)
    live_counts = _Repository(SqlLiveCountRepository)
    conversation_queries = _Repository(SqlConversationQueryRepository)
    api_keys = _Repository(SqlApiKeyRepository)
    transcript_mails = _Repository(SqlTranscriptMailRepository)
    webhooks = _Repository(SqlWebhookRepository)
    webhook_deliveries = _Repository(SqlWebhookDeliveryRepository)
    widget_configs = _Repository(SqlWidgetConfigRepository)
    analytics = _Repository(SqlAnalyticsRepository)
    identity_settings = _Repository(SqlIdentitySettingsRepository)
    visitor_identities = _Repository(SqlVisitorIdentityRepository)
    files = _Repository(SqlFileRepository)
    reservations = _Repository(SqlReservationRepository)
    redaction_settings = _Repository(SqlRedactionSettingsRepository)
    retention_settings = _Repository(SqlRetentionSettingsRepository)
    audit_log = _Repository(SqlAuditLogRepository)
    visitor_data = _Repository(SqlVisitorDataRepository)
    locks = _Repository(SqlTenantLocks)
    delivery_owners = _Repository(SqlDeliveryOwnerRepository)

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        caches: Caches,
        gate: WriterGate | None,
        writer: SqliteWriter | None = None,
        lane: FastLane | None = None,
    ) -> None:
        self._ctx = SqlContext(engine=engine, caches=caches, gate=gate, writer=writer, lane=lane)

    async def __aenter__(self) -> Self:
        # The writer slot is taken with the connection, on the first statement: a unit
        # of work that the caches answer never queues behind writers.
        self._ctx.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._ctx.untouched:
            self._ctx.close_untouched()
            self._release()
            if exc is not None:
                _raise_retryable(exc)
            return
        # Closing returns the connection to the pool, which rolls back anything not
        # committed. It is shielded so that a cancelled caller (a client that went
        # away) cannot leave the connection checked out mid-transaction, and on SQLite
        # the gate opens only once that rollback has really finished.
        closing = asyncio.ensure_future(self._ctx.close())
        try:
            await asyncio.shield(closing)
        except asyncio.CancelledError:
            closing.add_done_callback(self._release_after_close)
            raise
        except BaseException as close_error:
            self._release()
            _raise_retryable(close_error)
            raise
        self._release()
        if exc is not None:
            _raise_retryable(exc)

    def read_only(self) -> None:
        self._ctx.read_only = True

    async def commit(self) -> None:
        if self._ctx.read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        try:
            await self._ctx.end_transaction(commit=True)
        except BaseException:
            # A lost connection during COMMIT leaves the outcome unknown: dropping a
            # cache entry is always safe.
            self._ctx.publish_writes(committed=False)
            raise
        # What follows in the same block is a new transaction (it begins on its first
        # statement), with a new ORM session.
        self._ctx.publish_writes(committed=True)

    def _release(self) -> None:
        self._ctx.release_gate()

    def _release_after_close(self, closing: asyncio.Future[None]) -> None:
        if not closing.cancelled() and (error := closing.exception()) is not None:
            logger.warning("closing a cancelled unit of work failed", exc_info=error)
        self._release()


_DOWN = (OperationalError, InterfaceError, OSError, TimeoutError)
"""Failures of the database server or the connection to it, not of the statement: the
request may succeed when retried, so callers see ``Unavailable`` (Socket.IO code
``unavailable``) instead of an internal error. SQLite's "database is locked" is an
OperationalError too, and "retry later" is the right answer for it as well."""


_DOWN_SQLSTATES = ("57P01", "57P02", "57P03", "53300")
"""PostgreSQL's answers of a server going down or not up yet: admin_shutdown,
crash_shutdown, cannot_connect_now ("the database system is starting up"), and
too_many_connections; with every connection_exception (class 08). asyncpg's errors
for them reach SQLAlchemy as a bare ``DBAPIError``, not an OperationalError."""


def _is_down(error: BaseException) -> bool:
    if isinstance(error, DomainError):
        return False
    if isinstance(error, _DOWN):
        return True
    if isinstance(error, DBAPIError):
        # A connection that died under a statement (a restart, pg_terminate_backend):
        # SQLAlchemy has invalidated it, and the next checkout opens a new one.
        if error.connection_invalidated:
            return True
        state = getattr(error.orig, "sqlstate", None)
        return isinstance(state, str) and (state.startswith("08") or state in _DOWN_SQLSTATES)
    return False


_ROLLED_BACK_SQLSTATES = ("40001", "40P01")
"""PostgreSQL's serialization_failure and deadlock_detected: the server rolled the whole
transaction back, and the same transaction run again may succeed. The engine takes most
of its row locks in one order (by id), but not all of them (a queue's waiting counts, a
provisional visitor's conversations), and a deadlock with anything else (an operator's
session, a migration) is possible too: none may reach a client as an internal error."""


def _is_rolled_back_for_retry(error: BaseException) -> bool:
    if not isinstance(error, DBAPIError):
        return False
    return getattr(error.orig, "sqlstate", None) in _ROLLED_BACK_SQLSTATES


def _raise_retryable(error: BaseException) -> None:
    """``error`` as what the caller may retry: ``Unavailable`` when the database is down,
    ``Conflict`` (which use cases run again, ``business.transactions.retrying``, and
    which is ``Unavailable`` to a client) when the server rolled the transaction back
    for a deadlock or a serialization failure; otherwise nothing is raised here."""
    if _is_down(error):
        logger.warning("database unavailable: %s", error)
        raise Unavailable("the database is unavailable; retry in a moment") from error
    if _is_rolled_back_for_retry(error):
        # The state and the error's class only: its text names the statement and its
        # parameters, a visitor's data among them.
        state = getattr(getattr(error, "orig", None), "sqlstate", None)
        logger.warning(
            "transaction rolled back by the database (%s, SQLSTATE %s), to be retried",
            type(getattr(error, "orig", error)).__name__,
            state,
        )
        raise Conflict("the database rolled the transaction back; retry it") from error
