"""Rich messages end to end without a browser: an integrator sends one through the REST
API, the visitor's socket gets it, the visitor answers with a choice (checked against
what was offered) and the answer is stored with its payload, as the chosen label."""

from __future__ import annotations

from business.events import MessagePosted
from business.model import ConversationId, ParticipantKind
from tests.harness import World
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys
from tests.presentation.conftest import ready_agent
from tests.visitor_client import Visitor

HELPER = {"kind": "bot", "name": "Helper"}
PICKER = {
    "list_picker": {
        "title": "Extras",
        "multiple": True,
        "items": [{"id": "bag", "label": "Extra bag"}, {"id": "meal", "label": "Meal"}],
    }
}


async def test_a_rich_message_goes_out_and_the_visitors_choice_comes_back(
    api: ApiClient, keys: Keys, world: World, visitor: Visitor
) -> None:
    await ready_agent(world)
    conversation_id = await visitor.start("Any extras?")
    await visitor.drain()
    path = f"/conversations/{conversation_id}/messages"
    body = {"client_msg_id": "r-1", "sender": HELPER, "text": "", "rich": PICKER}
    sent = await api.post(path, keys.bot, body)
    assert sent.status == 201, sent.body
    assert sent.body["rich"] == PICKER
    event = await visitor.event_of_type("message")
    assert event["rich"] == PICKER
    assert event["text"] == ""
    seq = event["seq"]

    base = {"conversation_id": conversation_id, "client_msg_id": "v-1"}
    for reply_to, error in [
        ({"seq": seq, "payload": "wine"}, "'wine' is not offered"),
        ({"seq": seq - 1, "payload": "bag"}, "is no rich message"),
        ({"seq": seq, "payload": 3}, "reply_to.payload must be a string"),
        ({"payload": "bag"}, "reply_to.seq is required"),
    ]:
        ack = await visitor.call("message.send", {**base, "reply_to": reply_to})
        assert ack["ok"] is False, ack
        assert ack["error"]["code"] == "invalid_input"
        assert error in ack["error"]["message"]

    answer = {**base, "reply_to": {"seq": seq, "payload": ["meal", "bag"]}}
    ack = await visitor.ok("message.send", answer)
    again = await visitor.ok("message.send", answer)  # a retry: stored once
    assert again["message"] == ack["message"]
    mine = await visitor.event_of_type("message")
    assert mine["client_msg_id"] == "v-1"
    assert mine["text"] == "Extra bag, Meal"
    assert mine["reply_to"] == {"seq": seq, "payloads": ["bag", "meal"]}

    stored = [
        e
        for e in await world.history.history(ConversationId(conversation_id))
        if isinstance(e, MessagePosted)
    ]
    answers = [e for e in stored if e.reply_to is not None]
    assert len(answers) == 1
    assert answers[0].sender.kind is ParticipantKind.VISITOR
    assert answers[0].reply_to is not None
    assert answers[0].reply_to.numbers == (1, 2)
    offered = [e for e in stored if e.rich is not None]
    assert [e.client_msg_id for e in offered] == ["r-1"]

    # The integrator's view of the conversation has both, as sent and as chosen.
    events = await api.get(f"/conversations/{conversation_id}/events", keys.read)
    messages = [e for e in events.body["items"] if e["type"] == "message"]
    assert messages[-2]["rich"] == PICKER
    assert messages[-1]["reply_to"] == {"seq": seq, "payloads": ["bag", "meal"], "numbers": [1, 2]}


async def test_rich_content_that_cannot_be_is_refused_naming_where(
    api: ApiClient, keys: Keys, world: World, visitor: Visitor
) -> None:
    await ready_agent(world)
    conversation_id = await visitor.start("Hello")
    path = f"/conversations/{conversation_id}/messages"
    card = {"card": {"title": "Rome", "image_url": "http://img.example/rome.jpg"}}
    body = {"client_msg_id": "r-2", "sender": HELPER, "text": "Look", "rich": card}
    reply = await api.post(path, keys.bot, body)
    assert "rich.card.image_url must be an https:// address" in reply.problem(400, "invalid_input")
    both = {
        **body,
        "rich": {"quick_replies": [{"label": "Yes", "payload": "y"}]},
        "quick_replies": [{"id": "y", "label": "Yes"}],
    }
    reply = await api.post(path, keys.bot, both)
    assert "not both" in reply.problem(400, "invalid_input")
    # The system may send rich content too (only quick_replies are a bot's alone).
    system = {
        **body,
        "sender": {"kind": "system", "name": "Shop"},
        "rich": {"quick_replies": [{"label": "Yes", "payload": "y"}]},
    }
    reply = await api.post(path, keys.bot, system)
    assert reply.status == 201, reply.body
