"""``business.rich`` and ``business.rich_fallback``: what a rich message may be (errors
name the path), its JSON form, the choices it offers and how a visitor's answer is
checked against them, and the text an XMPP agent reads."""

from __future__ import annotations

import pytest

from business.errors import InvalidInput
from business.rich import (
    MAX_CARDS,
    choices,
    choose,
    parse_rich,
    reply_from_json,
    reply_to_json,
    rich_to_json,
)
from business.rich_fallback import fallback_text, reply_text

CAROUSEL = {
    "carousel": [
        {
            "title": "Rome",
            "text": "3 nights",
            "image_url": "https://img.example/rome.jpg",
            "image_alt": "The Colosseum",
            "buttons": [
                {"label": "Book Rome", "payload": "book-rome"},
                {"label": "Details", "url": "https://shop.example/rome"},
            ],
        },
        {"title": "Oslo", "buttons": [{"label": "Book Oslo", "payload": "book-oslo"}]},
    ]
}
PICKER = {
    "list_picker": {
        "title": "Extras",
        "multiple": True,
        "items": [
            {"id": "bag", "label": "Extra bag", "description": "23 kg"},
            {"id": "seat", "label": "Seat choice"},
            {"id": "meal", "label": "Meal"},
        ],
    }
}


def test_every_kind_reads_and_writes_back_the_same() -> None:
    kinds = [
        {"quick_replies": [{"label": "Yes", "payload": "y"}, {"label": "No", "payload": "n"}]},
        {
            "buttons": [
                {"label": "Track", "payload": "t"},
                {"label": "FAQ", "url": "https://x.example/faq"},
            ]
        },
        {
            "card": {
                "title": "Order 42",
                "text": "Shipped",
                "image_url": "https://x.example/a.png",
                "image_alt": "Box",
            }
        },
        CAROUSEL,
        PICKER,
    ]
    for value in kinds:
        assert rich_to_json(parse_rich(value)) == value
    # An image without its description takes the title as its alternative text.
    card = parse_rich({"card": {"title": "Box", "image_url": "https://x.example/b.png"}})
    assert rich_to_json(card) == {
        "card": {"title": "Box", "image_url": "https://x.example/b.png", "image_alt": "Box"}
    }


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("card", "rich must be an object"),
        ({}, "rich has exactly one of quick_replies, buttons, card, carousel, list_picker"),
        ({"card": {"title": "A"}, "buttons": []}, "rich has exactly one of"),
        ({"cards": []}, "rich.cards is not a field of it"),
        ({"quick_replies": []}, "rich.quick_replies must not be empty"),
        (
            {"quick_replies": [{"label": "Go", "url": "https://x.example"}]},
            "rich.quick_replies[0].url is not a field",
        ),
        ({"buttons": [{"label": "Go"}]}, "rich.buttons[0].payload is required"),
        ({"buttons": [{"label": " ", "payload": "p"}]}, "rich.buttons[0].label must not be empty"),
        (
            {"buttons": [{"label": "a\nb", "payload": "p"}]},
            "rich.buttons[0].label must not contain control",
        ),
        (
            {"buttons": [{"label": "x" * 81, "payload": "p"}]},
            "rich.buttons[0].label is longer than 80",
        ),
        (
            {"buttons": [{"label": "Go", "payload": "p", "url": "https://x.example"}]},
            "payload or a url, not both",
        ),
        (
            {"buttons": [{"label": "Go", "url": "http://x.example"}]},
            "rich.buttons[0].url must be an https:// address",
        ),
        (
            {"buttons": [{"label": "Go", "url": "javascript:alert(1)"}]},
            "must be an https:// address",
        ),
        (
            {"buttons": [{"label": "Go", "url": "https://user@x.example/"}]},
            "must be an https:// address",
        ),
        ({"carousel": [CAROUSEL["carousel"][0]] * 2}, "payload 'book-rome' is offered twice"),
        (
            {"carousel": [{"title": "A"}] * (MAX_CARDS + 1)},
            "rich.carousel has at most 10 entries, not 11",
        ),
        (
            {"carousel": [{"title": "A", "image_url": "http://x.example/a.png"}]},
            "rich.carousel[0].image_url must be an https://",
        ),
        (
            {
                "card": {
                    "title": "A",
                    "buttons": [{"label": "b", "payload": str(i)} for i in range(4)],
                }
            },
            "rich.card.buttons has at most 3",
        ),
        (
            {"list_picker": {"title": "T", "items": [{"id": "a"}]}},
            "rich.list_picker.items[0].label is required",
        ),
        (
            {
                "list_picker": {
                    "title": "T",
                    "multiple": "yes",
                    "items": [{"id": "a", "label": "A"}],
                }
            },
            "rich.list_picker.multiple must be true or false",
        ),
    ],
)
def test_what_cannot_be_is_refused_naming_where(value: object, error: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_rich(value)
    assert error in str(refused.value)


def test_choices_are_numbered_in_the_order_shown_and_links_are_none() -> None:
    rich = parse_rich(CAROUSEL)
    assert [(c.number, c.payload, c.label) for c in choices(rich)] == [
        (1, "book-rome", "Book Rome"),
        (2, "book-oslo", "Book Oslo"),
    ]


def test_an_answer_must_be_one_of_the_offered_choices() -> None:
    carousel = parse_rich(CAROUSEL)
    reply, text = choose(carousel, 4, ["book-oslo"])
    assert text == "Book Oslo"
    assert (reply.seq, reply.payloads, reply.numbers) == (4, ("book-oslo",), (2,))
    assert reply_from_json(reply_to_json(reply)) == reply
    for payloads, error in [
        (["paris"], "'paris' is not offered by message 4"),
        (["https://shop.example/rome"], "is not offered"),  # a link is no choice
        ([], "must name a choice"),
        (["book-rome", "book-oslo"], "this message takes one choice"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            choose(carousel, 4, payloads)
        assert error in str(refused.value)
    picker = parse_rich(PICKER)
    reply, text = choose(picker, 9, ["meal", "bag"])
    assert text == "Extra bag, Meal"  # in the order shown
    assert reply.numbers == (1, 3)
    with pytest.raises(InvalidInput, match="twice"):
        choose(picker, 9, ["bag", "bag"])


def test_an_xmpp_agent_reads_numbered_choices_and_the_answer_by_its_number() -> None:
    assert fallback_text(parse_rich(CAROUSEL)) == (
        "[card 1/2] Rome — 3 nights\n"
        "  image: https://img.example/rome.jpg\n"
        "  1) Book Rome\n"
        "  Details <https://shop.example/rome>\n"
        "[card 2/2] Oslo\n"
        "  2) Book Oslo"
    )
    assert fallback_text(parse_rich(PICKER)) == (
        "[list] Extras (pick any)\n  1) Extra bag — 23 kg\n  2) Seat choice\n  3) Meal"
    )
    reply, _ = choose(parse_rich(PICKER), 9, ["seat", "meal"])
    assert reply_text(reply) == "2) Seat choice, 3) Meal"
