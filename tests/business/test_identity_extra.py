"""A tenant's map from identity extra keys to custom fields (``business.identity_extra``):
``identify()``'s extra values and a signed identity's extra claims land under the mapped
field names, where the offer, ``!info`` and the REST API read them; unmapped keys keep
their own name. On the fakes, SQLite and PostgreSQL (``uow_factory``)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from business import commands as c
from business.errors import Forbidden, InvalidInput
from business.identity_model import IdentityKey, IdentityMode, KeyAlgorithm
from business.identity_settings import ConfigureIdentity, IdentitySettingsService
from business.model import DEFAULT_TENANT, ConversationId, VisitorContext, VisitorId
from business.ports import UnitOfWorkFactory
from business.sessions import SessionService
from business.transactions import Transactions
from business.visitor_identify import IdentifyVisitor
from tests.fakes_identity import FakeIdentityVerifier
from tests.harness import ALICE, World, make_world

PLAN_MAP = {"plan": "Customer plan", "crm_id": "CRM"}


class Site:
    def __init__(self, world: World) -> None:
        self.world = world
        transactions = Transactions(world.uow, world.services.publisher)
        self.verifier = FakeIdentityVerifier(
            {"name": "Ada Lovelace", "extra": {"plan": "gold", "crm_id": "C-42", "tier": "2"}}
        )
        self.settings = IdentitySettingsService(
            transactions=transactions, clock=world.clock, verifier=self.verifier
        )
        self.sessions = SessionService(
            transactions=transactions, clock=world.clock, identity_verifier=self.verifier
        )

    async def configure(self, extra_fields: Mapping[str, str] | None) -> None:
        await self.settings.configure(
            ConfigureIdentity(
                tenant_id=DEFAULT_TENANT,
                mode=IdentityMode.OPTIONAL,
                audience="https://shop.example",
                keys=[IdentityKey(kid=None, algorithm=KeyAlgorithm.HS256, material="s" * 32)],
                extra_fields=extra_fields,
            )
        )

    async def start(self, visitor: VisitorId, custom: Mapping[str, str]) -> ConversationId:
        conv = await self.world.conversations.start_conversation(
            c.StartConversation(
                visitor_id=visitor,
                form={"name": "Ada"},
                message=c.FirstMessage(client_msg_id="first", text="Hello"),
                context=VisitorContext(custom=dict(custom)),
            )
        )
        return conv.id


@pytest.fixture
async def site(uow_factory: UnitOfWorkFactory) -> Site:
    world = await make_world(uow=uow_factory)
    await world.agent(ALICE, name="Alice", max_chats=5)
    return Site(world)


async def test_the_map_is_stored_kept_and_replaced(site: Site) -> None:
    assert (await site.settings.get(DEFAULT_TENANT)).extra_fields == {}
    await site.configure(PLAN_MAP)
    assert (await site.settings.get(DEFAULT_TENANT)).extra_fields == PLAN_MAP
    # A change that does not give the map keeps it.
    await site.configure(None)
    assert (await site.settings.get(DEFAULT_TENANT)).extra_fields == PLAN_MAP
    await site.configure({})
    assert (await site.settings.get(DEFAULT_TENANT)).extra_fields == {}


@pytest.mark.parametrize(
    ("extra_fields", "words"),
    [
        ({str(n): f"f{n}" for n in range(21)}, "at most 20"),
        ({"plan": "email"}, "cannot be mapped to email"),
        ({"plan": "Plan", "tier": "Plan"}, "mapped twice"),
        ({"k" * 65: "Plan"}, "extra keys must be 1 to 64"),
        ({"plan": "f" * 101}, "custom field names must be 1 to 100"),
        ({"plan": ""}, "custom field names must be 1 to 100"),
        ({"plan": "a\x00b"}, "NUL"),
    ],
)
async def test_a_bad_map_is_refused_and_nothing_stored(
    site: Site, extra_fields: dict[str, str], words: str
) -> None:
    await site.configure(PLAN_MAP)
    with pytest.raises(InvalidInput, match=words):
        await site.configure(extra_fields)
    assert (await site.settings.get(DEFAULT_TENANT)).extra_fields == PLAN_MAP


async def test_identify_stores_a_mapped_key_under_its_field_and_others_as_named(
    site: Site,
) -> None:
    await site.configure({"plan": "Customer plan"})
    visitor = await site.world.visitor()
    conv_id = await site.start(visitor, {})
    done = await site.world.services.visitor_identify.identify(
        IdentifyVisitor(visitor_id=visitor, extra={"plan": "pro", "seats": 3})
    )
    assert done.changes == (("Customer plan", "pro"), ("seats", "3"))
    after = await site.world.conversations.get_conversation(conv_id)
    assert after.context.custom == {"Customer plan": "pro", "seats": "3"}


async def test_without_a_map_identify_keeps_every_key_as_named(site: Site) -> None:
    visitor = await site.world.visitor()
    conv_id = await site.start(visitor, {})
    await site.world.services.visitor_identify.identify(
        IdentifyVisitor(visitor_id=visitor, extra={"plan": "pro"})
    )
    after = await site.world.conversations.get_conversation(conv_id)
    assert after.context.custom == {"plan": "pro"}


async def test_a_signed_identitys_mapped_claims_are_custom_fields_of_its_chats(
    site: Site,
) -> None:
    await site.configure(PLAN_MAP)
    session = await site.sessions.open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, identity="valid:customer-7")
    )
    visitor = session.visitor.id
    # The page's own value under a mapped name yields to the token's.
    conv_id = await site.start(visitor, {"Customer plan": "free", "page": "pricing"})
    conv = await site.world.conversations.get_conversation(conv_id)
    # The unmapped claim (tier) stays on the identity only, as without a map.
    assert conv.context.custom == {"Customer plan": "gold", "CRM": "C-42", "page": "pricing"}
    info = await site.world.services.visitor_profile.info(ALICE, conv.id)
    assert info.context.custom["Customer plan"] == "gold"
    assert info.verified is not None
    assert info.verified.extra == {"plan": "gold", "crm_id": "C-42", "tier": "2"}
    # identify() cannot say otherwise, under the key or the field it maps to.
    identify = site.world.services.visitor_identify
    with pytest.raises(Forbidden, match="Customer plan comes from the visitor's signed"):
        await identify.identify(IdentifyVisitor(visitor_id=visitor, extra={"plan": "free"}))
    with pytest.raises(Forbidden, match="CRM comes from"):
        await identify.identify(IdentifyVisitor(visitor_id=visitor, extra={"CRM": "C-1"}))
    # What it does assert, said again, is fine.
    done = await identify.identify(IdentifyVisitor(visitor_id=visitor, extra={"plan": "gold"}))
    assert done.changes == ()


async def test_without_a_map_signed_claims_become_no_custom_fields(site: Site) -> None:
    await site.configure(None)
    session = await site.sessions.open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, identity="valid:customer-7")
    )
    conv_id = await site.start(session.visitor.id, {"page": "pricing"})
    conv = await site.world.conversations.get_conversation(conv_id)
    assert conv.context.custom == {"page": "pricing"}
