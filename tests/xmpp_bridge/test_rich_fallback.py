"""Rich messages at the agent desk: an XMPP agent reads a card, carousel or list as
numbered plain lines, and the visitor's choice by the same number and its label."""

from __future__ import annotations

from business.events import MessagePosted
from business.model import Participant, ParticipantKind
from business.rich import choose, parse_rich
from tests.xmpp_bridge import support
from tests.xmpp_bridge.support import body_of
from xmpp_bridge.converters import custom_to_stanza
from xmpp_bridge.custom import ConversationUpdate

RICH = parse_rich(
    {
        "card": {
            "title": "Rome",
            "text": "3 nights",
            "buttons": [
                {"label": "Book it", "payload": "book"},
                {"label": "Details", "url": "https://shop.example/rome"},
                {"label": "Something else", "payload": "other"},
            ],
        }
    }
)


def _relayed(event: MessagePosted) -> str:
    conversation = support.make_conversation(last_seq=7, last_pos=7)
    [stanza] = custom_to_stanza(
        ConversationUpdate(conversation=conversation, to=support.ALICE_JID, event=event),
        support.ADDRESSING,
    )
    body = body_of(stanza)
    assert body is not None
    return body


def test_a_bots_card_reaches_the_agent_as_numbered_lines() -> None:
    helper = Participant(kind=ParticipantKind.BOT, name="Helper")
    event = support.posted(6, "Where to?", helper, rich=RICH)
    assert _relayed(event) == (
        "[Bot Helper] Where to?\n"
        "[card] Rome — 3 nights\n"
        "  1) Book it\n"
        "  Details <https://shop.example/rome>\n"
        "  2) Something else"
    )


def test_the_visitors_choice_reaches_the_agent_by_its_number() -> None:
    reply, text = choose(RICH, 6, ["other"])
    event = support.posted(7, text, reply_to=reply)
    assert _relayed(event) == "Vera chose: 2) Something else"
