"""Signed identities at the session: modes, and which visitor an identity is (merge of
an anonymous visitor, the same visitor on another device, another sub). On the fakes,
SQLite and PostgreSQL (``uow_factory``), so the SQL repositories keep the same promises.
The token's cryptography is ``tests.presentation.test_identity_socket``'s."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from business import commands as c
from business.errors import IdentityRejected, InvalidInput, NotFound, UnknownVisitor
from business.identity_model import IdentityKey, IdentityMode, KeyAlgorithm
from business.identity_settings import ConfigureIdentity, IdentitySettingsService
from business.model import DEFAULT_TENANT, TenantId
from business.ports import UnitOfWorkFactory
from business.sessions import SessionService, VisitorSession
from business.transactions import Transactions
from business.visitor_queries import VisitorQueryService
from tests.fakes_identity import FakeIdentityVerifier
from tests.harness import World, make_world

SECRET = IdentityKey(kid=None, algorithm=KeyAlgorithm.HS256, material="s" * 32)


@dataclass
class Site:
    world: World
    sessions: SessionService
    settings: IdentitySettingsService
    verifier: FakeIdentityVerifier

    async def connect(
        self, *, token: str | None = None, identity: str | None = None, create: bool = True
    ) -> VisitorSession:
        return await self.sessions.open_session(
            c.OpenSession(
                tenant_id=DEFAULT_TENANT,
                visitor_token=token,
                identity=identity,
                create_unknown=create,
            )
        )

    async def mode(self, mode: IdentityMode) -> None:
        await self.settings.configure(
            ConfigureIdentity(
                tenant_id=DEFAULT_TENANT, mode=mode, audience="https://shop.example", keys=[SECRET]
            )
        )


@pytest.fixture
async def site(uow_factory: UnitOfWorkFactory) -> Site:
    world = await make_world(uow=uow_factory)
    transactions = Transactions(world.uow, world.services.publisher)
    verifier = FakeIdentityVerifier({"name": "Ada Lovelace", "email": "ada@example.com"})
    return Site(
        world=world,
        sessions=SessionService(
            transactions=transactions, clock=world.clock, identity_verifier=verifier
        ),
        settings=IdentitySettingsService(
            transactions=transactions, clock=world.clock, verifier=verifier
        ),
        verifier=verifier,
    )


# -- modes ------------------------------------------------------------------------------


async def test_off_by_default_anonymous_visitors_connect_and_identities_are_refused(
    site: Site,
) -> None:
    assert (await site.settings.get(DEFAULT_TENANT)).mode is IdentityMode.OFF
    assert (await site.connect()).is_new
    with pytest.raises(IdentityRejected) as refused:
        await site.connect(identity="valid:u1")
    assert refused.value.code == "identity_disabled"


async def test_optional_takes_anonymous_visitors_and_refuses_a_bad_token(site: Site) -> None:
    await site.mode(IdentityMode.OPTIONAL)
    assert (await site.connect()).is_new
    with pytest.raises(IdentityRejected) as refused:
        await site.connect(identity="forged")
    assert (refused.value.code, refused.value.reason) == ("identity_invalid", "signature")


async def test_required_refuses_a_connect_without_identity(site: Site) -> None:
    await site.mode(IdentityMode.REQUIRED)
    with pytest.raises(IdentityRejected) as refused:
        await site.connect()
    assert refused.value.code == "identity_required"
    assert (await site.connect(identity="valid:u1")).is_new


async def test_claims_out_of_shape_refuse_the_token(site: Site) -> None:
    await site.mode(IdentityMode.OPTIONAL)
    site.verifier.claims = {"extra": {"plan": {"nested": True}}}
    with pytest.raises(IdentityRejected) as refused:
        await site.connect(identity="valid:u1")
    assert refused.value.reason == "claims"
    assert "extra.plan" in str(refused.value)
    site.verifier.claims = {"extra": {str(n): "x" for n in range(21)}}
    with pytest.raises(IdentityRejected, match="more than 20 fields"):
        await site.connect(identity="valid:u1")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (ConfigureIdentity(tenant_id=DEFAULT_TENANT, mode=IdentityMode.OPTIONAL), "audience"),
        (
            ConfigureIdentity(tenant_id=DEFAULT_TENANT, mode=IdentityMode.REQUIRED, audience="a"),
            "at least one key",
        ),
        (
            ConfigureIdentity(
                tenant_id=DEFAULT_TENANT,
                keys=[IdentityKey(kid=None, algorithm=KeyAlgorithm.HS256, material="short")],
            ),
            "at least 32 bytes",
        ),
        (
            ConfigureIdentity(
                tenant_id=DEFAULT_TENANT,
                keys=[IdentityKey(kid=None, algorithm=KeyAlgorithm.RS256, material="pem")],
            ),
            "needs a kid",
        ),
        (ConfigureIdentity(tenant_id=DEFAULT_TENANT, keys=[SECRET, SECRET]), "twice"),
    ],
)
async def test_bad_settings_are_refused_and_nothing_is_stored(
    site: Site, change: ConfigureIdentity, words: str
) -> None:
    with pytest.raises(InvalidInput, match=words):
        await site.settings.configure(change)
    assert (await site.settings.get(DEFAULT_TENANT)).updated_at is None


async def test_keys_are_added_replaced_by_kid_and_removed(site: Site) -> None:
    await site.mode(IdentityMode.OPTIONAL)
    rs = IdentityKey(kid="k1", algorithm=KeyAlgorithm.RS256, material="pem-1")
    await site.settings.configure(ConfigureIdentity(tenant_id=DEFAULT_TENANT, add_keys=[rs]))
    newer = IdentityKey(kid="k1", algorithm=KeyAlgorithm.ES256, material="pem-2")
    await site.settings.configure(ConfigureIdentity(tenant_id=DEFAULT_TENANT, add_keys=[newer]))
    stored = await site.settings.get(DEFAULT_TENANT)
    assert stored.keys == (SECRET, newer)
    assert stored.mode is IdentityMode.OPTIONAL  # what was not given stays
    await site.settings.configure(ConfigureIdentity(tenant_id=DEFAULT_TENANT, remove_kids=[None]))
    assert (await site.settings.get(DEFAULT_TENANT)).keys == (newer,)
    with pytest.raises(NotFound, match="no key 'k9'"):
        await site.settings.configure(
            ConfigureIdentity(tenant_id=DEFAULT_TENANT, remove_kids=["k9"])
        )
    with pytest.raises(NotFound):
        await site.settings.get(TenantId("nope"))


# -- which visitor ----------------------------------------------------------------------


async def test_an_anonymous_visitor_who_identifies_stays_the_same_visitor(site: Site) -> None:
    await site.mode(IdentityMode.OPTIONAL)
    anonymous = await site.connect()
    conversation = await site.world.services.conversations.start_conversation(
        c.StartConversation(visitor_id=anonymous.visitor.id)
    )
    identified = await site.connect(token=anonymous.visitor_token, identity="valid:u1")
    assert identified.visitor.id == anonymous.visitor.id
    assert identified.visitor_token == anonymous.visitor_token
    assert not identified.is_new
    assert [summary.id for summary in identified.conversations] == [conversation.id]
    assert identified.visitor.name == "Ada Lovelace"


async def test_the_same_sub_on_another_device_is_the_same_visitor_with_its_history(
    site: Site,
) -> None:
    await site.mode(IdentityMode.OPTIONAL)
    laptop = await site.connect(identity="valid:u1")
    conversation = await site.world.services.conversations.start_conversation(
        c.StartConversation(visitor_id=laptop.visitor.id)
    )
    phone_before = await site.connect()  # the phone was anonymous first
    phone = await site.connect(token=phone_before.visitor_token, identity="valid:u1")
    assert phone.visitor.id == laptop.visitor.id
    assert phone.visitor_token not in (laptop.visitor_token, phone_before.visitor_token)
    assert [summary.id for summary in phone.conversations] == [conversation.id]
    # The phone's new token brings it back, with or without a token from the laptop.
    again = await site.connect(token=phone.visitor_token, identity="valid:u1")
    assert (again.visitor.id, again.visitor_token) == (laptop.visitor.id, phone.visitor_token)
    fresh = await site.connect(identity="valid:u1")
    assert fresh.visitor.id == laptop.visitor.id
    assert not fresh.is_new


async def test_an_identified_visitors_token_without_its_identity_opens_a_new_visitor(
    site: Site,
) -> None:
    await site.mode(IdentityMode.OPTIONAL)
    identified = await site.connect(identity="valid:u1")
    after_logout = await site.connect(token=identified.visitor_token)
    assert after_logout.is_new
    assert after_logout.visitor.id != identified.visitor.id
    assert after_logout.conversations == []
    with pytest.raises(UnknownVisitor):  # so that the edge rate-limits the new visitor
        await site.connect(token=identified.visitor_token, create=False)


async def test_another_sub_while_a_chat_is_open_starts_a_new_session(site: Site) -> None:
    await site.mode(IdentityMode.OPTIONAL)
    first = await site.connect(identity="valid:u1")
    await site.world.services.conversations.start_conversation(
        c.StartConversation(visitor_id=first.visitor.id)
    )
    second = await site.connect(token=first.visitor_token, identity="valid:u2")
    assert second.visitor.id != first.visitor.id
    assert second.is_new
    assert second.conversations == []
    back = await site.connect(token=second.visitor_token, identity="valid:u1")
    assert back.visitor.id == first.visitor.id
    assert len(back.conversations) == 1


async def test_a_new_identity_is_not_created_when_the_edge_says_not_yet(site: Site) -> None:
    await site.mode(IdentityMode.OPTIONAL)
    with pytest.raises(UnknownVisitor):
        await site.connect(token="x" * 43, identity="valid:u1", create=False)
    assert (await site.connect(identity="valid:u1")).is_new


async def test_agents_and_the_api_see_the_verified_identity_and_its_latest_claims(
    site: Site,
) -> None:
    await site.mode(IdentityMode.OPTIONAL)
    session = await site.connect(identity="valid:u1")
    site.verifier.claims = {"email": "ada@example.org", "extra": {"plan": "pro", "seats": 3}}
    await site.connect(token=session.visitor_token, identity="valid:u1")
    transactions = Transactions(site.world.uow, site.world.services.publisher)
    found = await VisitorQueryService(transactions=transactions).get(
        DEFAULT_TENANT, session.visitor.id
    )
    assert found.identity is not None
    assert (found.identity.sub, found.identity.email) == ("u1", "ada@example.org")
    assert found.identity.extra == {"plan": "pro", "seats": "3"}
    anonymous = await site.connect()
    assert (
        await VisitorQueryService(transactions=transactions).get(
            DEFAULT_TENANT, anonymous.visitor.id
        )
    ).identity is None
