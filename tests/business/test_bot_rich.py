"""The rules bot's rich content: its greeting, a menu option's answer and a keyword answer
may carry ``rich`` (checked as any rich message is), sent instead of the menu; the
visitor's choice drives the bot by payload (a menu option's id chooses that option).
Runs on the fakes, SQLite and PostgreSQL (``bot_world``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from business import commands as c
from business.bot_config import bot_config_to_json, read_bot_config
from business.bot_model import BotConfig, BotFaq, BotMenuOption
from business.bot_ports import BotAction
from business.errors import InvalidInput
from business.events import MessagePosted
from business.model import ConversationState
from business.rich import parse_rich, rich_to_json
from business.rich_replies import AnswerRichMessage
from business.rules_bot import decide
from tests.business.bot_support import BOT_CONFIG, MENU, bot_messages, now, with_bot
from tests.harness import World

TOPICS = {
    "quick_replies": [
        {"label": "When are you open?", "payload": "hours"},
        {"label": "Returns", "payload": "returns"},
        {"label": "A person, please", "payload": "person"},
    ]
}
HOURS_CARD = {
    "card": {
        "title": "Opening hours",
        "text": "Mon-Fri 9-17",
        "buttons": [
            {"label": "Store finder", "url": "https://shop.example/stores"},
            {"label": "Talk to us", "payload": "person"},
        ],
    }
}
RETURNS_LIST = {
    "list_picker": {
        "title": "What to return?",
        "items": [{"id": "shoes", "label": "Shoes"}, {"id": "shirts", "label": "Shirts"}],
    }
}
RICH_CONFIG = dataclasses.replace(
    BOT_CONFIG,
    greeting_rich=parse_rich(TOPICS),
    menu=(
        BotMenuOption(
            id="hours",
            label="Opening hours",
            answer="We are open 9-17, Mon-Fri.",
            rich=parse_rich(HOURS_CARD),
        ),
        BotMenuOption(id="returns", label="Returns", answer="Returns are free."),
        BotMenuOption(id="person", label="Talk to a person", handover=True),
    ),
    faq=(
        BotFaq(
            keywords=("return", "refund"),
            answer="What would you like to return?",
            rich=parse_rich(RETURNS_LIST),
        ),
    ),
)


def test_rich_answers_are_read_checked_and_written_back() -> None:
    document = {
        "greeting_rich": TOPICS,
        "menu": [
            {"id": "hours", "label": "Opening hours", "answer": "9-17", "rich": HOURS_CARD},
            {"id": "person", "label": "Talk to a person", "handover": True},
        ],
        "faq": [{"keywords": ["return"], "answer": "What?", "rich": RETURNS_LIST}],
    }
    config = read_bot_config(document)
    assert config.greeting_rich == parse_rich(TOPICS)
    assert config.menu[0].rich == parse_rich(HOURS_CARD)
    assert config.menu[1].rich is None
    assert config.faq[0].rich == parse_rich(RETURNS_LIST)
    written = bot_config_to_json(config)
    assert written["greeting_rich"] == rich_to_json(parse_rich(TOPICS))
    assert "rich" not in written["menu"][1]
    assert read_bot_config(written) == config
    assert read_bot_config(bot_config_to_json(RICH_CONFIG)) == RICH_CONFIG
    assert bot_config_to_json(BotConfig())["greeting_rich"] is None


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ({"greeting_rich": {"buttons": []}}, "greeting_rich.buttons must not be empty"),
        ({"greeting_rich": "Pick one"}, "greeting_rich must be an object"),
        (
            {
                "menu": [
                    {
                        "id": "a",
                        "label": "A",
                        "answer": "x",
                        "rich": {"buttons": [{"label": "Go", "url": "http://x.example"}]},
                    }
                ]
            },
            "menu[0].rich.buttons[0].url must be an https:// address",
        ),
        (
            {"menu": [{"id": "p", "label": "P", "handover": True, "rich": TOPICS}]},
            "hands over: it has no answer",
        ),
        (
            {"faq": [{"keywords": ["x"], "answer": "y", "rich": {"card": {}, "buttons": []}}]},
            "faq[0].rich has exactly one of",
        ),
    ],
)
def test_wrong_rich_content_is_refused_naming_where(document: Any, complaint: str) -> None:
    with pytest.raises(InvalidInput, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        read_bot_config(document)


def test_a_payload_that_is_an_options_id_chooses_it_and_a_rich_answer_replaces_the_menu() -> None:
    # The labels the visitor's answer is stored with choose nothing by themselves.
    hours = decide(RICH_CONFIG, "When are you open?", misses_before=0, payloads=["hours"])
    assert (hours.action, hours.text) == (BotAction.ANSWER, "We are open 9-17, Mon-Fri.")
    assert (hours.rich, hours.quick_replies) == (parse_rich(HOURS_CARD), ())
    person = decide(RICH_CONFIG, "Talk to us", misses_before=0, payloads=["person"])
    assert person.action is BotAction.HANDOVER
    # Without the payload the same words are a miss; a payload that is no option's id
    # leaves the words to the usual rules.
    assert decide(RICH_CONFIG, "Talk to us", misses_before=0).action is BotAction.MISS
    shoes = decide(RICH_CONFIG, "Shoes", misses_before=0, payloads=["shoes"])
    assert shoes.action is BotAction.MISS
    # An answer without rich content of its own carries the menu, as ever.
    returns = decide(RICH_CONFIG, "x", misses_before=0, payloads=["returns"])
    assert (returns.text, returns.rich) == ("Returns are free.", None)
    assert [q.id for q in returns.quick_replies] == ["hours", "returns", "person"]


async def choose(world: World, conv_id: Any, message: MessagePosted, payload: str) -> None:
    visitor = (await world.conversations.get_conversation(conv_id)).visitor_id
    await world.services.rich_replies.answer(
        AnswerRichMessage(
            visitor_id=visitor,
            conversation_id=conv_id,
            client_msg_id=f"choice-{message.seq}",
            seq=message.seq,
            payloads=[payload],
        )
    )
    await world.services.bots.settled()  # the bot answers after the ack


async def test_the_visitor_drives_the_bot_through_its_rich_choices(bot_world: World) -> None:
    await with_bot(bot_world, RICH_CONFIG)
    conv = await bot_world.start(await bot_world.visitor(), text="hi")
    (greeting,) = bot_messages(bot_world, conv)
    assert greeting.rich == parse_rich(TOPICS)
    assert greeting.quick_replies == ()

    await choose(bot_world, conv.id, greeting, "hours")
    answered = bot_messages(bot_world, conv)[-1]
    assert answered.text == "We are open 9-17, Mon-Fri."
    assert answered.rich == parse_rich(HOURS_CARD)
    assert (await now(bot_world, conv)).bot_misses == 0

    await bot_world.visitor_says(conv.visitor_id, conv.id, "I want to return something")
    listed = bot_messages(bot_world, conv)[-1]
    assert listed.rich == parse_rich(RETURNS_LIST)

    # The card's "Talk to us" button hands over: its payload is the option's id.
    await choose(bot_world, conv.id, answered, "person")
    after = await now(bot_world, conv)
    assert after.state is ConversationState.QUEUED
    assert bot_messages(bot_world, conv)[-1].text == RICH_CONFIG.handover_text


async def test_a_plain_menu_bot_is_unchanged(bot_world: World) -> None:
    conv = await bot_world.start(await bot_world.visitor(), text="hi")
    (greeting,) = bot_messages(bot_world, conv)
    assert (greeting.rich, greeting.quick_replies) == (None, MENU)
    await bot_world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=conv.visitor_id, conversation_id=conv.id)
    )
