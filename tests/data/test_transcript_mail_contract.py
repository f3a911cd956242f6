"""The transcript outbox's and the tenant settings' repository contract, on the fakes,
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from business.errors import Conflict
from business.model import ConversationId, ConversationState, Tenant, TenantId
from business.ports import UnitOfWork, UnitOfWorkFactory
from business.transcript_mail_ports import (
    AUTOMATIC,
    MailStatus,
    QueuedTranscript,
    TranscriptMailId,
)
from data import Database
from tests.data.contract_support import (
    OTHER_TENANT,
    T0,
    TENANT,
    assert_utc,
    at,
    conversation,
    seed,
)

C1 = ConversationId("c-1")
C2 = ConversationId("c-2")


def queued(n: str, number: int, **changes: object) -> QueuedTranscript:
    base = QueuedTranscript(
        id=TranscriptMailId(f"m-{n}"),
        tenant_id=TENANT,
        conversation_id=C1,
        number=number,
        address="ann@example.org",
        created_at=at(1),
        next_attempt_at=at(1),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def add(uow_factory: UnitOfWorkFactory, *mails: QueuedTranscript) -> None:
    async with uow_factory() as uow:
        for mail in mails:
            await uow.transcript_mails.add(mail)
        await uow.commit()


async def stored(
    uow_factory: UnitOfWorkFactory, conversation_id: ConversationId = C1
) -> list[QueuedTranscript]:
    async with uow_factory() as uow:
        return list(await uow.transcript_mails.list_for_conversation(conversation_id))


async def test_a_transcript_round_trips_with_every_field(uow_factory: UnitOfWorkFactory) -> None:
    full = queued(
        "full",
        2,
        address="Ann.O'Neil+chat@xn--bcher-kva.example",
        status=MailStatus.FAILED,
        attempts=3,
        finished_at=at(9),
        last_error="550 mailbox unavailable: <recipient>",
    )
    await add(uow_factory, queued("auto", AUTOMATIC), full)

    found = await stored(uow_factory)

    assert found == [queued("auto", AUTOMATIC), full]
    for value in (found[1].created_at, found[1].next_attempt_at, found[1].finished_at):
        assert_utc(value)


async def test_a_taken_number_of_a_conversation_is_a_conflict_and_stores_nothing(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await add(uow_factory, queued("a", 1))

    async def add_taken_and_another(uow: UnitOfWork) -> None:
        await uow.transcript_mails.add(queued("b", 1, address="bob@example.org"))
        await uow.transcript_mails.add(queued("c", 2))
        await uow.commit()

    async with uow_factory() as uow:
        # Refused at the add (the fakes) or at the commit (SQL queues its inserts).
        with pytest.raises(Conflict):
            await add_taken_and_another(uow)

    assert [m.id for m in await stored(uow_factory)] == ["m-a"]
    # The same number in another conversation is another transcript.
    await add(uow_factory, queued("d", 1, conversation_id=C2))
    assert [m.id for m in await stored(uow_factory, C2)] == ["m-d"]


async def test_last_request_is_the_highest_number_of_the_conversation(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert await uow.transcript_mails.last_request(C1) == 0
    await add(uow_factory, queued("auto", AUTOMATIC), queued("1", 1), queued("2", 2))
    await add(uow_factory, queued("other", 5, conversation_id=C2))

    async with uow_factory() as uow:
        assert await uow.transcript_mails.last_request(C1) == 2
        assert await uow.transcript_mails.last_request(C2) == 5
        # Its own uncommitted write counts too (a read after a queued insert).
        await uow.transcript_mails.add(queued("3", 3))
        assert await uow.transcript_mails.last_request(C1) == 3


async def test_due_are_the_pending_ones_whose_time_has_come_soonest_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await add(
        uow_factory,
        queued("late", 1, next_attempt_at=at(30)),
        queued("soon", 2, next_attempt_at=at(10)),
        queued("now", 3, next_attempt_at=at(20)),
        queued("sent", 4, next_attempt_at=at(5), status=MailStatus.SENT, finished_at=at(6)),
        queued("failed", 5, next_attempt_at=at(5), status=MailStatus.FAILED, finished_at=at(6)),
        queued("later", 1, conversation_id=C2, next_attempt_at=at(21)),
    )

    async with uow_factory() as uow:
        assert [m.id for m in await uow.transcript_mails.due(at(20), 10)] == ["m-soon", "m-now"]
        assert [m.id for m in await uow.transcript_mails.due(at(30), 2)] == ["m-soon", "m-now"]
        assert len(await uow.transcript_mails.due(at(30), 10)) == 4
        assert await uow.transcript_mails.due(at(9), 10) == []


async def test_a_claim_counts_the_attempt_and_only_one_caller_gets_it(
    uow_factory: UnitOfWorkFactory,
) -> None:
    mail = queued("a", 1)
    await add(uow_factory, mail)

    async with uow_factory() as uow:
        assert await uow.transcript_mails.claim(mail, at(60))
        await uow.commit()
    async with uow_factory() as uow:
        # The same row as read before the first claim: somebody has it now.
        assert not await uow.transcript_mails.claim(mail, at(70))
        assert await uow.transcript_mails.due(at(59), 10) == []
        [held] = await uow.transcript_mails.due(at(60), 10)
    assert (held.attempts, held.next_attempt_at) == (1, at(60))

    async with uow_factory() as uow:
        finished = dataclasses.replace(held, status=MailStatus.SENT, finished_at=at(61))
        assert await uow.transcript_mails.finish(held, finished)
        await uow.commit()
    async with uow_factory() as uow:
        # A finished one can neither be claimed nor finished again.
        assert not await uow.transcript_mails.claim(held, at(90))
        assert not await uow.transcript_mails.finish(held, finished)
    assert await stored(uow_factory) == [finished]


async def test_finish_stores_the_outcome_only_over_the_claim_it_was_given(
    uow_factory: UnitOfWorkFactory,
) -> None:
    mail = queued("a", 1)
    await add(uow_factory, mail)
    async with uow_factory() as uow:
        assert await uow.transcript_mails.claim(mail, at(60))
        await uow.commit()
    claimed = dataclasses.replace(mail, attempts=1, next_attempt_at=at(60))
    retry = dataclasses.replace(claimed, next_attempt_at=at(90), last_error="421 try later")

    async with uow_factory() as uow:
        # A late outcome of an attempt whose lease ran out and was taken again.
        stale = dataclasses.replace(claimed, next_attempt_at=at(59))
        assert not await uow.transcript_mails.finish(stale, retry)
        assert await uow.transcript_mails.finish(claimed, retry)
        await uow.commit()

    [found] = await stored(uow_factory)
    assert found == retry
    assert found.status is MailStatus.PENDING


async def test_a_tenants_settings_are_saved_and_read_back(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        tenant = await uow.tenants.get(TENANT)
        assert tenant is not None
        assert not tenant.transcript_auto_send
        # Read once so that a cache holds the old value.
        await uow.tenants.save_settings(dataclasses.replace(tenant, transcript_auto_send=True))
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.tenants.get(TENANT) == Tenant(
            id=TENANT, name="Acme", created_at=T0, transcript_auto_send=True
        )
        other = await uow.tenants.get(OTHER_TENANT)
        assert other is not None
        assert not other.transcript_auto_send
        listed = await uow.tenants.list(after=None, limit=10)
        assert [t.transcript_auto_send for t in listed] == [True, False]


async def test_saving_an_unknown_tenants_settings_is_a_key_error(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        with pytest.raises(KeyError):
            await uow.tenants.save_settings(
                Tenant(id=TenantId("nobody"), name="Nobody", created_at=T0)
            )


async def test_purge_removes_finished_transcripts_oldest_first_never_pending(
    uow_factory: UnitOfWorkFactory,
) -> None:
    sent, failed = MailStatus.SENT, MailStatus.FAILED
    await add(
        uow_factory,
        queued("sent-early", 1, status=sent, finished_at=at(10)),
        queued("failed", 2, status=failed, finished_at=at(20)),
        queued("sent-late", 3, status=sent, finished_at=at(30)),
        queued("pending", 4),
    )
    async with uow_factory() as uow:
        assert await uow.transcript_mails.purge(at(10), 10) == 0  # finished at 10: kept
        assert await uow.transcript_mails.purge(at(31), 2) == 2  # the oldest two
        await uow.commit()
    assert [m.id for m in await stored(uow_factory)] == ["m-sent-late", "m-pending"]
    async with uow_factory() as uow:
        assert await uow.transcript_mails.purge(at(99), 10) == 1
        await uow.commit()
    assert [m.id for m in await stored(uow_factory)] == ["m-pending"]


async def test_purge_keeps_the_transcripts_of_a_conversation_not_ended_before(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.conversations.add(conversation(C1))  # open
        await uow.conversations.add(
            conversation(C2, state=ConversationState.ENDED, ended_at=at(40))
        )
        await uow.commit()
    sent = MailStatus.SENT
    await add(
        uow_factory,
        queued("open", 1, status=sent, finished_at=at(10)),
        queued("ended", 1, conversation_id=C2, status=sent, finished_at=at(10)),
    )
    async with uow_factory() as uow:
        # Ended at 40: kept before, removed after; the open one's stays.
        assert await uow.transcript_mails.purge(at(40), 10) == 0
        assert await uow.transcript_mails.purge(at(41), 10) == 1
        await uow.commit()
    assert [m.id for m in await stored(uow_factory)] == ["m-open"]
    assert await stored(uow_factory, C2) == []


async def test_a_claim_waits_for_a_unit_of_work_that_read_the_mails_for_update(
    database: Database,
) -> None:
    """An offline answer is decided on the pending mail read locked
    (``business.offline_answers``): the sender's claim, and so its composing, waits
    until that answer is committed."""
    mail = queued("a", -1)
    await add(database.unit_of_work, mail)

    async def claim() -> bool:
        async with database.unit_of_work() as uow:
            got = await uow.transcript_mails.claim(mail, at(60))
            await uow.commit()
        return got

    async with database.unit_of_work() as answering:
        [read] = await answering.transcript_mails.list_for_conversation(C1, for_update=True)
        assert read.attempts == 0
        claiming = asyncio.create_task(claim())
        await asyncio.sleep(0.3)
        assert not claiming.done()  # held until the answer's transaction ends
        await answering.commit()
    assert await asyncio.wait_for(claiming, 10)
