"""The wired engine with ``[mail]`` (real Prosody, real SMTP server on loopback): a
visitor's ``transcript.request`` becomes a mail, and a transcript left queued while the
engine was down goes out when it starts again."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from business import commands as c
from business.model import ConversationId
from chat_engine.bootstrap import bootstrap
from chat_engine.engine import Engine
from chat_engine.settings import Settings
from data import Database
from tests.chat_engine.test_engine import prosody, settings
from tests.presentation.smtp_server import smtp_server
from tests.visitor_client import Visitor

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("prosody") is None, reason="Prosody is not installed"),
]
__all__ = ["prosody", "settings"]  # the fixtures of test_engine, used here too


def with_mail(settings: Settings, port: int) -> Settings:
    mail = dataclasses.replace(
        settings.mail,
        host="127.0.0.1",
        port=port,
        tls="none",
        from_address="noreply@chat.example.org",
        poll_interval=0.2,
    )
    return dataclasses.replace(settings, mail=mail)


async def test_the_engine_sends_requested_transcripts_and_those_left_from_before(
    settings: Settings,
) -> None:
    async with smtp_server() as sink:
        configured = with_mail(settings, sink.port)
        async with Engine(configured) as engine:
            assert engine.url is not None
            visitor = Visitor(url=engine.url)
            try:
                session = await visitor.connect({"tenant": "default"})
                assert session["config"]["transcript_mail"] is True
                conversation_id = ConversationId(await visitor.start("Hello from the widget"))
                await visitor.ok(
                    "transcript.request",
                    {"conversation_id": conversation_id, "email": "ann@example.org"},
                )
                [first] = await sink.wait_for(1)
            finally:
                await visitor.disconnect()
        assert first.rcpt_tos == ("ann@example.org",)
        assert "Hello from the widget" in first.raw.decode()

        # Acknowledged by a process that went away before sending (no sender runs here).
        database = Database.from_settings(configured.database)
        try:
            services = bootstrap(uow=database.unit_of_work, mail=configured.mail)
            conversation = await services.conversations.get_conversation(conversation_id)
            await services.transcript_requests.request(
                c.RequestTranscript(
                    visitor_id=conversation.visitor_id,
                    conversation_id=conversation_id,
                    # The same address: one other than the known one per conversation.
                    email="ann@example.org",
                )
            )
        finally:
            await database.dispose()
        assert len(sink.received) == 1

        async with Engine(configured):
            second = (await sink.wait_for(2))[1]
        assert second.rcpt_tos == ("ann@example.org",)
        assert len(sink.received) == 2
