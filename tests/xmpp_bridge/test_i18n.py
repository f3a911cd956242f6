"""Agents' notices in the tenant's language (``xmpp_bridge.i18n``): the catalogues, the
cached language per tenant, and a chat whose offer and notices an agent reads in German."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from business import commands as c
from business.errors import NotFound
from business.languages import LANGUAGES
from business.model import DEFAULT_TENANT, TenantId, VisitorContext
from business.visit import ChainStep, PageView, StartedBy
from business.widget_config import WidgetConfig, default_config
from tests.harness import World
from tests.xmpp_bridge.support import ALICE, harness
from xmpp_bridge import texts, texts_visitor
from xmpp_bridge.i18n import CATALOGUES, TenantLanguages, notices_for

_FIELD = re.compile(r"\{(\w+)\}")
_VIEW = PageView(url="https://shop.example/", title="Home", at=datetime(2026, 11, 26, tzinfo=UTC))


def _every_notice(language: str) -> list[str]:
    say = notices_for(language)
    said = [
        say.offer_header("Vera", "support", "5 s", new=True, channel=None),
        say.offer_header("Vera", "support", "5 s", new=False, channel=None),
        say.offer_page("Pricing", "https://shop.example/pricing"),
        say.offer_referrer("https://search.example"),
        say.offer_more_fields(3),
        say.offer_earlier_messages(2),
        say.offer_no_messages,
        say.offer_footer(30),
        say.offer_taken_footer,
        say.joined("Sam"),
        say.member_joined("Sam", "consultant"),
        say.left("Vera"),
        say.chat_ended,
        say.chat_returned,
        say.transferred("Alice", "Bob", None),
        say.transferred("Alice", None, "sales"),
        say.visitor_moved("Checkout", "https://shop.example/checkout"),
        say.offline_offer_header(
            "Vera", "support", datetime(2026, 11, 26, 9, 30, tzinfo=UTC), "v@x.example"
        ),
        say.offline_offer_header(
            "Vera", "support", datetime(2026, 11, 26, 9, 30, tzinfo=UTC), None
        ),
        say.visit_summary(VisitorContext(visit_count=1, time_on_site=65, pages=(_VIEW, _VIEW))),
        say.visit_summary(VisitorContext(visit_count=3)),
        say.started_by(StartedBy(chain=ChainStep.TRIGGERS, trigger="welcome")),
        say.started_by(StartedBy(chain=ChainStep.TRIGGERS)),
        say.started_by(StartedBy(chain=ChainStep.EMBEDDED)),
        say.started_by(StartedBy(chain=ChainStep.CONTINUATION)),
        say.started_by(StartedBy(chain=ChainStep.MESSAGING)),
        say.visitor_identified((("name", "Vera"), ("email", "v@x.example"), ("plan", "pro"))),
    ]
    assert None not in said
    return [line or "" for line in said]


def test_every_language_has_every_notice_with_the_same_placeholders() -> None:
    assert set(CATALOGUES) == set(LANGUAGES) - {"en"}
    reference = CATALOGUES["de"]
    for language, catalogue in CATALOGUES.items():
        assert set(catalogue) == set(reference), language
        for key, template in catalogue.items():
            assert set(_FIELD.findall(template)) == set(_FIELD.findall(reference[key])), (
                language,
                key,
            )
    english = _every_notice("en")
    for language in CATALOGUES:
        translated = _every_notice(language)
        # Nothing left in English, nothing left unfilled, the values all shown.
        assert all(t != e for t, e in zip(translated, english, strict=True)), language
        assert not any("{" in line for line in translated), language
        assert "Vera" in translated[0]
        assert "support" in translated[0]
        assert "Bob" in translated[14]
        assert "sales" in translated[15]
        assert "v@x.example" in translated[17]
        assert "2026-11-26 09:30 UTC" in translated[17]
        assert "3" in translated[20]
        assert "welcome" in translated[21]
        assert all(value in translated[-1] for value in ("Vera", "v@x.example", "plan: pro"))


def test_english_is_the_bridges_own_texts_and_an_unknown_language_falls_back() -> None:
    assert _every_notice("en")[0] == texts_visitor.offer_header(
        "Vera", "support", "5 s", new=True, channel=None
    )
    assert notices_for("en").chat_ended == texts.CHAT_ENDED
    assert notices_for("xx").left("Vera") == texts.left("Vera")
    # An API channel's offer names its provider; that header stays English.
    assert notices_for("de").offer_header(
        "Vera", "support", "5 s", new=True, channel="WhatsApp"
    ) == texts_visitor.offer_header("Vera", "support", "5 s", new=True, channel="WhatsApp")


async def test_the_language_is_read_once_per_tenant_until_the_configuration_changes() -> None:
    reads: list[TenantId] = []
    languages = {TenantId("acme"): "fr", TenantId("auto"): "auto"}

    async def read(tenant: TenantId) -> WidgetConfig:
        reads.append(tenant)
        if tenant == "gone":
            raise NotFound("unknown tenant")
        doc = {**default_config(tenant).document, "language": languages.get(tenant, "auto")}
        return WidgetConfig(tenant_id=tenant, document=doc, updated_at=datetime.now(UTC))

    cache = TenantLanguages(read, maxsize=2)
    acme = TenantId("acme")
    assert cache.cached(acme) is None
    assert await cache.load(acme) == "fr"
    assert await cache.load(acme) == "fr"
    assert cache.cached(acme) == "fr"
    assert reads == [acme]
    languages[acme] = "es"
    cache.forget(acme)  # what the widget configuration's on_change calls
    assert await cache.load(acme) == "es"
    assert reads == [acme, acme]
    # "auto" follows each visitor's browser; an agent gets English, as for no tenant.
    assert await cache.load(TenantId("auto")) == "en"
    assert await cache.load(TenantId("gone")) == "en"
    assert len(cache._cache) <= 2  # bounded


async def test_an_agent_reads_the_offer_and_the_notices_in_the_tenants_language(
    world: World,
) -> None:
    await world.services.widget_configs.put(DEFAULT_TENANT, {"language": "de"})
    h = harness(world)
    await world.add_agent(ALICE, ready=True)
    visitor = await world.visitor()
    conversation = await world.start(visitor, "Hallo")
    [offer, *_] = await h.bodies()
    assert offer.startswith("Neuer Chat von Vera (Warteschlange support, gewartet ")
    assert "Dieser Chat gehört Ihnen" in offer  # auto-accepted

    await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=visitor, conversation_id=conversation.id)
    )
    assert await h.bodies() == [
        "Vera hat den Chat verlassen.",
        "Dieser Chat ist beendet; Nachrichten von hier erreichen niemanden mehr.",
    ]

    # Changed in this process: the next chat's notices follow at once.
    await world.services.widget_configs.put(DEFAULT_TENANT, {"language": "auto"})
    await world.start(await world.visitor(), "Hello")
    [offer, *_] = await h.bodies()
    assert offer.startswith("New chat from Vera (queue support, waited ")
