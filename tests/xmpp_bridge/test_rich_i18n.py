"""The words around rich messages in the tenant's language (``xmpp_bridge.i18n_rich``):
every language has them all, and an agent of a German tenant reads a list picker, a
carousel, the visitor's choice and a bot's options in German, the numbers unchanged."""

from __future__ import annotations

import dataclasses

from business.bot_model import QuickReply
from business.integrator_commands import PostIntegratorMessage
from business.languages import LANGUAGES
from business.model import DEFAULT_TENANT, Participant, ParticipantKind
from business.rich import choose, parse_rich
from business.rich_fallback import ENGLISH
from business.rich_replies import AnswerRichMessage
from tests.harness import World
from tests.xmpp_bridge.support import ALICE, harness
from xmpp_bridge.i18n_rich import CATALOGUES, rich_notices

BOT = Participant(kind=ParticipantKind.BOT, name="Ava")
PICKER = parse_rich(
    {
        "list_picker": {
            "title": "Extras",
            "multiple": True,
            "items": [{"id": "bag", "label": "Bag"}, {"id": "meal", "label": "Meal"}],
        }
    }
)
CAROUSEL = parse_rich(
    {
        "carousel": [
            {
                "title": "Rome",
                "image_url": "https://img.example/rome.jpg",
                "buttons": [{"label": "Book Rome", "payload": "rome"}],
            },
            {"title": "Oslo", "buttons": [{"label": "Book Oslo", "payload": "oslo"}]},
        ]
    }
)


def test_every_language_has_every_word_and_only_english_is_english() -> None:
    assert set(CATALOGUES) == set(LANGUAGES)
    assert rich_notices("en").words == ENGLISH
    assert rich_notices("xx") == rich_notices("en")
    for language, notices in CATALOGUES.items():
        if language == "en":
            continue
        # French writes "image" too; the words as a whole are the language's own.
        assert notices.words != ENGLISH, language
        assert all(getattr(notices.words, f.name) for f in dataclasses.fields(ENGLISH))
        assert "{name}" in notices.chose, language
        assert "{choices}" in notices.chose, language
        assert notices.chose.format(name="Vera", choices="2) Oslo") != "Vera chose: 2) Oslo"
        assert "{labels}" in (notices.options or ""), language


async def test_a_german_tenants_agent_reads_rich_messages_in_german(world: World) -> None:
    await world.services.widget_configs.put(DEFAULT_TENANT, {"language": "de"})
    h = harness(world)
    await world.add_agent(ALICE, ready=True)
    visitor = await world.visitor()
    conversation = await world.start(visitor, "Hallo")
    await h.bodies()  # the offer

    post = world.services.integrator_messages.post
    await post(
        PostIntegratorMessage(
            tenant_id=DEFAULT_TENANT,
            conversation_id=conversation.id,
            sender=BOT,
            client_msg_id="ava-1",
            text="Welche Extras?",
            rich=PICKER,
        )
    )
    await post(
        PostIntegratorMessage(
            tenant_id=DEFAULT_TENANT,
            conversation_id=conversation.id,
            sender=BOT,
            client_msg_id="ava-2",
            text="Wohin?",
            rich=CAROUSEL,
        )
    )
    await post(
        PostIntegratorMessage(
            tenant_id=DEFAULT_TENANT,
            conversation_id=conversation.id,
            sender=BOT,
            client_msg_id="ava-3",
            text="Noch etwas?",
            quick_replies=(QuickReply(id="no", label="Nein"),),
        )
    )
    picker_seq = world.conv(conversation.id).last_seq - 2
    await world.services.rich_replies.answer(
        AnswerRichMessage(
            visitor_id=visitor,
            conversation_id=conversation.id,
            client_msg_id="v-2",
            seq=picker_seq,
            payloads=["meal", "bag"],
        )
    )
    assert choose(PICKER, picker_seq, ["bag", "meal"])[1] == "Bag, Meal"

    assert await h.bodies() == [
        "[Bot Ava] Welche Extras?\n[Liste] Extras (beliebig viele wählen)\n  1) Bag\n  2) Meal",
        "[Bot Ava] Wohin?\n"
        "[Karte 1/2] Rome\n"
        "  Bild: https://img.example/rome.jpg\n"
        "  1) Book Rome\n"
        "[Karte 2/2] Oslo\n"
        "  2) Book Oslo",
        "[Bot Ava] Noch etwas? (Optionen: Nein)",
        "Vera hat gewählt: 1) Bag, 2) Meal",
    ]
