"""Offline messages on the fakes, SQLite and PostgreSQL: left while the queue is closed and
nobody is ready, stored as a queued conversation marked offline with the visitor's name
and address, offered to the first agent who becomes ready, idempotent on the client's
id; and the answer mailed to the address given."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from business import commands as c
from business.errors import InvalidInput, NotFound, QueueClosed, TooLarge
from business.mail_settings import MailSettings
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    ConversationState,
    VisitorContext,
    VisitorId,
)
from business.offline_messages import LeaveOfflineMessage
from business.opening_hours import check_opening_hours, parse_weekly
from business.ports import UnitOfWorkFactory
from business.transcript_mail_ports import MailStatus
from tests.fakes import FakeClock
from tests.fakes_mail import RecordingMailer
from tests.harness import ALICE, World, make_world

EVENING = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
OFFICE = check_opening_hours("UTC", parse_weekly("mon-fri 09:00-17:00"), ())
MAIL = MailSettings(host="smtp.example.org", from_address="noreply@example.org")


def leave(visitor: VisitorId, **fields: object) -> LeaveOfflineMessage:
    values: dict[str, object] = {
        "visitor_id": visitor,
        "client_msg_id": "off-1",
        "name": "Ann Smith",
        "email": "Ann@Example.ORG",
        "text": "Do you ship to Norway?",
    }
    values.update(fields)
    return LeaveOfflineMessage(**values)  # type: ignore[arg-type]


@pytest.fixture
async def world(uow_factory: UnitOfWorkFactory) -> World:
    world = await make_world(uow=uow_factory, clock=FakeClock(EVENING))
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, opening_hours=OFFICE)
    )
    return world


async def test_left_while_closed_it_waits_and_goes_to_the_first_agent_who_is_ready(
    world: World,
) -> None:
    visitor = await world.visitor()
    with pytest.raises(QueueClosed):  # a chat cannot start now ...
        await world.start(visitor, "Hello?")
    conv = await world.services.offline_messages.leave(leave(visitor))  # ... a message can
    assert conv.state is ConversationState.QUEUED
    assert conv.offline
    assert conv.visitor_name == "Ann Smith"
    assert dict(conv.form) == {"name": "Ann Smith", "email": "Ann@example.org"}
    async with world.uow() as uow:
        stored = await uow.conversations.get(conv.id)
        events = await uow.events.list_after_pos(conv.id, 0, 10)
    assert stored is not None
    assert stored.offline  # read back from the store, not only as returned
    assert [getattr(e, "text", None) for e in events][-1] == "Do you ship to Norway?"

    # A retry (same client id) is the same conversation and the same single message.
    again = await world.services.offline_messages.leave(leave(visitor))
    assert again.id == conv.id
    async with world.uow() as uow:
        assert len(await uow.events.list_after_pos(conv.id, 0, 10)) == len(events)

    # Nobody was ready: it waited. The first agent who becomes ready is offered it.
    await world.agent(ALICE, name="Alice", auto_accept=False)
    async with world.uow() as uow:
        offered = await uow.conversations.get(conv.id)
    assert offered is not None
    assert offered.offered_to == ALICE


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"name": "  "}, InvalidInput, "name must not be empty"),
        ({"name": "x" * 101}, TooLarge, "name is longer than 100"),
        ({"email": "ann at example"}, InvalidInput, "an e-mail address looks like"),
        ({"text": " "}, InvalidInput, "message must not be empty"),
        ({"client_msg_id": ""}, InvalidInput, "client_msg_id must be"),
        ({"queue": "nope"}, NotFound, "unknown queue 'nope'"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(
    world: World, fields: dict[str, object], error: type[Exception], message: str
) -> None:
    visitor = await world.visitor()
    with pytest.raises(error, match=message):
        await world.services.offline_messages.leave(leave(visitor, **fields))


async def test_the_answer_is_mailed_to_the_address_given() -> None:
    mailer = RecordingMailer()
    world = await make_world(mail=MAIL, mailer=mailer)
    world.services.publisher.subscribe(world.services.offline_answers)
    visitor = await world.visitor()
    conv = await world.services.offline_messages.leave(leave(visitor))
    await world.agent(ALICE, name="Alice")  # takes it (auto-accept)
    await world.agent_says(ALICE, conv.id, "Yes, in three days.")
    await world.agent_says(ALICE, conv.id, "Shipping is free.")  # rides with the first
    [queued] = world.fakes.transcript_mails.values()
    assert (queued.number, queued.address) == (-1, "Ann@example.org")

    assert await world.services.transcript_mails.send_due() == 1
    [mail] = mailer.sent
    assert mail.to == "Ann@example.org"
    assert mail.subject == "Answer to your message to Default"
    assert "Do you ship to Norway?" in mail.text
    assert "Yes, in three days." in mail.text
    assert "Shipping is free." in mail.text

    # A later answer is a mail of its own; the visitor's own requests still count from 1.
    await world.agent_says(ALICE, conv.id, "Tracking number follows.")
    await world.services.transcript_requests.request(
        c.RequestTranscript(visitor_id=visitor, conversation_id=conv.id)
    )
    numbers = sorted(m.number for m in world.fakes.transcript_mails.values())
    assert numbers == [-2, -1, 1]
    assert world.fakes.transcript_mails[queued.id].status is MailStatus.SENT


async def test_an_ordinary_chat_mails_nothing_on_an_answer() -> None:
    world = await make_world(mail=MAIL, mailer=RecordingMailer())
    await world.agent(ALICE, name="Alice")
    visitor = await world.visitor()
    conv = await world.start(visitor, "Hi")
    await world.agent_says(ALICE, conv.id, "Hello!")
    assert not world.fakes.transcript_mails


async def test_once_the_visitor_is_back_in_the_chat_answers_are_not_mailed(
    uow_factory: UnitOfWorkFactory,
) -> None:
    mailer = RecordingMailer()
    world = await make_world(uow=uow_factory, mail=MAIL, mailer=mailer)
    visitor = await world.visitor()
    conv = await world.services.offline_messages.leave(leave(visitor))
    await world.agent(ALICE, name="Alice")  # takes it (auto-accept)
    await world.agent_says(ALICE, conv.id, "Yes, in three days.")
    assert await world.services.transcript_mails.send_due() == 1
    # The visitor comes back and chats: the answers reach them in the chat.
    for n in range(3):
        await world.visitor_says(visitor, conv.id, f"And to Sweden? ({n})")
        await world.agent_says(ALICE, conv.id, f"Also. ({n})")
        await world.services.transcript_mails.send_due()
    assert [m.subject for m in mailer.sent] == ["Answer to your message to Default"]
    assert "Also." not in mailer.sent[0].text
    # A late retry of that first leave (the same client id) changes nothing.
    again = await world.services.offline_messages.leave(leave(visitor))
    assert again.id == conv.id
    await world.agent_says(ALICE, conv.id, "Anything else?")
    assert await world.services.transcript_mails.send_due() == 0

    # A new offline message in that chat (they left again) is mailed its answer.
    await world.services.offline_messages.leave(
        leave(visitor, client_msg_id="off-2", text="Anything else?")
    )
    await world.agent_says(ALICE, conv.id, "Nothing else.")
    assert await world.services.transcript_mails.send_due() == 1
    assert len(mailer.sent) == 2
    assert "Nothing else." in mailer.sent[1].text


async def test_left_in_an_open_ordinary_chat_it_keeps_the_address_and_the_answer_is_mailed(
    uow_factory: UnitOfWorkFactory,
) -> None:
    mailer = RecordingMailer()
    world = await make_world(uow=uow_factory, mail=MAIL, mailer=mailer)
    visitor = await world.visitor()
    chat = await world.start(visitor, "Hello?")  # nobody ready: it waits
    assert not chat.offline
    page = VisitorContext(page_url="https://shop.example/contact")
    conv = await world.services.offline_messages.leave(leave(visitor, context=page))
    assert conv.id == chat.id  # the same conversation, now an offline message
    assert conv.offline
    assert dict(conv.form) == {"name": "Ann Smith", "email": "Ann@example.org"}
    async with world.uow() as uow:
        stored = await uow.conversations.get(conv.id)
    assert stored is not None
    assert stored.offline
    assert stored.form.get("email") == "Ann@example.org"
    assert stored.context.page_url == "https://shop.example/contact"

    await world.agent(ALICE, name="Alice")
    await world.agent_says(ALICE, conv.id, "Yes, in three days.")
    assert await world.services.transcript_mails.send_due() == 1
    [mail] = mailer.sent
    assert mail.to == "Ann@example.org"
    assert "Hello?" in mail.text
    assert "Do you ship to Norway?" in mail.text
    assert "Yes, in three days." in mail.text
