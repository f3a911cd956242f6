"""Sending the queued transcripts: what the mail says, retries, giving up, claims between
processes, a process that died mid-attempt, and the dispatcher; on the fakes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import timedelta

import pytest

from business import commands as c, transcript_sending
from business.errors import TranscriptLimit
from business.mail_settings import MailSettings
from business.model import AgentId, ConversationId, VisitorId
from business.transcript_mail_ports import (
    MailOutcome,
    MailStatus,
    QueuedTranscript,
    TranscriptMail,
)
from business.transcript_sending import GONE, TranscriptMailDispatcher
from tests.fakes_mail import RecordingMailer
from tests.harness import World, make_world

MAIL = MailSettings(
    host="smtp.example.org",
    from_address="noreply@example.org",
    attempts=3,
    first_retry=30.0,
    timeout=10.0,
)
ALICE = AgentId("alice@agents.example")
TRANSIENT = MailOutcome(error="421 try again later")
PERMANENT = MailOutcome(error="550 no such user", permanent=True)


async def world_with(mailer: RecordingMailer, mail: MailSettings = MAIL) -> World:
    return await make_world(mail=mail, mailer=mailer)


async def chat(world: World) -> tuple[VisitorId, ConversationId]:
    """A chat with Alice, a note only agents see, and a transcript asked for."""
    await world.agent(ALICE, name="Alice")
    visitor = await world.visitor()
    conv = await world.start(visitor, "Do you ship to Norway?")
    await world.agent_says(ALICE, conv.id, "Yes, in 3 days.")
    await world.services.notes.add_note(
        c.AddNote(agent_id=ALICE, conversation_id=conv.id, text="VIP customer")
    )
    await world.services.transcript_requests.request(
        c.RequestTranscript(visitor_id=visitor, conversation_id=conv.id, email="ann@example.org")
    )
    return visitor, conv.id


def only(world: World) -> QueuedTranscript:
    [mail] = world.fakes.transcript_mails.values()
    return mail


async def test_a_due_transcript_is_composed_from_what_the_visitor_saw_and_marked_sent() -> None:
    mailer = RecordingMailer()
    world = await world_with(mailer)
    _, conv_id = await chat(world)
    world.advance(5)

    assert await world.services.transcript_mails.send_due() == 1

    [sent] = mailer.sent
    assert (sent.to, sent.sender, sent.sender_name) == (
        "ann@example.org",
        "noreply@example.org",
        "Default",
    )
    assert sent.subject == "Your conversation with Default"
    assert sent.reference == only(world).id
    assert "Do you ship to Norway?" in sent.text
    assert "Alice: Yes, in 3 days." in sent.text
    assert "Yes, in 3 days." in sent.html
    assert "VIP customer" not in sent.text + sent.html
    mail = only(world)
    assert (mail.status, mail.attempts, mail.finished_at, mail.last_error) == (
        MailStatus.SENT,
        1,
        world.clock.now(),
        None,
    )
    # Sent once: nothing is due any more.
    assert await world.services.transcript_mails.send_due() == 0
    assert len(mailer.sent) == 1
    assert mail.conversation_id == conv_id


async def test_a_failure_is_retried_later_each_time_and_given_up_after_the_attempts() -> None:
    mailer = RecordingMailer(TRANSIENT, TRANSIENT, TRANSIENT)
    world = await world_with(mailer)
    await chat(world)
    start = world.clock.now()

    await world.services.transcript_mails.send_due()
    first = only(world)
    assert (first.status, first.attempts, first.last_error) == (
        MailStatus.PENDING,
        1,
        "421 try again later",
    )
    assert first.next_attempt_at == start + timedelta(seconds=30)

    world.advance(29)
    assert await world.services.transcript_mails.send_due() == 0
    world.advance(1)
    await world.services.transcript_mails.send_due()
    second = only(world)
    assert second.attempts == 2
    assert second.next_attempt_at == world.clock.now() + timedelta(seconds=120)

    world.advance(120)
    await world.services.transcript_mails.send_due()
    given_up = only(world)
    assert (given_up.status, given_up.attempts, given_up.finished_at) == (
        MailStatus.FAILED,
        3,
        world.clock.now(),
    )
    assert given_up.last_error == "421 try again later"
    world.advance(3600)
    assert await world.services.transcript_mails.send_due() == 0
    assert len(mailer.sent) == 3


async def test_a_refusal_for_good_is_given_up_at_once_and_a_success_after_a_failure_is_sent() -> (
    None
):
    mailer = RecordingMailer(PERMANENT)
    world = await world_with(mailer)
    await chat(world)

    await world.services.transcript_mails.send_due()
    assert (only(world).status, only(world).attempts) == (MailStatus.FAILED, 1)
    assert only(world).last_error == "550 no such user"

    retried = await world_with(RecordingMailer(TRANSIENT))
    await chat(retried)
    await retried.services.transcript_mails.send_due()
    retried.advance(30)
    await retried.services.transcript_mails.send_due()
    assert (only(retried).status, only(retried).attempts, only(retried).last_error) == (
        MailStatus.SENT,
        2,
        None,
    )


async def test_an_attempt_cut_short_by_a_dying_process_is_made_again_after_its_lease() -> None:
    mailer = RecordingMailer()
    world = await world_with(mailer)
    await chat(world)
    # Another process claimed it and died before it could send or record anything.
    async with world.uow() as uow:
        mail = only(world)
        until = world.clock.now() + timedelta(seconds=MAIL.lease)
        assert await uow.transcript_mails.claim(mail, until)
        await uow.commit()

    assert await world.services.transcript_mails.send_due() == 0
    world.advance(MAIL.lease)
    assert await world.services.transcript_mails.send_due() == 1

    assert (only(world).status, only(world).attempts) == (MailStatus.SENT, 2)
    assert len(mailer.sent) == 1


async def test_the_last_attempt_cut_short_gives_it_up_without_sending() -> None:
    mailer = RecordingMailer()
    world = await world_with(mailer)
    await chat(world)
    held = dataclasses.replace(
        only(world), attempts=MAIL.attempts, last_error="421 try again later"
    )
    world.fakes.transcript_mails[held.id] = held

    await world.services.transcript_mails.send_due()

    assert (only(world).status, only(world).last_error) == (
        MailStatus.FAILED,
        "421 try again later",
    )
    assert mailer.sent == []


async def test_two_processes_send_a_transcript_once() -> None:
    mailer = RecordingMailer()
    world = await world_with(mailer)
    await chat(world)
    other = world.another_process()

    counts = await asyncio.gather(
        world.services.transcript_mails.send_due(), other.services.transcript_mails.send_due()
    )

    assert sum(counts) >= 1
    assert len(mailer.sent) == 1
    assert only(world).status is MailStatus.SENT


async def test_a_transcript_of_a_conversation_that_is_gone_is_given_up() -> None:
    mailer = RecordingMailer()
    world = await world_with(mailer)
    _, conv_id = await chat(world)
    del world.fakes.conversations[conv_id]

    await world.services.transcript_mails.send_due()

    assert (only(world).status, only(world).last_error) == (MailStatus.FAILED, GONE)
    assert mailer.sent == []


async def test_without_mail_nothing_is_sent_and_queued_rows_stay() -> None:
    world = await world_with(RecordingMailer())
    await chat(world)
    off = await make_world(store=world.fakes)

    assert await off.services.transcript_mails.send_due() == 0
    assert only(world).status is MailStatus.PENDING


class FlakyMailer(RecordingMailer):
    """Raises on the first mail (a bug, not a refusal), then accepts."""

    async def send(self, mail: TranscriptMail) -> MailOutcome:
        await self._record(mail)
        if len(self.sent) == 1:
            raise RuntimeError("a bug in a mailer")
        return MailOutcome()


async def settled(world: World) -> QueuedTranscript:
    """The transcript once its attempt is recorded (the mailer returns before that)."""
    for _ in range(500):
        if only(world).status is not MailStatus.PENDING:
            break
        await asyncio.sleep(0.01)
    return only(world)


async def test_the_dispatcher_sends_when_woken_and_keeps_going_after_a_failure() -> None:
    mailer = FlakyMailer()
    world = await world_with(mailer)
    dispatcher = TranscriptMailDispatcher(world.services.transcript_mails, poll_interval=0.05)
    world.services.transcript_requests.on_queued(dispatcher.wake)
    dispatcher.start()
    try:
        await chat(world)
        await mailer.wait_for(1)
        # The attempt that raised holds its claim until the lease ends; then it goes.
        world.advance(MAIL.lease)
        await mailer.wait_for(2)
        assert (await settled(world)).status is MailStatus.SENT
        assert only(world).attempts == 2
    finally:
        await dispatcher.stop()


async def test_a_woken_dispatcher_does_not_wait_for_its_poll() -> None:
    mailer = RecordingMailer()
    world = await world_with(mailer)
    dispatcher = TranscriptMailDispatcher(world.services.transcript_mails, poll_interval=60.0)
    world.services.transcript_requests.on_queued(dispatcher.wake)
    dispatcher.start()
    try:
        await asyncio.sleep(0.01)  # it has looked once and waits now
        await chat(world)
        await mailer.wait_for(1, timeout=5.0)
        assert (await settled(world)).status is MailStatus.SENT
    finally:
        await dispatcher.stop()


class SwallowingMailer(RecordingMailer):
    """Loses a cancellation, as ``asyncio.wait_for`` in Python 3.11 may when its answer
    arrives at that moment."""

    async def send(self, mail: TranscriptMail) -> MailOutcome:
        await self._record(mail)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(30)
        return MailOutcome()


async def test_stopping_ends_the_dispatcher_even_when_a_mailer_loses_the_cancellation() -> None:
    mailer = SwallowingMailer()
    world = await world_with(mailer)
    dispatcher = TranscriptMailDispatcher(world.services.transcript_mails, poll_interval=60.0)
    world.services.transcript_requests.on_queued(dispatcher.wake)
    dispatcher.start()
    await chat(world)
    await mailer.wait_for(1)

    async with asyncio.timeout(5):
        await dispatcher.stop()

    # The attempt it was in finished and was recorded; nothing else was begun.
    assert only(world).status is MailStatus.SENT
    assert len(mailer.sent) == 1


async def ended(world: World, visitor: VisitorId, conv_id: ConversationId) -> None:
    await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=visitor, conversation_id=conv_id)
    )


async def test_finished_transcripts_leave_the_outbox_after_the_retention() -> None:
    mailer = RecordingMailer()
    world = await world_with(mailer, dataclasses.replace(MAIL, retention=3600.0))
    await ended(world, *await chat(world))
    assert await world.services.transcript_mails.send_due() == 1
    world.advance(3600)
    assert await world.services.transcript_mails.purge() == 0
    assert only(world).status is MailStatus.SENT
    world.advance(1)
    assert await world.services.transcript_mails.purge() == 1
    assert world.fakes.transcript_mails == {}


async def test_the_dispatcher_purges_what_finished_before_the_retention() -> None:
    mailer = RecordingMailer(PERMANENT)
    world = await world_with(mailer)
    await ended(world, *await chat(world))
    await world.services.transcript_mails.send_due()
    assert only(world).status is MailStatus.FAILED  # given up: purged as a sent one
    world.advance(MAIL.retention + 1)
    dispatcher = TranscriptMailDispatcher(world.services.transcript_mails, poll_interval=0.05)
    dispatcher.start()
    try:
        for _ in range(500):
            if not world.fakes.transcript_mails:
                break
            await asyncio.sleep(0.01)
        assert world.fakes.transcript_mails == {}
    finally:
        await dispatcher.stop()


async def test_an_open_conversations_transcripts_stay_and_so_do_its_limits() -> None:
    world = await world_with(RecordingMailer(), dataclasses.replace(MAIL, max_requests=1))
    visitor, conv_id = await chat(world)
    await world.services.transcript_mails.send_due()
    world.advance(MAIL.retention + 1)

    assert await world.services.transcript_mails.purge() == 0
    # The one request it may make is still counted.
    with pytest.raises(TranscriptLimit, match="at most 1 times"):
        await world.services.transcript_requests.request(
            c.RequestTranscript(
                visitor_id=visitor, conversation_id=conv_id, email="ann@example.org"
            )
        )


async def test_no_transcript_is_asked_for_once_the_outbox_may_have_forgotten_the_chat() -> None:
    world = await world_with(RecordingMailer())
    visitor, conv_id = await chat(world)
    await ended(world, visitor, conv_id)
    await world.services.transcript_mails.send_due()
    world.advance(MAIL.retention + 1)
    assert await world.services.transcript_mails.purge() == 1

    with pytest.raises(TranscriptLimit, match="after it ended"):
        await world.services.transcript_requests.request(
            c.RequestTranscript(
                visitor_id=visitor, conversation_id=conv_id, email="ann@example.org"
            )
        )


async def test_a_purge_goes_on_while_its_batches_come_back_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(transcript_sending, "PURGE_BATCH", 2)
    world = await world_with(RecordingMailer(), dataclasses.replace(MAIL, max_requests=5))
    visitor, conv_id = await chat(world)
    for _ in range(4):
        await world.services.transcript_requests.request(
            c.RequestTranscript(
                visitor_id=visitor, conversation_id=conv_id, email="ann@example.org"
            )
        )
    await ended(world, visitor, conv_id)
    assert await world.services.transcript_mails.send_due() == 5
    world.advance(MAIL.retention + 1)

    assert await world.services.transcript_mails.purge() == 5
    assert world.fakes.transcript_mails == {}


async def test_the_dispatcher_purges_even_when_looking_for_due_ones_fails() -> None:
    world = await world_with(RecordingMailer())
    await ended(world, *await chat(world))
    await world.services.transcript_mails.send_due()
    world.advance(MAIL.retention + 1)
    sender = world.services.transcript_mails

    async def failing(limit: int = 20) -> int:
        raise RuntimeError("the outbox cannot be read")

    sender.send_due = failing  # type: ignore[method-assign]
    dispatcher = TranscriptMailDispatcher(sender, poll_interval=0.05)
    dispatcher.start()
    try:
        for _ in range(500):
            if not world.fakes.transcript_mails:
                break
            await asyncio.sleep(0.01)
        assert world.fakes.transcript_mails == {}
    finally:
        await dispatcher.stop()
