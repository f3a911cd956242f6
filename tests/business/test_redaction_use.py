"""PII redaction on the message path (``business.redaction_policy``): what visitors,
agents, supervisors and integrators write is stored, published and sent to webhooks
masked, by the conversation's tenant's settings (``business.redaction_settings``), on
the fakes, SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from business import commands as c
from business.errors import InvalidInput, NotFound
from business.events import MessagePosted, MessageUpdated, NoteAdded, Transferred, Whispered
from business.integrator_commands import PostIntegratorMessage
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    AgentId,
    AgentRole,
    OfferKind,
    Participant,
    ParticipantKind,
)
from business.offline_messages import LeaveOfflineMessage
from business.redaction import CustomPattern, RedactionSettings
from business.redaction_policy import RedactionPolicy
from business.redaction_settings import ConfigureRedaction
from tests.business.desk_worlds import chat_with_alice, desk, synced
from tests.business.webhook_support import make_hooks
from tests.harness import ALICE, SALES, World

__all__ = ["desk"]

CARD = "4111 1111 1111 1111"
CARD_MASKED = "**** **** **** 1111"
NOT_A_CARD = "4111 1111 1111 1112"  # fails the Luhn check: an order number, say
IBAN = "DE89 3704 0044 0532 0130 00"
IBAN_MASKED = "**** **** **** **** **30 00"
SAM = AgentId("sam")


def configure(**changes: object) -> ConfigureRedaction:
    return ConfigureRedaction(tenant_id=DEFAULT_TENANT, **changes)  # type: ignore[arg-type]


async def test_visitor_and_agent_texts_are_stored_and_published_masked(desk: World) -> None:
    conv = await chat_with_alice(desk, f"my card is {CARD}, order {NOT_A_CARD}")
    said = await desk.say(conv, f"pay to {IBAN} please", "m-2")
    answer = await desk.agent_says(ALICE, conv.id, f"you wrote {CARD}?")

    # The ack (what ``say`` returns) carries the stored text: the visitor's echo.
    assert said.text == f"pay to {IBAN_MASKED} please"
    assert answer.text == f"you wrote {CARD_MASKED}?"
    texts = [e.text for e in await synced(desk, conv) if isinstance(e, MessagePosted)]
    assert texts == [
        f"my card is {CARD_MASKED}, order {NOT_A_CARD}",
        f"pay to {IBAN_MASKED} please",
        f"you wrote {CARD_MASKED}?",
    ]
    published = [e for e in desk.published(conv.id) if isinstance(e, MessagePosted)]
    assert [e.text for e in published] == texts
    assert all(CARD not in repr(e) and IBAN not in repr(e) for e in desk.published(conv.id))


async def test_a_tenants_settings_choose_what_is_masked(desk: World) -> None:
    settings = desk.services.redaction_settings
    assert await settings.get(DEFAULT_TENANT) == RedactionSettings()
    conv = await chat_with_alice(desk)
    changed = await settings.configure(
        configure(
            cards=False,
            emails=True,
            phones=True,
            phone_region="DE",
            add_patterns=[CustomPattern("order", r"ORD-[0-9]{6}")],
        )
    )
    assert changed == RedactionSettings(
        cards=False,
        emails=True,
        phones=True,
        phone_region="DE",
        patterns=(CustomPattern("order", r"ORD-[0-9]{6}"),),
    )
    assert await settings.get(DEFAULT_TENANT) == changed  # and read back as stored
    said = await desk.say(conv, f"{CARD} ann@example.org 030 12345678 ORD-123456 {IBAN}", "m-2")
    assert said.text == f"{CARD} ***@*******.*** *** ******** ***-****** {IBAN_MASKED}"

    off = await settings.configure(
        configure(ibans=False, emails=False, phones=False, remove_patterns=["order"])
    )
    assert not off.enabled
    said = await desk.say(conv, f"{IBAN} ORD-123456", "m-3")
    assert said.text == f"{IBAN} ORD-123456"


async def test_bad_settings_are_refused_and_change_nothing(desk: World) -> None:
    settings = desk.services.redaction_settings
    with pytest.raises(InvalidInput, match="no regular expression"):
        await settings.configure(configure(add_patterns=[CustomPattern("bad", "([")]))
    with pytest.raises(InvalidInput, match="two-letter"):
        await settings.configure(configure(phone_region="Germany"))
    with pytest.raises(NotFound, match="no pattern 'ghost'"):
        await settings.configure(configure(remove_patterns=["ghost"]))
    with pytest.raises(NotFound, match="unknown tenant"):
        await settings.get("nobody")  # type: ignore[arg-type]
    assert await settings.get(DEFAULT_TENANT) == RedactionSettings()


async def test_notes_whispers_corrections_and_integrator_messages_are_masked(
    desk: World,
) -> None:
    await desk.agents.add_agent(
        c.AddAgent(
            address="sam@example.com",
            agent_id=SAM,
            queues=(SALES,),
            max_chats=1,
            tenant_id=DEFAULT_TENANT,
            name="Sam",
            role=AgentRole.SUPERVISOR,
            supervises=("support",),  # type: ignore[arg-type]
        )
    )
    conv = await chat_with_alice(desk)
    note = await desk.services.notes.add_note(
        c.AddNote(agent_id=ALICE, conversation_id=conv.id, text=f"card {CARD}")
    )
    await desk.services.supervision.monitor(c.Monitor(supervisor_id=SAM, target=conv.id))
    whispered = await desk.services.supervision.whisper(
        c.Whisper(supervisor_id=SAM, conversation_id=conv.id, text=f"IBAN {IBAN}")
    )
    await desk.agent_says(ALICE, conv.id, "noted", "xmpp:s1")
    updated = await desk.services.corrections.correct_agent_message(
        c.CorrectAgentMessage(
            agent_id=ALICE, conversation_id=conv.id, replaces="xmpp:s1", text=f"card {CARD}"
        )
    )
    bot = await desk.services.integrator_messages.post(
        PostIntegratorMessage(
            tenant_id=DEFAULT_TENANT,
            conversation_id=conv.id,
            sender=Participant(kind=ParticipantKind.BOT, id="b", name="Bot"),
            client_msg_id="int-1",
            text=f"card {CARD}",
        )
    )
    await desk.services.participants.offer(
        c.OfferToColleague(
            agent_id=ALICE,
            conversation_id=conv.id,
            kind=OfferKind.TRANSFER,
            target=SALES,
            note=f"wants a refund to {IBAN}",
        )
    )
    assert note.text == updated.text == bot.text == f"card {CARD_MASKED}"
    assert whispered.text == f"IBAN {IBAN_MASKED}"
    stored = desk.published(conv.id)
    kinds = (NoteAdded, Whispered, MessageUpdated, MessagePosted)
    assert sum(isinstance(e, kinds) for e in stored) >= 5
    (transferred,) = [e for e in stored if isinstance(e, Transferred)]
    assert transferred.note == f"wants a refund to {IBAN_MASKED}"
    assert all(CARD not in repr(e) and IBAN not in repr(e) for e in stored)


async def test_an_offline_message_is_stored_masked(desk: World) -> None:
    visitor = await desk.visitor()
    conv = await desk.services.offline_messages.leave(
        LeaveOfflineMessage(
            visitor_id=visitor,
            client_msg_id="off-1",
            name="Ann",
            email="ann@example.org",
            text=f"call me back, card {CARD}",
        )
    )
    events = await synced(desk, conv)
    (message,) = [e for e in events if isinstance(e, MessagePosted)]
    assert message.text == f"call me back, card {CARD_MASKED}"


async def test_webhook_payloads_carry_the_masked_text() -> None:
    hooks = await make_hooks()
    await hooks.subscribe()
    world = hooks.world
    await world.agent(ALICE, name="Alice", max_chats=10)
    conv = await world.start(await world.visitor(), text=f"card {CARD}")
    await world.agent_says(ALICE, conv.id, f"IBAN {IBAN}?")
    bodies = [d.body for d in hooks.deliveries()]
    documents = [json.loads(b) for b in bodies]
    texts = [d["data"]["text"] for d in documents if d["type"] == "message.created"]
    assert texts == [f"card {CARD_MASKED}", f"IBAN {IBAN_MASKED}?"]
    assert not any(CARD in b or IBAN in b for b in bodies)


def test_the_policy_keeps_one_redactor_per_settings_value_within_its_bound() -> None:
    policy = RedactionPolicy(max_redactors=2)
    first = policy.redactor(RedactionSettings())
    assert policy.redactor(RedactionSettings()) is first  # equal values share one
    assert policy.redactor(RedactionSettings(cards=False, ibans=False)) is None
    policy.redactor(RedactionSettings(emails=True))
    policy.redactor(RedactionSettings(ibans=False))  # past the bound: the oldest goes
    assert policy.redactor(RedactionSettings()) is not first
    # Without a phone number finder, phones are skipped rather than failing the message.
    phoneless = policy.redactor(RedactionSettings(phones=True))
    assert phoneless is not None
    assert phoneless.redact("+49 30 12345678").text == "+49 30 12345678"


async def test_a_thread_an_agent_opens_is_stored_masked(desk: World) -> None:
    await desk.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode="messaging")
    )
    conv = await chat_with_alice(desk)
    opened = await desk.services.outbound_threads.open_thread(
        c.OpenThread(agent_id=ALICE, conversation_id=conv.id, text=f"refund to {IBAN} sent")
    )
    (message,) = [e for e in desk.published(opened.id) if isinstance(e, MessagePosted)]
    assert message.text == f"refund to {IBAN_MASKED} sent"
    listed = {t.id: t for t in await desk.services.threads.threads(conv.visitor_id)}
    assert listed[opened.id].preview == f"refund to {IBAN_MASKED} sent"
