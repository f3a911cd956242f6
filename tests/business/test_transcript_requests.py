"""A visitor's request for the transcript by e-mail, the automatic one at the end, and
the tenant setting that turns it on, on the fakes."""

from __future__ import annotations

import pytest

from business import commands as c
from business.errors import (
    EmailRequired,
    Forbidden,
    InvalidInput,
    NotFound,
    TranscriptLimit,
    Unavailable,
)
from business.mail_settings import MailSettings
from business.model import (
    DEFAULT_TENANT,
    AgentId,
    ConversationId,
    TenantId,
    VisitorContext,
    VisitorId,
)
from business.transcript_mail_ports import AUTOMATIC, MailStatus, QueuedTranscript
from tests.fakes_mail import RecordingMailer
from tests.harness import World, make_world

MAIL = MailSettings(host="smtp.example.org", from_address="noreply@example.org", max_requests=2)
ALICE = AgentId("alice@agents.example")


SHOP = TenantId("shop")


@pytest.fixture
async def world() -> World:
    return await make_world(mail=MAIL, mailer=RecordingMailer(), tenants={SHOP: "Shop"})


def queued(world: World, conversation_id: ConversationId) -> list[QueuedTranscript]:
    return sorted(
        (m for m in world.fakes.transcript_mails.values() if m.conversation_id == conversation_id),
        key=lambda m: m.number,
    )


async def request(
    world: World, conv_id: ConversationId, visitor: VisitorId, email: str | None = None
) -> QueuedTranscript:
    return await world.services.transcript_requests.request(
        c.RequestTranscript(visitor_id=visitor, conversation_id=conv_id, email=email)
    )


async def test_a_request_is_stored_for_the_address_given_and_wakes_the_sender(
    world: World,
) -> None:
    woken: list[str] = []
    world.services.transcript_requests.on_queued(lambda: woken.append("woken"))
    visitor = await world.visitor()
    conv = await world.start(visitor, "Hello")

    mail = await request(world, conv.id, visitor, " Ann@Example.ORG ")

    assert queued(world, conv.id) == [mail]
    assert (mail.address, mail.number, mail.status, mail.attempts) == (
        "Ann@example.org",
        1,
        MailStatus.PENDING,
        0,
    )
    assert (mail.tenant_id, mail.created_at, mail.next_attempt_at) == (
        DEFAULT_TENANT,
        world.clock.now(),
        world.clock.now(),
    )
    assert woken == ["woken"]
    # Nothing is said in the conversation: the request is the visitor's own business.
    assert [e.pos for e in world.stored(conv.id)] == list(range(1, conv.last_pos + 1))


async def test_without_an_address_the_forms_then_the_sites_is_used_else_one_is_asked_for(
    world: World,
) -> None:
    visitor = await world.visitor()
    from_form = await world.start(visitor, "Hi", form={"email": "form@example.org"})
    assert (await request(world, from_form.id, visitor)).address == "form@example.org"
    # The address given wins over the one known.
    assert (await request(world, from_form.id, visitor, "other@example.org")).address == (
        "other@example.org"
    )

    await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=visitor, conversation_id=from_form.id)
    )
    unknown = await world.start(visitor, "Hi again", form={"email": "not an address"})
    with pytest.raises(EmailRequired):
        await request(world, unknown.id, visitor)
    await world.conversations.update_context(
        c.UpdateContext(
            visitor_id=visitor, context=VisitorContext(custom={"email": "site@example.org"})
        )
    )
    assert (await request(world, unknown.id, visitor)).address == "site@example.org"


async def test_a_malformed_address_is_refused_before_anything_is_stored(world: World) -> None:
    visitor = await world.visitor()
    conv = await world.start(visitor, "Hello")

    for bad in ("ann", "ann@example.org\r\nBcc: x@example.org", "a@b"):
        with pytest.raises(InvalidInput) as refused:
            await request(world, conv.id, visitor, bad)
        assert not isinstance(refused.value, EmailRequired)
    assert queued(world, conv.id) == []


async def test_only_the_visitors_own_conversation_and_at_most_max_requests(world: World) -> None:
    visitor = await world.visitor()
    stranger = await world.visitor()
    other_tenant = await world.visitor(SHOP)
    conv = await world.start(visitor, "Hello")

    with pytest.raises(Forbidden):
        await request(world, conv.id, stranger, "x@example.org")
    with pytest.raises(Forbidden):
        await request(world, conv.id, other_tenant, "x@example.org")
    with pytest.raises(NotFound):
        await request(world, ConversationId("nope"), visitor, "x@example.org")

    await request(world, conv.id, visitor, "a@example.org")
    await request(world, conv.id, visitor, "a@example.org")
    with pytest.raises(TranscriptLimit, match="at most 2 times"):
        await request(world, conv.id, visitor, "a@example.org")
    assert [m.number for m in queued(world, conv.id)] == [1, 2]


async def test_at_most_max_addresses_besides_the_one_the_conversation_knows() -> None:
    mail = MailSettings(host="smtp.example.org", from_address="noreply@example.org", max_requests=4)
    assert mail.max_addresses == 1
    world = await make_world(mail=mail, mailer=RecordingMailer())
    visitor = await world.visitor()
    conv = await world.start(visitor, "Hi", form={"email": "known@example.org"})

    await request(world, conv.id, visitor)  # the known one
    await request(world, conv.id, visitor, "other@example.org")
    await request(world, conv.id, visitor, "Other@Example.org")  # the same one again
    # A second address of the visitor's choosing: the transcript is no relay for spam.
    with pytest.raises(TranscriptLimit, match="at most 1 address"):
        await request(world, conv.id, visitor, "victim@example.net")
    await request(world, conv.id, visitor, "KNOWN@example.org")  # the known one is fine
    assert [m.address for m in queued(world, conv.id)] == [
        "known@example.org",
        "other@example.org",
        "Other@example.org",
        "KNOWN@example.org",
    ]


async def test_a_request_to_an_ended_conversation_is_fine(world: World) -> None:
    visitor = await world.visitor()
    conv = await world.start(visitor, "Hello")
    await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=visitor, conversation_id=conv.id)
    )

    assert (await request(world, conv.id, visitor, "ann@example.org")).number == 1


async def test_with_mail_off_a_request_is_unavailable_and_nothing_is_queued() -> None:
    for world in (
        await make_world(),
        # A mailer without settings to send with is off too.
        await make_world(mailer=RecordingMailer()),
    ):
        assert not world.services.transcript_requests.available
        visitor = await world.visitor()
        conv = await world.start(visitor, "Hello", form={"email": "ann@example.org"})
        with pytest.raises(Unavailable, match="not available on this server"):
            await request(world, conv.id, visitor, "ann@example.org")
        await world.services.tenant_settings.configure(
            c.ConfigureTenant(tenant_id=DEFAULT_TENANT, transcript_auto_send=True)
        )
        await world.conversations.end_by_visitor(
            c.EndConversationByVisitor(visitor_id=visitor, conversation_id=conv.id)
        )
        assert world.fakes.transcript_mails == {}


# -- the automatic transcript ---------------------------------------------------------


async def auto_send(world: World, on: bool) -> None:
    tenant = await world.services.tenant_settings.configure(
        c.ConfigureTenant(tenant_id=DEFAULT_TENANT, transcript_auto_send=on)
    )
    assert tenant.transcript_auto_send is on


async def test_an_end_queues_the_transcript_when_the_tenant_wants_it_and_an_address_is_known(
    world: World,
) -> None:
    woken: list[str] = []
    world.services.transcript_auto_send.on_committed(lambda: woken.append("woken"))
    world.publisher.subscribe(world.services.transcript_auto_send)
    await auto_send(world, True)
    await world.agent(ALICE)
    visitor = await world.visitor()
    conv = await world.start(visitor, "Hello", form={"email": "ann@example.org"})
    await world.agent_says(ALICE, conv.id, "Hi Ann")
    assert queued(world, conv.id) == []
    assert woken == []

    world.advance(30)
    await world.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=conv.id)
    )

    [mail] = queued(world, conv.id)
    assert (mail.number, mail.address, mail.automatic) == (AUTOMATIC, "ann@example.org", True)
    assert mail.next_attempt_at == world.clock.now()
    assert woken == ["woken"]
    # The visitor may still ask for it themselves, as often as anybody may.
    assert (await request(world, conv.id, visitor)).number == 1


async def test_no_automatic_transcript_when_the_tenant_is_off_or_no_address_is_known(
    world: World,
) -> None:
    visitor = await world.visitor()
    off = await world.start(visitor, "Hello", form={"email": "ann@example.org"})
    await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=visitor, conversation_id=off.id)
    )
    await auto_send(world, True)
    nobody = await world.start(visitor, "Again", form={"name": "Ann"})
    await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=visitor, conversation_id=nobody.id)
    )
    # Another tenant's setting is its own.
    shop_visitor = await world.visitor(SHOP)
    shop = await world.start(shop_visitor, "Hi", form={"email": "ann@example.org"})
    await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=shop_visitor, conversation_id=shop.id)
    )

    assert world.fakes.transcript_mails == {}

    await auto_send(world, False)
    after = await world.start(visitor, "Third", form={"email": "ann@example.org"})
    await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=visitor, conversation_id=after.id)
    )
    assert world.fakes.transcript_mails == {}


async def test_one_automatic_transcript_per_conversation(world: World) -> None:
    await auto_send(world, True)
    await world.agent(ALICE)
    visitor = await world.visitor()
    conv = await world.start(visitor, "Hello", form={"email": "ann@example.org"})
    # Ended with a wrap-up (two events of the end in one change), then ended again.
    await world.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=conv.id, wrap_up="a note")
    )
    await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=visitor, conversation_id=conv.id)
    )

    assert [m.number for m in queued(world, conv.id)] == [AUTOMATIC]


async def test_configuring_an_unknown_tenant_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        await world.services.tenant_settings.configure(
            c.ConfigureTenant(tenant_id=TenantId("nobody"), transcript_auto_send=True)
        )
    unchanged = await world.services.tenant_settings.configure(
        c.ConfigureTenant(tenant_id=DEFAULT_TENANT)
    )
    assert not unchanged.transcript_auto_send
