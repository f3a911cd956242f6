"""What the member contract tests share: a store over the fakes, SQLite or PostgreSQL,
with a check that the conversations' ``members`` and the member rows agree, and
shortcuts to write member rows."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from business.member_ports import MemberJoin, MemberWrite
from business.model import AgentId, ConversationId, MemberRole
from business.ports import UnitOfWorkFactory
from tests.conftest import open_database
from tests.data.contract_support import seed
from tests.fakes import FakeStore, FakeUnitOfWork
from tests.harness import assert_database_members_consistent, members_out_of_step


@dataclasses.dataclass
class Store:
    uow: UnitOfWorkFactory
    check_members: Callable[[], Awaitable[None]]
    """Whether every open conversation's ``members`` equal its current member rows."""
    forget_cache: Callable[[], None] = lambda: None
    """Empty a database's caches, so that what follows reads what is stored."""


@asynccontextmanager
async def open_store(backend: str, tmp_path: Path) -> AsyncIterator[Store]:
    """An empty store of ``backend`` ("fake", "sqlite", "postgres") with the contract
    tests' tenants, queues and visitors."""
    if backend == "fake":
        fake = FakeStore()

        async def check_fake() -> None:
            rows = [
                (r.conversation_id, r.agent_id, r.role, r.left_pos) for r in fake.members.values()
            ]
            assert members_out_of_step(fake.conversations.values(), rows) == []

        store = Store(uow=lambda: FakeUnitOfWork(fake), check_members=check_fake)
        await seed(store.uow)
        yield store
        return
    async with open_database(backend, tmp_path) as db:

        async def check_database() -> None:
            await assert_database_members_consistent(db)

        store = Store(
            uow=db.unit_of_work, check_members=check_database, forget_cache=db.caches.clear
        )
        await seed(store.uow)
        yield store


def join(
    agent_id: AgentId,
    role: MemberRole = MemberRole.INVITED,
    *,
    joined: int = 1,
    delivered: int = 0,
    left: int | None = None,
) -> MemberJoin:
    return MemberJoin(
        agent_id=agent_id,
        name=agent_id.removeprefix("a-").title(),
        role=role,
        joined_pos=joined,
        delivered_pos=delivered,
        left_pos=left,
    )


async def write(store: Store, *writes: tuple[str, MemberWrite]) -> None:
    """Each (conversation, write) in order, in one unit of work."""
    async with store.uow() as uow:
        for conversation_id, member_write in writes:
            await uow.members.write(ConversationId(conversation_id), member_write)
        await uow.commit()
