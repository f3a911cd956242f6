"""The rules bot's decisions and the bot configuration document: what a visitor gets for
what they write, and what an administrator may configure."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from business.bot_config import bot_config_to_json, check_quick_replies, read_bot_config
from business.bot_model import BotConfig, BotFaq, BotMenuOption, QuickReply
from business.bot_ports import BotAction, BotReply
from business.errors import InvalidInput
from business.rules_bot import decide

CONFIG = BotConfig(
    name="Ava",
    greeting="Hi, I'm Ava.",
    menu=(
        BotMenuOption(id="hours", label="Opening hours", answer="We are open 9-17."),
        BotMenuOption(id="person", label="Talk to a person", handover=True),
    ),
    faq=(
        BotFaq(keywords=("refund", "money back"), answer="Refunds take five days."),
        BotFaq(keywords=("c++",), answer="We do not write C++."),
    ),
    handover_keywords=("agent", "human being"),
    handover_after_misses=2,
    miss_text="Sorry?",
    handover_text="Connecting you.",
)
MENU = (
    QuickReply(id="hours", label="Opening hours"),
    QuickReply(id="person", label="Talk to a person"),
)


def answer(text: str) -> BotReply:
    return BotReply(action=BotAction.ANSWER, text=text, quick_replies=MENU)


HANDOVER = BotReply(action=BotAction.HANDOVER, text="Connecting you.")
MISS = BotReply(action=BotAction.MISS, text="Sorry?", quick_replies=MENU)


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("Opening hours", answer("We are open 9-17.")),  # a click sends the label
        ("  opening   HOURS? ", answer("We are open 9-17.")),
        ("hours", answer("We are open 9-17.")),  # the id
        ("Talk to a person", HANDOVER),
        ("person", HANDOVER),
        ("Can I talk to an agent please", HANDOVER),
        ("a HUMAN   being, please", HANDOVER),
        ("I want my money back, or an agent", HANDOVER),  # a person wins over an answer
        ("How do I get a refund?", answer("Refunds take five days.")),
        ("give me my Money Back!", answer("Refunds take five days.")),
        ("do you do c++?", answer("We do not write C++.")),
        ("What is on the agenda?", MISS),  # "agent" is a whole word, not a part of one
        ("refunding", MISS),
        ("human", MISS),  # only the whole phrase "human being"
        ("Opening hours and more", MISS),  # an option is chosen by its whole label
    ],
)
def test_what_the_visitor_gets_for_what_they_write(said: str, expected: BotReply) -> None:
    assert decide(CONFIG, said, misses_before=0) == expected


def test_misses_in_a_row_hand_over_at_the_configured_count() -> None:
    assert decide(CONFIG, "blah", misses_before=0) == MISS
    assert decide(CONFIG, "blah", misses_before=1) == HANDOVER
    three = dataclasses.replace(CONFIG, handover_after_misses=3)
    assert decide(three, "blah", misses_before=1).action is BotAction.MISS
    assert decide(three, "blah", misses_before=2).action is BotAction.HANDOVER
    never = dataclasses.replace(CONFIG, handover_after_misses=0)
    assert decide(never, "blah", misses_before=50) == MISS
    # An answer is an answer whatever the count.
    assert decide(CONFIG, "refund", misses_before=1) == answer("Refunds take five days.")


def test_the_default_configuration_hands_over_on_its_menu_and_on_asking_for_a_person() -> None:
    default = BotConfig()
    assert [q.label for q in default.quick_replies] == ["Talk to a person"]
    assert decide(default, "Talk to a person", misses_before=0).action is BotAction.HANDOVER
    assert decide(default, "is someone there?", misses_before=0).action is BotAction.HANDOVER
    assert decide(default, "what?", misses_before=0).action is BotAction.MISS


# -- the configuration document ----------------------------------------------------------


def test_an_empty_document_is_the_default_bot_and_every_document_reads_back() -> None:
    assert read_bot_config({}) == BotConfig()
    for config in (BotConfig(), CONFIG):
        document = bot_config_to_json(config)
        assert read_bot_config(document) == config
    document = bot_config_to_json(CONFIG)
    assert document["menu"][1] == {"id": "person", "label": "Talk to a person", "handover": True}
    assert document["faq"][0] == {
        "keywords": ["refund", "money back"],
        "answer": CONFIG.faq[0].answer,
    }


def test_keywords_are_kept_folded_and_once() -> None:
    config = read_bot_config(
        {
            "handover_keywords": ["Agent", "AGENT", "Real  Person"],
            "faq": [{"keywords": ["Refund"], "answer": "x"}],
        }
    )
    assert config.handover_keywords == ("agent", "real person")
    assert config.faq[0].keywords == ("refund",)


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ([], "must be an object"),
        ({"handover_keyword": ["agent"]}, "unknown bot setting 'handover_keyword'"),
        ({"kind": "gpt"}, "bot kind must be one of rules"),
        ({"name": ""}, "bot name must not be empty"),
        ({"greeting": 3}, "greeting must be text"),
        ({"greeting": "x" * 2001}, "at most 2000 characters"),
        ({"greeting": "a\x00b"}, "NUL"),
        ({"menu": {"id": "x"}}, "menu must be a list"),
        ({"menu": [{"label": "Hours", "answer": "9-5"}]}, "menu option 1 needs an id"),
        ({"menu": [{"id": "Hours", "label": "Hours", "answer": "9-5"}]}, "needs an id"),
        ({"menu": [{"id": "h", "label": "Hours"}]}, "the answer of menu option 1"),
        (
            {"menu": [{"id": "p", "label": "Person", "handover": True, "answer": "x"}]},
            "hands over: it has no answer",
        ),
        ({"menu": [{"id": "p", "label": "P", "handover": "yes"}]}, "true or false"),
        (
            {
                "menu": [
                    {"id": "a", "label": "Hours", "answer": "x"},
                    {"id": "b", "label": "hours", "answer": "y"},
                ]
            },
            "menu option 2: another option has the id or label 'hours'",
        ),
        ({"menu": [{"id": "a", "label": "A", "answer": "x", "url": "y"}]}, "unknown field 'url'"),
        (
            {"menu": [{"id": f"o{i}", "label": f"O{i}", "answer": "x"} for i in range(11)]},
            "at most 10",
        ),
        ({"faq": [{"keywords": [], "answer": "x"}]}, "at least one keyword"),
        ({"faq": [{"keywords": ["x"]}]}, "the answer of faq entry 1"),
        ({"handover_keywords": "agent"}, "handover_keywords must be a list"),
        ({"handover_after_misses": 21}, "0 (never) to 20"),
        ({"handover_after_misses": True}, "whole number"),
    ],
)
def test_a_wrong_document_is_refused_naming_what_is_wrong(document: Any, complaint: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        read_bot_config(document)
    assert complaint in str(refused.value)


def test_an_option_whose_id_is_its_label_lowercased_is_taken() -> None:
    config = read_bot_config(
        {
            "menu": [
                {"id": "hours", "label": "Hours", "answer": "9-5"},
                {"id": "person", "label": "PERSON", "handover": True},
            ]
        }
    )
    assert [(o.id, o.label) for o in config.menu] == [("hours", "Hours"), ("person", "PERSON")]
    assert decide(config, "hours", misses_before=0).text == "9-5"
    buttons = check_quick_replies([QuickReply(id="track", label="Track")])
    assert buttons == (QuickReply(id="track", label="Track"),)


def test_an_id_that_is_another_options_label_is_still_refused() -> None:
    with pytest.raises(InvalidInput, match="another option has the id or label 'hours'"):
        check_quick_replies(
            [QuickReply(id="a", label="Hours"), QuickReply(id="hours", label="Opening")]
        )
