"""The database lock that makes "one at a time per tenant" true across engine processes.

``business.routing.Router.tenant_lock`` orders the coroutines of one process (an
asyncio lock: cheap, and it keeps them off the database while they wait). With several
engine processes on one database that is not enough: two dispatches of one tenant in
two processes would count the same free places and give an agent more than
``max_chats``. Whoever holds the process lock therefore also takes this one, as the
first statement of its unit of work; the database lock is the source of truth, the
process lock only the fast path in front of it.

``job`` is the other kind: a background job that every process runs on a timer (the
purges) but that should run in one process at a time, the others skipping their round.
"""

from __future__ import annotations

from typing import Protocol

from business.model import TenantId


class TenantLocks(Protocol):
    async def tenant(self, tenant_id: TenantId) -> None:
        """Hold the tenant's routing lock until this unit of work commits or rolls back
        (PostgreSQL: a transaction-scoped advisory lock). Take it first, before any row
        lock, so that two holders never wait for each other. On SQLite it is a no-op:
        one writer at a time holds the whole database anyway."""
        ...

    async def job(self, name: str) -> bool:
        """Take job ``name``'s lock if no other unit of work holds it, without waiting;
        True if taken, and then held until this unit of work ends (PostgreSQL: a
        transaction-scoped advisory lock, released by a dropped connection too, so a
        process that dies never keeps it). Works in a read-only unit of work. On SQLite
        always True: one process."""
        ...
