"""Transcripts by e-mail on the visitor's wire, end to end: ``transcript.request`` over a
real Socket.IO client and server, stored on SQLite and PostgreSQL, sent through the real
SMTP mailer to a real SMTP server (aiosmtpd) on loopback. Also the automatic transcript
at the end, the refusals, and a request acknowledged before a restart."""

from __future__ import annotations

import asyncio
import html
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Protocol

import pytest

from business import commands as c
from business.clock import SystemClock
from business.mail_settings import MailSettings
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ConversationId, TenantId
from business.transcript_mail_ports import MailStatus, QueuedTranscript
from business.transcript_sending import TranscriptMailDispatcher
from chat_engine.engine import transcript_mail_dispatcher
from data import Database
from tests.harness import World, make_world
from tests.presentation.conftest import Server, StartServer, ready_agent
from tests.presentation.smtp_server import SmtpSink, smtp_server
from tests.visitor_client import Json, Visitor

XSS = "<b>bold</b> & <script>alert(1)</script>"


def mail_settings(sink: SmtpSink) -> MailSettings:
    return MailSettings(
        host="127.0.0.1",
        port=sink.port,
        tls="none",
        from_address="noreply@chat.example.org",
        timeout=5.0,
        max_requests=2,
    )


OTHER = TenantId("other")


async def mail_world(database: Database, sink: SmtpSink) -> World:
    return await make_world(
        uow=database.unit_of_work,
        clock=SystemClock(),
        queues=(DEFAULT_QUEUE,),
        tenants={OTHER: "Other shop"},
        mail=mail_settings(sink),
    )


@asynccontextmanager
async def sending(world: World) -> AsyncIterator[TranscriptMailDispatcher]:
    """The sender running as the engine runs it."""
    dispatcher = transcript_mail_dispatcher(world.services, mail_settings_of(world))
    dispatcher.start()
    try:
        yield dispatcher
    finally:
        await dispatcher.stop()


def mail_settings_of(world: World) -> MailSettings:
    assert world.mail is not None
    return world.mail


async def sent(world: World, conversation_id: str) -> list[QueuedTranscript]:
    """The conversation's transcripts once none is pending any more (the server has the
    mail a moment before the sender records that it went)."""
    async with asyncio.timeout(10):
        while True:
            async with world.uow() as uow:
                found = await uow.transcript_mails.list_for_conversation(
                    ConversationId(conversation_id)
                )
            if found and all(m.status is not MailStatus.PENDING for m in found):
                return list(found)
            await asyncio.sleep(0.05)


class Connect(Protocol):
    def __call__(self, server: Server, tenant: str = "default") -> Awaitable[Visitor]: ...


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Connects visitors to a server of the test's (``new_visitor`` has its own)."""
    made: list[Visitor] = []

    async def to(server: Server, tenant: str = "default") -> Visitor:
        visitor = Visitor(url=server.url)
        made.append(visitor)
        await visitor.connect({"tenant": tenant})
        return visitor

    yield to
    for visitor in made:
        await visitor.disconnect()


def error(ack: Json) -> str:
    assert ack["ok"] is False, ack
    return str(ack["error"]["code"])


async def test_a_visitor_asks_for_the_transcript_and_it_arrives_by_mail(
    database: Database, start_server: StartServer, connect: Connect
) -> None:
    async with smtp_server() as sink:
        world = await mail_world(database, sink)
        server = await start_server(world=world)
        agent = await ready_agent(world, name="Alice")
        visitor = await connect(server)
        assert visitor.session["config"]["transcript_mail"] is True
        conversation_id = await visitor.start(XSS)
        await visitor.event_of_type("participant.joined")
        await world.agent_says(agent, conversation_id, "Hello!\nHow can I help?")

        async with sending(world):
            ack = await visitor.call(
                "transcript.request",
                {"conversation_id": conversation_id, "email": "ann@example.org"},
            )
            assert ack == {"ok": True}
            [received] = await sink.wait_for(1)
            [stored] = await sent(world, conversation_id)

    assert received.rcpt_tos == ("ann@example.org",)
    message = received.message
    assert str(message["To"]) == "ann@example.org"
    assert message["From"].addresses[0].addr_spec == "noreply@chat.example.org"
    assert message["From"].addresses[0].display_name == "Default"
    assert str(message["Subject"]) == "Your conversation with Default"
    text, page = (part.get_content().replace("\r\n", "\n") for part in message.iter_parts())
    assert f": {XSS}\n" in text
    assert "Alice: Hello!\nHow can I help?" in text
    assert html.escape(XSS) in page
    assert "<script>" not in page
    assert (stored.status, stored.attempts, stored.number) == (MailStatus.SENT, 1, 1)


async def test_the_address_known_from_the_form_is_used_and_one_is_asked_for_without_it(
    database: Database, start_server: StartServer, connect: Connect
) -> None:
    async with smtp_server() as sink:
        world = await mail_world(database, sink)
        server = await start_server(world=world)
        anonymous = await connect(server)
        unknown = await anonymous.start("Hi")
        known_visitor = await connect(server)
        known = await known_visitor.start("Hi", form={"email": "form@example.org"})

        async with sending(world):
            ack = await anonymous.call("transcript.request", {"conversation_id": unknown})
            assert error(ack) == "email_required"
            assert "give one" in ack["error"]["message"]
            await known_visitor.ok("transcript.request", {"conversation_id": known})
            # An empty address is no address.
            await known_visitor.ok("transcript.request", {"conversation_id": known, "email": " "})
            received = await sink.wait_for(2)

    assert [r.rcpt_tos for r in received] == [("form@example.org",)] * 2


async def test_what_is_refused_and_why(
    database: Database, start_server: StartServer, connect: Connect
) -> None:
    async with smtp_server() as sink:
        world = await mail_world(database, sink)
        server = await start_server(world=world)
        visitor = await connect(server)
        stranger = await connect(server)
        conversation_id = await visitor.start("Hi")
        ask = {"conversation_id": conversation_id, "email": "ann@example.org"}

        assert error(await stranger.call("transcript.request", ask)) == "forbidden"
        assert error(await visitor.call("transcript.request", {"conversation_id": "nope"})) == (
            "not_found"
        )
        for bad in (
            {"conversation_id": conversation_id, "email": "ann@example.org\r\nBcc: x@y.org"},
            {"conversation_id": conversation_id, "email": 42},
            {"email": "ann@example.org"},
            "not an object",
        ):
            assert error(await visitor.call("transcript.request", bad)) == "invalid_input"
        await visitor.ok("transcript.request", ask)
        await visitor.ok("transcript.request", ask)
        limited = await visitor.call("transcript.request", ask)
        assert error(limited) == "transcript_limit"
        assert "at most 2 times" in limited["error"]["message"]

    async with world.uow() as uow:
        assert (
            len(await uow.transcript_mails.list_for_conversation(ConversationId(conversation_id)))
            == 2
        )


async def test_another_tenants_conversation_is_refused_as_for_a_stranger_of_that_tenant(
    database: Database, start_server: StartServer, connect: Connect
) -> None:
    async with smtp_server() as sink:
        world = await mail_world(database, sink)
        server = await start_server(world=world)
        bea = await connect(server, OTHER)
        theirs = await bea.start("My order 4711", form={"email": "bea@example.org"})
        ann = await connect(server)
        stranger = await connect(server, OTHER)

        for payload in (
            {"conversation_id": theirs},
            {"conversation_id": theirs, "email": "ann@example.org"},
        ):
            ack = await ann.call("transcript.request", payload)
            assert ack == await stranger.call("transcript.request", payload)
            assert error(ack) == "forbidden"
            assert "4711" not in str(ack)
            assert "bea@" not in str(ack)

    async with world.uow() as uow:
        assert await uow.transcript_mails.list_for_conversation(ConversationId(theirs)) == []
    assert sink.received == []


async def test_with_mail_off_the_widget_is_told_and_a_request_is_unavailable(
    world: World, start_server: StartServer, connect: Connect
) -> None:
    server = await start_server(world=world)
    visitor = await connect(server)
    assert visitor.session["config"]["transcript_mail"] is False
    conversation_id = await visitor.start("Hi", form={"email": "ann@example.org"})

    ack = await visitor.call(
        "transcript.request", {"conversation_id": conversation_id, "email": "ann@example.org"}
    )

    assert error(ack) == "unavailable"
    assert ack["error"]["message"] == "transcripts by e-mail are not available on this server"
    async with world.uow() as uow:
        assert (
            await uow.transcript_mails.list_for_conversation(ConversationId(conversation_id)) == []
        )


async def test_the_transcript_is_mailed_when_the_chat_ends_if_the_tenant_wants_it(
    database: Database, start_server: StartServer, connect: Connect
) -> None:
    async with smtp_server() as sink:
        world = await mail_world(database, sink)
        await world.services.tenant_settings.configure(
            c.ConfigureTenant(tenant_id=DEFAULT_TENANT, transcript_auto_send=True)
        )
        server = await start_server(world=world)
        agent = await ready_agent(world, name="Alice")
        visitor = await connect(server)
        conversation_id = await visitor.start("Hi", form={"email": "ann@example.org"})
        await visitor.event_of_type("participant.joined")
        await world.agent_says(agent, conversation_id, "Bye now")

        async with sending(world):
            await visitor.ok("conversation.end", {"conversation_id": conversation_id})
            [received] = await sink.wait_for(1)

    assert received.rcpt_tos == ("ann@example.org",)
    text = received.message.get_body(("plain",))
    assert text is not None
    assert "The chat ended." in text.get_content()
    assert "Alice: Bye now" in text.get_content()


async def test_a_request_acknowledged_before_a_restart_is_sent_after_it(
    database: Database, start_server: StartServer, connect: Connect
) -> None:
    async with smtp_server() as sink:
        # The engine acknowledges the request and stops before its sender gets to it.
        world = await mail_world(database, sink)
        server = await start_server(world=world)
        visitor = await connect(server)
        conversation_id = await visitor.start("Hi")
        await visitor.ok(
            "transcript.request", {"conversation_id": conversation_id, "email": "ann@example.org"}
        )
        assert sink.received == []

        # Started again on the same database: what it finds queued goes out.
        restarted = world.another_process()
        async with sending(restarted):
            [received] = await sink.wait_for(1)
            [stored] = await sent(restarted, conversation_id)

    assert received.rcpt_tos == ("ann@example.org",)
    assert stored.status is MailStatus.SENT
