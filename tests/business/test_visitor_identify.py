"""``ChatEngine.identify`` mid-chat (``business.visitor_identify``): the same visitor, the
chat goes on, the agent is told what changed, and a signed identity's word is not
overridden. On the fakes, SQLite and PostgreSQL (``uow_factory``)."""

from __future__ import annotations

import json

import pytest

from business import commands as c
from business.errors import Forbidden, InvalidInput, TooLarge
from business.events import MessagePosted, VisitorIdentified
from business.identity_model import IdentityKey, IdentityMode, KeyAlgorithm
from business.identity_settings import ConfigureIdentity, IdentitySettingsService
from business.model import DEFAULT_TENANT, VisitorId
from business.ports import UnitOfWorkFactory
from business.sessions import SessionService
from business.transactions import Transactions
from business.visitor_identify import IdentifyVisitor
from tests.business.webhook_support import make_hooks
from tests.fakes_identity import FakeIdentityVerifier
from tests.harness import ALICE, World, make_world


@pytest.fixture
async def world(uow_factory: UnitOfWorkFactory) -> World:
    engine = await make_world(uow=uow_factory)
    await engine.agent(ALICE, name="Alice", max_chats=5)
    return engine


def identify(visitor: VisitorId, **values: object) -> IdentifyVisitor:
    extra = values.pop("extra", {})
    assert isinstance(extra, dict)
    return IdentifyVisitor(visitor_id=visitor, extra=extra, **values)  # type: ignore[arg-type]


def notices(world: World, conv_id: str) -> list[VisitorIdentified]:
    return [
        e
        for e in world.published()
        if isinstance(e, VisitorIdentified) and conv_id in ("", e.conversation_id)
    ]


async def test_identify_mid_chat_updates_the_same_visitor_and_the_chat_goes_on(
    world: World,
) -> None:
    visitor = await world.visitor()
    conv = await world.start(visitor, text="Hello?")
    assert conv.agent_id == ALICE

    done = await world.services.visitor_identify.identify(
        identify(
            visitor,
            name=" Ann Lee ",
            email="ann@Example.COM",
            avatar="https://cdn.example/ann.png",
            extra={"plan": "pro", "seats": 12, "trial": False},
        )
    )

    assert done.conversations == 1
    assert done.changes == (
        ("name", "Ann Lee"),
        ("email", "ann@example.com"),
        ("avatar", "https://cdn.example/ann.png"),
        ("plan", "pro"),
        ("seats", "12"),
        ("trial", "false"),
    )
    (notice,) = notices(world, conv.id)
    assert notice.conversation_id == conv.id
    assert notice.visitor.name == "Ann Lee"
    assert notice.visitor.id == visitor
    assert notice.changes == done.changes
    after = await world.conversations.get_conversation(conv.id)
    # Stored for the desk (the REST API's events, a desk that reconnects), read back
    # as it was written.
    async with world.uow() as uow:
        stored = await uow.events.list_after_pos(conv.id, 0, after.last_pos)
    assert [e for e in stored if isinstance(e, VisitorIdentified)] == [notice]
    assert after.visitor_name == "Ann Lee"
    assert after.agent_id == ALICE
    assert after.is_open
    assert after.context.custom == {
        "email": "ann@example.com",
        "avatar": "https://cdn.example/ann.png",
        "plan": "pro",
        "seats": "12",
        "trial": "false",
    }
    found = await world.services.visitor_queries.get(DEFAULT_TENANT, visitor)
    assert found.name == "Ann Lee"
    assert found.identity is None
    # The chat goes on, under the new name.
    posted = await world.say(after, "Still there?", "second")
    assert isinstance(posted, MessagePosted)
    assert posted.sender.name == "Ann Lee"
    assert posted.sender.id == visitor


async def test_the_same_values_again_change_nothing_and_tell_nobody(world: World) -> None:
    visitor = await world.visitor()
    conv = await world.start(visitor, text="Hi")
    await world.services.visitor_identify.identify(identify(visitor, name="Ann", extra={"a": 1}))
    again = await world.services.visitor_identify.identify(
        identify(visitor, name="Ann", extra={"a": "1"})
    )
    assert again.changes == ()
    assert again.conversations == 0
    assert len(notices(world, conv.id)) == 1
    # Only what is new is told.
    more = await world.services.visitor_identify.identify(
        identify(visitor, name="Ann", email="ann@example.com")
    )
    assert more.changes == (("email", "ann@example.com"),)
    assert [n.changes for n in notices(world, conv.id)][-1] == (("email", "ann@example.com"),)


async def test_before_any_chat_the_name_is_kept_for_the_next(world: World) -> None:
    visitor = await world.visitor()
    done = await world.services.visitor_identify.identify(identify(visitor, name="Ann"))
    assert done.conversations == 0
    assert done.changes == (("name", "Ann"),)
    assert (await world.services.visitor_queries.get(DEFAULT_TENANT, visitor)).name == "Ann"
    assert notices(world, "") == []


@pytest.mark.parametrize(
    ("values", "error", "match"),
    [
        ({"name": "  "}, InvalidInput, "name must be 1 to 100"),
        ({"name": "x" * 101}, InvalidInput, "name must be 1 to 100"),
        ({"email": "not an address"}, InvalidInput, "e-mail"),
        ({"avatar": "javascript:alert(1)"}, InvalidInput, "http or https URL"),
        ({"avatar": "https://a/" + "x" * 2048}, TooLarge, "avatar is longer"),
        ({"extra": {f"k{n}": "v" for n in range(21)}}, TooLarge, "more than 20"),
        ({"extra": {"": "v"}}, InvalidInput, "field names must be 1 to 64"),
        ({"extra": {"k": {"nested": 1}}}, InvalidInput, "string, number or boolean"),
        ({"extra": {"k": "v" * 501}}, TooLarge, "longer than 500"),
        ({"extra": {"email": "a@b.example"}}, InvalidInput, "identify's own email"),
        ({"name": "nul\x00"}, InvalidInput, "NUL"),
    ],
)
async def test_bad_values_are_refused_whole(
    world: World, values: dict[str, object], error: type[Exception], match: str
) -> None:
    visitor = await world.visitor()
    conv = await world.start(visitor, text="Hi")
    with pytest.raises(error, match=match):
        await world.services.visitor_identify.identify(identify(visitor, **values))
    assert notices(world, conv.id) == []
    assert (await world.conversations.get_conversation(conv.id)).context.custom == {}


async def test_custom_fields_stay_within_the_limit(uow_factory: UnitOfWorkFactory) -> None:
    from business.validation import Limits

    world = await make_world(uow=uow_factory, limits=Limits(max_custom_fields=2))
    visitor = await world.visitor()
    conv = await world.start(visitor, text="Hi")
    with pytest.raises(TooLarge, match="more than 2 fields"):
        await world.services.visitor_identify.identify(
            identify(visitor, email="a@b.example", extra={"x": 1, "y": 2})
        )
    assert (await world.conversations.get_conversation(conv.id)).context.custom == {}


# -- signed identities --------------------------------------------------------------------


async def test_a_signed_identity_keeps_what_its_token_asserts(world: World) -> None:
    transactions = Transactions(world.uow, world.services.publisher)
    verifier = FakeIdentityVerifier({"name": "Ada Lovelace", "email": "ada@example.com"})
    await IdentitySettingsService(
        transactions=transactions, clock=world.clock, verifier=verifier
    ).configure(
        ConfigureIdentity(
            tenant_id=DEFAULT_TENANT,
            mode=IdentityMode.REQUIRED,
            audience="https://shop.example",
            keys=[IdentityKey(kid=None, algorithm=KeyAlgorithm.HS256, material="s" * 32)],
        )
    )
    sessions = SessionService(
        transactions=transactions, clock=world.clock, identity_verifier=verifier
    )
    session = await sessions.open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, identity="valid:customer-7")
    )
    visitor = session.visitor.id
    conv = await world.start(visitor, text="Hi")
    service = world.services.visitor_identify

    for values in ({"name": "Mallory"}, {"email": "mallory@example.com"}):
        with pytest.raises(Forbidden, match="signed identity"):
            await service.identify(identify(visitor, **values))
    assert notices(world, conv.id) == []
    # What the token says, said again, is fine; what it does not assert may be given.
    done = await service.identify(
        identify(
            visitor,
            name="Ada Lovelace",
            avatar="https://cdn.example/ada.png",
            extra={"plan": "pro"},
        )
    )
    assert done.changes == (("avatar", "https://cdn.example/ada.png"), ("plan", "pro"))
    found = await world.services.visitor_queries.get(DEFAULT_TENANT, visitor)
    assert found.identity is not None
    assert found.identity.sub == "customer-7"
    assert found.name == "Ada Lovelace"


# -- webhooks ---------------------------------------------------------------------------


async def test_a_visitor_updated_webhook_goes_to_subscriptions_that_want_it() -> None:
    hooks = await make_hooks()
    world = hooks.world
    await world.agent(ALICE, name="Alice", max_chats=5)
    everything = await hooks.subscribe()
    messages_only = await hooks.subscribe("message.created")
    visitor = await world.visitor()
    conv = await world.start(visitor, text="Hi")
    await world.services.visitor_identify.identify(
        identify(visitor, name="Ann", email="ann@example.com", extra={"plan": "pro"})
    )
    updated = [d for d in hooks.deliveries() if d.event_type.value == "visitor.updated"]
    assert [d.subscription_id for d in updated] == [everything.id]
    assert messages_only.id not in {d.subscription_id for d in updated}
    document = json.loads(updated[0].body)
    assert document["type"] == "visitor.updated"
    data = document["data"]
    assert data["conversation_id"] == conv.id
    assert data["visitor"] == {"kind": "visitor", "name": "Ann", "id": visitor}
    assert data["changes"] == {"name": "Ann", "email": "ann@example.com", "plan": "pro"}
