"""The API channel (``business.api_channel``), on the fakes, SQLite and PostgreSQL: a
provider's message starts a routed conversation marked ``api`` (or goes to the visitor's
open one), is stored once however often the provider retries, names the channel in the
webhooks, and is refused with a clear error when the input is bad."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from business import commands as c
from business.api_channel import ReceiveApiMessage, api_visitor_key
from business.errors import InvalidInput, NotFound, TooLarge
from business.events import MessagePosted
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    Channel,
    ConversationState,
    ParticipantKind,
    QueueName,
    TenantId,
)
from business.reports import ReportQuery
from business.webhook_payloads import webhook_events
from tests.business.integrator_support import GLOBEX, any_world, end, fake_world, stored
from tests.harness import ALICE, SALES, World

__all__ = ["any_world", "fake_world"]


def sms(
    message_id: str,
    text: str = "Where is my parcel?",
    *,
    external_id: str = "+15550100",
    queue: QueueName = DEFAULT_QUEUE,
    tenant_id: TenantId = DEFAULT_TENANT,
    **more: Any,
) -> ReceiveApiMessage:
    fields: dict[str, Any] = {"provider": "sms", "name": "Dana"} | more
    return ReceiveApiMessage(
        tenant_id=tenant_id,
        queue=queue,
        external_id=external_id,
        provider_message_id=message_id,
        text=text,
        **fields,
    )


async def test_a_first_message_starts_a_routed_api_conversation(any_world: World) -> None:
    world = any_world
    await world.agent(ALICE, name="Alice")

    got = await world.services.api_channel.receive(sms("SM1"))

    assert got.created
    conv = got.conversation
    assert (conv.channel, conv.provider, conv.external_id) == (Channel.API, "sms", "+15550100")
    assert conv.state is ConversationState.ACTIVE
    assert conv.agent_id == ALICE
    assert conv.visitor_name == "Dana"
    assert got.message.text == "Where is my parcel?"
    assert got.message.sender.kind is ParticipantKind.VISITOR
    said = [e for e in await stored(world, conv.id) if isinstance(e, MessagePosted)]
    assert [m.text for m in said] == ["Where is my parcel?"]
    # Stored as it was decided: read back, the channel is still there.
    again = await world.conversations.get_conversation(conv.id)
    assert (again.channel, again.provider, again.external_id) == (Channel.API, "sms", "+15550100")


async def test_a_retried_provider_message_is_stored_once(any_world: World) -> None:
    world = any_world
    first = await world.services.api_channel.receive(sms("SM1"))
    published = len(world.published())

    again = await world.services.api_channel.receive(sms("SM1"))

    assert not again.created
    assert again.conversation.id == first.conversation.id
    assert again.message.seq == first.message.seq
    assert len(world.published()) == published
    said = [e for e in await stored(world, first.conversation.id) if isinstance(e, MessagePosted)]
    assert len(said) == 1


async def test_another_senders_message_under_the_providers_id_is_no_retry(
    any_world: World,
) -> None:
    world = any_world
    await world.agent(ALICE, name="Alice")
    first = await world.services.api_channel.receive(sms("SM1"))
    # An agent's client may pick any id, even one that looks like the provider's.
    await world.agent_says(ALICE, first.conversation.id, "order 1234?", "api:SM2")

    with pytest.raises(InvalidInput, match="another sender"):
        await world.services.api_channel.receive(sms("SM2", "my order number is 1234"))


async def test_later_messages_go_to_the_open_conversation(any_world: World) -> None:
    world = any_world
    first = await world.services.api_channel.receive(sms("SM1", "hello"))
    # Wherever it is now: the queue named only matters for a start.
    second = await world.services.api_channel.receive(sms("SM2", "are you there?", queue=SALES))

    assert second.created
    assert second.conversation.id == first.conversation.id
    assert second.message.seq > first.message.seq
    said = [e for e in await stored(world, first.conversation.id) if isinstance(e, MessagePosted)]
    assert [m.text for m in said] == ["hello", "are you there?"]


async def test_after_the_end_a_new_message_starts_a_new_conversation(any_world: World) -> None:
    world = any_world
    first = await world.services.api_channel.receive(sms("SM1"))
    await end(world, first.conversation)

    # A retry of the message the ended chat holds is still answered with it ...
    retry = await world.services.api_channel.receive(sms("SM1"))
    assert not retry.created
    assert retry.conversation.id == first.conversation.id
    # ... and a new one starts a new chat of the same visitor.
    later = await world.services.api_channel.receive(sms("SM2", "one more thing"))
    assert later.created
    assert later.conversation.id != first.conversation.id
    assert later.conversation.visitor_id == first.conversation.visitor_id
    assert later.conversation.is_open


async def test_each_provider_address_and_tenant_is_its_own_visitor(any_world: World) -> None:
    world = any_world
    api = world.services.api_channel
    dana = await api.receive(sms("SM1"))
    other_number = await api.receive(sms("SM1", external_id="+15550199"))
    whatsapp = await api.receive(sms("SM1", provider="whatsapp"))
    globex = await api.receive(sms("SM1", tenant_id=GLOBEX))

    visitors = {
        r.conversation.visitor_id for r in (dana, other_number, whatsapp, globex) if r.created
    }
    assert len(visitors) == 4
    assert globex.conversation.tenant_id == GLOBEX


async def test_the_api_visitors_key_is_no_widget_token(any_world: World) -> None:
    world = any_world
    got = await world.services.api_channel.receive(sms("SM1"))
    key = api_visitor_key("sms", "+15550100")
    hex_part = key.removeprefix("api:")

    # The key itself (and its hex part) presented as a widget's token: refused as
    # malformed, or a visitor of its own, never the API visitor.
    for token in (key, hex_part):
        try:
            session = await world.sessions.open_session(
                c.OpenSession(tenant_id=DEFAULT_TENANT, visitor_token=token)
            )
        except InvalidInput:
            continue
        assert session.visitor.id != got.conversation.visitor_id
        assert not [s for s in session.conversations if s.id == got.conversation.id]


async def test_bad_input_is_refused_before_anything_is_stored(fake_world: World) -> None:
    world = fake_world
    api = world.services.api_channel
    cases: list[tuple[ReceiveApiMessage, type[Exception], str]] = [
        (sms("SM1", "   "), InvalidInput, "text must not be empty"),
        (sms("SM1", "x" * 5000), TooLarge, "longer than"),
        (sms("SM1", provider="WhatsApp"), InvalidInput, "provider must be"),
        (sms("SM1", provider="x" * 33), InvalidInput, "provider must be"),
        (sms("SM1", external_id=" "), InvalidInput, "external_id must not be empty"),
        (sms("SM1", external_id="1" * 201), TooLarge, "external_id is longer"),
        (sms("SM1", external_id="a\nb"), InvalidInput, "control characters"),
        (sms("é"), InvalidInput, "provider_message_id must be"),
        (sms("x" * 97), InvalidInput, "provider_message_id must be"),
        (sms("SM1", email="not-an-address"), InvalidInput, "e-mail"),
        (sms("SM1", queue=QueueName("nope")), NotFound, "unknown queue"),
        (sms("SM1", tenant_id=TenantId("nobody")), NotFound, "unknown tenant"),
    ]
    for cmd, error, words in cases:
        with pytest.raises(error, match=words):
            await api.receive(cmd)
    assert world.fakes.conversations == {}


async def test_webhook_events_name_the_channel_and_the_address(any_world: World) -> None:
    world = any_world
    await world.agent(ALICE, name="Alice")
    got = await world.services.api_channel.receive(sms("SM1"))
    reply = await world.agent_says(ALICE, got.conversation.id, "It ships today")

    conv = await world.conversations.get_conversation(got.conversation.id)
    made = webhook_events(conv, [reply], attachment_url=str)
    data = json.loads(made[0].body)["data"]
    assert data["from"]["kind"] == "agent"
    assert data["text"] == "It ships today"
    assert (data["channel"], data["provider"], data["external_id"]) == ("api", "sms", "+15550100")


async def test_a_web_conversation_says_web(any_world: World) -> None:
    world = any_world
    conv = await world.start(await world.visitor(), text="hi")
    assert conv.channel is Channel.WEB
    assert conv.provider is None
    assert conv.external_id is None
    event = (await stored(world, conv.id))[-1]
    data = json.loads(webhook_events(conv, [event], attachment_url=str)[-1].body)["data"]
    assert (data["channel"], data["provider"], data["external_id"]) == ("web", None, None)


async def test_the_report_names_the_channel_and_filters_by_it(any_world: World) -> None:
    world = any_world
    texted = await world.services.api_channel.receive(sms("SM1"))
    web = await world.start(await world.visitor(), text="hi")
    await end(world, texted.conversation)
    await end(world, web)

    reports = world.services.reports
    both = await reports.conversations(ReportQuery(tenant_id=DEFAULT_TENANT))
    assert {(r.conversation_id, r.channel) for r in both.reports} == {
        (texted.conversation.id, Channel.API),
        (web.id, Channel.WEB),
    }
    only_api = await reports.conversations(
        ReportQuery(tenant_id=DEFAULT_TENANT, channel=Channel.API)
    )
    assert [r.conversation_id for r in only_api.reports] == [texted.conversation.id]


async def test_a_burst_from_a_new_address_makes_one_visitor_and_one_conversation(
    any_world: World,
) -> None:
    world = any_world
    api = world.services.api_channel
    got = await asyncio.gather(
        *(api.receive(sms(f"SM{n}", f"part {n}")) for n in range(4)),
        api.receive(sms("SM0", "part 0")),  # and a retry among them
    )

    assert len({r.conversation.id for r in got}) == 1
    assert len({r.conversation.visitor_id for r in got}) == 1
    said = [e for e in await stored(world, got[0].conversation.id) if isinstance(e, MessagePosted)]
    assert sorted(m.text for m in said) == ["part 0", "part 1", "part 2", "part 3"]


async def test_a_burst_of_first_messages_naming_different_queues_opens_one_chat(
    any_world: World,
) -> None:
    world = any_world
    api = world.services.api_channel

    first, second = await asyncio.gather(
        api.receive(sms("SM1", "hello")), api.receive(sms("SM2", "sales?", queue=SALES))
    )

    assert first.conversation.id == second.conversation.id
    said = [e for e in await stored(world, first.conversation.id) if isinstance(e, MessagePosted)]
    assert [m.text for m in said] == ["hello", "sales?"]


async def test_an_api_start_finds_the_addresss_open_chat_in_any_queue(any_world: World) -> None:
    world = any_world
    visitor = await world.visitor()

    def start(queue: QueueName, message_id: str) -> c.StartConversation:
        return c.StartConversation(
            visitor_id=visitor,
            queue=queue,
            message=c.FirstMessage(client_msg_id=message_id, text="hi"),
            channel=Channel.API,
            provider="sms",
            external_id="+15550100",
        )

    # Both at once, past the service's per-address lock (another process's start).
    a, b = await asyncio.gather(
        world.conversations.start_conversation(start(DEFAULT_QUEUE, "api:A")),
        world.conversations.start_conversation(start(SALES, "api:B")),
    )

    assert a.id == b.id
