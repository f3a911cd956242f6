"""Offline messages on the visitor's wire, end to end on SQLite and PostgreSQL:
``offline.leave`` over a real Socket.IO client while nobody is ready, the refusals, the
agent who becomes ready and answers, the answer by mail through the real SMTP mailer to
a real SMTP server (aiosmtpd), and the answer waiting unread on the visitor's next
visit (a new connection with their token)."""

from __future__ import annotations

import dataclasses

from business.model import AgentId, ConversationId
from data import Database
from presentation.settings import WebSettings
from tests.presentation.conftest import StartServer, ready_agent
from tests.presentation.smtp_server import smtp_server
from tests.presentation.test_transcript_socket import error, mail_world, sending, sent
from tests.visitor_client import Visitor

FORM = {
    "client_msg_id": "offline-1",
    "name": "Ann Smith",
    "email": "ann@example.org",
    "text": "Do you ship to Norway?",
    "context": {"page_url": "https://shop.example/grinder"},
}


async def test_an_offline_message_waits_is_answered_by_mail_and_shown_next_visit(
    database: Database, start_server: StartServer
) -> None:
    visitor = Visitor(url="")
    try:
        await _scenario(database, start_server, visitor)
    finally:
        await visitor.disconnect()


async def _scenario(database: Database, start_server: StartServer, visitor: Visitor) -> None:
    async with smtp_server() as sink:
        world = await mail_world(database, sink)
        # Starts and ends (and offline messages) share a small budget here.
        settings = dataclasses.replace(WebSettings(), conversation_burst=3)
        server = await start_server(world=world, settings=settings)
        visitor.url = server.url
        await visitor.connect({"tenant": "default"})

        # Refusals name the field, cost the budget, and store nothing.
        ack = await visitor.call("offline.leave", {**FORM, "email": "ann(at)example.org"})
        assert error(ack) == "invalid_input"
        assert "e-mail address" in ack["error"]["message"]
        ack = await visitor.call("offline.leave", {**FORM, "name": 5})
        assert error(ack) == "invalid_input"

        # Nobody is ready: it is taken all the same, as a queued conversation.
        ack = await visitor.ok("offline.leave", FORM)
        conversation = ack["conversation"]
        assert conversation["state"] == "queued"
        conv_id = ConversationId(conversation["id"])
        # A retry is the same conversation; it spends the budget (the malformed one did
        # not: it never got past parsing), and the next is refused like a start would be.
        assert (await visitor.ok("offline.leave", FORM))["conversation"]["id"] == conv_id
        assert error(await visitor.call("offline.leave", FORM)) == "rate_limited"
        async with world.uow() as uow:
            stored = await uow.conversations.get(conv_id)
        assert stored is not None
        assert stored.offline
        assert stored.form["email"] == "ann@example.org"
        await visitor.disconnect()  # the visitor leaves the site

        # An agent becomes ready: it is theirs (auto-accept), they answer.
        agent: AgentId = await ready_agent(world, name="Alice")
        async with world.uow() as uow:
            taken = await uow.conversations.get(conv_id)
        assert taken is not None
        assert taken.agent_id == agent
        async with sending(world):
            await world.agent_says(agent, conv_id, "Yes, within three days.")
            [received] = await sink.wait_for(1)
            [mailed] = await sent(world, conv_id)

        assert received.rcpt_tos == ("ann@example.org",)
        assert str(received.message["Subject"]) == "Answer to your message to Default"
        text = received.message.get_body(("plain",))
        assert text is not None
        content = text.get_content()
        assert "Do you ship to Norway?" in content
        assert "Yes, within three days." in content
        assert mailed.number == -1

        # The next visit: the same token finds the conversation with the answer unread.
        again = Visitor(url=server.url)
        try:
            session = await again.connect({"tenant": "default", "visitor_token": visitor.token})
            [listed] = [c for c in session["conversations"] if c["id"] == conv_id]
            assert listed["unread"] == 1
            ack = await again.ok("sync", {"conversation_id": conv_id, "after_seq": 0})
            said = [e["text"] for e in ack["events"] if e["type"] == "message"]
            assert said == ["Do you ship to Norway?", "Yes, within three days."]
        finally:
            await again.disconnect()
