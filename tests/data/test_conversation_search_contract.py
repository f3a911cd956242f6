"""The integrators' conversation queries (``ConversationQueryRepository``), against the
fakes, SQLite and PostgreSQL: filters, newest-first keyset pages, tenant boundaries and
message counts; and on both databases, that the tenant's newest-first page is read
through the index migration 0012 adds, not by sorting the tenant's conversations."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, event

from business.conversation import Conversation
from business.conversation_query_ports import (
    ConversationCriteria,
    ConversationKey,
    MessageCounts,
)
from business.events import DeskMessage, NoteAdded
from business.model import (
    ConversationId,
    ConversationState,
    EventId,
    Participant,
    ParticipantKind,
)
from business.ports import UnitOfWorkFactory
from data import Database
from tests.data.contract_support import (
    ALICE,
    BOB,
    OTHER_TENANT,
    OTHER_VISITOR,
    SALES,
    SUPPORT,
    TENANT,
    VISITOR,
    add_conversations,
    add_events,
    at,
    conversation,
    message,
    seed,
)

QUEUED, ACTIVE, ENDED = ConversationState.QUEUED, ConversationState.ACTIVE, ConversationState.ENDED


def _ids(found: Sequence[Conversation]) -> list[str]:
    return [c.id for c in found]


async def _search(
    uow_factory: UnitOfWorkFactory,
    after: ConversationKey | None = None,
    limit: int = 100,
    **criteria: object,
) -> list[str]:
    wanted = ConversationCriteria(tenant_id=TENANT, **criteria)  # type: ignore[arg-type]
    async with uow_factory() as uow:
        return _ids(await uow.conversation_queries.search(wanted, after=after, limit=limit))


async def _five(uow_factory: UnitOfWorkFactory) -> None:
    """Five conversations of TENANT and one of OTHER_TENANT; c-3 and c-4 were created in
    the same microsecond (the id orders them)."""
    await seed(uow_factory)
    await add_conversations(
        uow_factory,
        conversation("c-1", created_at=at(1), state=ENDED, agent_id=ALICE, ended_at=at(9)),
        conversation("c-2", created_at=at(2), state=ACTIVE, agent_id=BOB, queue=SALES),
        conversation("c-3", created_at=at(3), state=QUEUED),
        conversation("c-4", created_at=at(3), state=ACTIVE, agent_id=ALICE),
        conversation("c-5", created_at=at(4) + timedelta(microseconds=1), state=QUEUED),
        conversation("c-other", tenant_id=OTHER_TENANT, visitor_id=OTHER_VISITOR, created_at=at(5)),
    )


async def test_a_tenant_search_lists_its_conversations_newest_first_and_no_others(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await _five(uow_factory)
    assert await _search(uow_factory) == ["c-5", "c-4", "c-3", "c-2", "c-1"]
    async with uow_factory() as uow:
        found = await uow.conversation_queries.search(
            ConversationCriteria(tenant_id=OTHER_TENANT), after=None, limit=10
        )
        # What is listed is the whole conversation, as stored.
        assert found == [
            conversation(
                "c-other", tenant_id=OTHER_TENANT, visitor_id=OTHER_VISITOR, created_at=at(5)
            )
        ]


async def test_each_filter_narrows_the_search_and_they_combine(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await _five(uow_factory)
    assert await _search(uow_factory, states=frozenset({QUEUED})) == ["c-5", "c-3"]
    assert await _search(uow_factory, states=frozenset({ACTIVE, ENDED})) == ["c-4", "c-2", "c-1"]
    assert await _search(uow_factory, queue=SALES) == ["c-2"]
    assert await _search(uow_factory, agent_id=ALICE) == ["c-4", "c-1"]
    assert await _search(uow_factory, agent_id=ALICE, states=frozenset({ENDED})) == ["c-1"]
    assert await _search(uow_factory, visitor_id=VISITOR) == ["c-5", "c-4", "c-3", "c-2", "c-1"]
    # A visitor of another tenant has nothing in this one.
    assert await _search(uow_factory, visitor_id=OTHER_VISITOR) == []
    # since is inclusive and until exclusive, to the microsecond.
    assert await _search(uow_factory, since=at(3), until=at(4)) == ["c-4", "c-3"]
    assert await _search(uow_factory, since=at(4)) == ["c-5"]
    assert await _search(uow_factory, until=at(4) + timedelta(microseconds=1)) == [
        "c-4",
        "c-3",
        "c-2",
        "c-1",
    ]
    assert await _search(uow_factory, queue=SUPPORT, until=at(2)) == ["c-1"]


async def test_keyset_pages_cover_every_conversation_once_even_within_one_microsecond(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await _five(uow_factory)
    pages: list[list[str]] = []
    after = None
    async with uow_factory() as uow:
        while True:
            page = await uow.conversation_queries.search(
                ConversationCriteria(tenant_id=TENANT), after=after, limit=2
            )
            if not page:
                break
            pages.append(_ids(page))
            after = ConversationKey.of(page[-1])
    assert pages == [["c-5", "c-4"], ["c-3", "c-2"], ["c-1"]]
    # From a key between the two of the same microsecond: only the smaller id follows.
    between = ConversationKey(created_at=at(3), id=ConversationId("c-4"))
    assert await _search(uow_factory, after=between) == ["c-3", "c-2", "c-1"]
    # A key one microsecond after c-5 still has c-5 after it; one at c-5 does not.
    just_after = ConversationKey(
        created_at=at(4) + timedelta(microseconds=2), id=ConversationId("a")
    )
    assert (await _search(uow_factory, after=just_after))[0] == "c-5"
    at_c5 = ConversationKey(created_at=at(4) + timedelta(microseconds=1), id=ConversationId("c-5"))
    assert (await _search(uow_factory, after=at_c5))[0] == "c-4"
    # The filters hold on every page.
    assert await _search(uow_factory, after=between, states=frozenset({QUEUED})) == ["c-3"]


async def test_a_key_in_another_time_zone_is_the_same_instant(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await _five(uow_factory)
    plus_two = at(3).astimezone(timezone(timedelta(hours=2)))
    assert plus_two.utcoffset() == timedelta(hours=2)
    assert plus_two.astimezone(UTC) == at(3)
    key = ConversationKey(created_at=plus_two, id=ConversationId("c-4"))
    assert await _search(uow_factory, after=key) == ["c-3", "c-2", "c-1"]


async def test_message_counts_count_messages_by_sender_kind_and_notes(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    await add_conversations(uow_factory, conversation("c-1", state=ACTIVE, agent_id=ALICE))
    alice = Participant(kind=ParticipantKind.AGENT, name="Alice", id=ALICE)
    bot = Participant(kind=ParticipantKind.BOT, name="Helper")
    system = Participant(kind=ParticipantKind.SYSTEM, name="System")
    await add_events(
        uow_factory,
        message("c-1", 1),
        message("c-1", 2),
        message("c-1", 3, sender=alice),
        message("c-1", 4, sender=bot),
        message("c-1", 5, sender=system),
        message("c-1", 6, sender=bot),
    )
    cid = ConversationId("c-1")
    async with uow_factory() as uow:
        await uow.events.add(
            NoteAdded(
                conversation_id=cid, pos=7, created_at=at(7), id=EventId("n"), by=alice, text="n"
            )
        )
        await uow.events.add(
            DeskMessage(
                conversation_id=cid,
                pos=8,
                created_at=at(8),
                id=EventId("d"),
                sender=alice,
                text="d",
            )
        )
        await uow.commit()
    async with uow_factory() as uow:
        counts = await uow.conversation_queries.message_counts(cid)
        assert counts == MessageCounts(visitor=2, agent=1, bot=2, system=1, notes=1)
        assert await uow.conversation_queries.message_counts(ConversationId("none")) == (
            MessageCounts()
        )


# -- the index ---------------------------------------------------------------------


@contextmanager
def captured_statements() -> Iterator[list[tuple[str, Any]]]:
    """The statements (and their parameters) every engine runs meanwhile."""
    seen: list[tuple[str, Any]] = []

    def on_statement(*args: Any) -> None:
        seen.append((args[2], args[3]))

    event.listen(Engine, "before_cursor_execute", on_statement)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", on_statement)


async def test_a_tenants_page_is_read_from_the_index_without_sorting(database: Database) -> None:
    """The statement the repository runs for a second page of a tenant's conversations,
    explained by the database itself: a walk of ix_conversations_tenant_id_created_at_id
    from the cursor, no sort of the tenant's conversations."""
    await _five(database.unit_of_work)
    key = ConversationKey(created_at=at(3), id=ConversationId("c-4"))
    with captured_statements() as seen:
        async with database.unit_of_work() as uow:
            found = await uow.conversation_queries.search(
                ConversationCriteria(tenant_id=TENANT), after=key, limit=2
            )
    assert _ids(found) == ["c-3", "c-2"]
    [(statement, parameters)] = [(s, p) for s, p in seen if "FROM conversations" in s]
    async with database.begin() as connection:
        if database.dialect == "sqlite":
            rows = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            plan = " | ".join(str(row[-1]) for row in rows)
            assert "ix_conversations_tenant_id_created_at_id" in plan, plan
            assert "TEMP B-TREE" not in plan, plan
        else:
            # Five rows are cheaper to scan than any index: ask for the plan of a large
            # table, where reading and sorting all of a tenant's rows would cost most.
            await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            await connection.exec_driver_sql("SET LOCAL enable_sort = off")
            rows = await connection.exec_driver_sql("EXPLAIN " + statement, parameters)
            plan = " | ".join(str(row[0]) for row in rows)
            assert "Index Scan Backward using ix_conversations_tenant_id_created_at_id" in plan, (
                plan
            )
            assert "Sort" not in plan, plan
