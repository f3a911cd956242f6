"""A queue's bot over the REST API: read, set, replace and remove it, through the use
case and the configuration reader the CLI's ``queue set --bot-config`` uses."""

from __future__ import annotations

from typing import Any

from business.bot_config import bot_config_to_json
from business.bot_model import DEFAULT_GREETING, BotConfig
from business.model import DEFAULT_TENANT, ConversationState, QueueName
from tests.harness import World
from tests.presentation.api.chats import waiting_chat
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys

AVA: dict[str, Any] = {
    "name": "Ava",
    "greeting": "Hi, I'm Ava.",
    "menu": [
        {"id": "hours", "label": "Opening hours", "answer": "9-17, Monday to Friday."},
        {"id": "person", "label": "Talk to a person", "handover": True},
    ],
    "faq": [{"keywords": ["refund"], "answer": "Within five days."}],
    "handover_after_misses": 3,
}


async def _stored_bot(world: World, queue: str = "support") -> BotConfig | None:
    found = await world.services.queue_settings.get(DEFAULT_TENANT, QueueName(queue))
    assert found is not None
    return found.bot


async def test_set_read_replace_and_remove_a_bot(api: ApiClient, keys: Keys, world: World) -> None:
    reply = await api.patch("/queues/support", keys.admin, {"bot": AVA})
    assert reply.status == 200, reply.body
    bot = reply.body["bot"]
    stored = await _stored_bot(world)
    assert stored is not None
    # Every setting written out, as the CLI's `queue bot` prints it.
    assert bot == bot_config_to_json(stored) | {
        "menu": [
            {
                "id": "hours",
                "label": "Opening hours",
                "answer": "9-17, Monday to Friday.",
                "handover": False,
                "rich": None,
            },
            {
                "id": "person",
                "label": "Talk to a person",
                "answer": None,
                "handover": True,
                "rich": None,
            },
        ],
        "faq": [{"keywords": ["refund"], "answer": "Within five days.", "rich": None}],
    }
    assert bot["name"] == "Ava"
    assert bot["handover_after_misses"] == 3
    assert (await api.get("/queues/support", keys.read)).body["bot"] == bot

    # What a GET shows can be sent back as it is.
    again = await api.patch("/queues/support", keys.admin, {"bot": bot})
    assert again.status == 200, again.body
    assert again.body["bot"] == bot

    # A new configuration replaces the whole of the old one.
    replaced = await api.patch("/queues/support", keys.admin, {"bot": {"kind": "rules"}})
    assert replaced.body["bot"]["name"] == "Assistant"
    assert replaced.body["bot"]["greeting"] == DEFAULT_GREETING
    assert await _stored_bot(world) == BotConfig()

    # Other settings leave the bot alone; null removes it.
    kept = await api.patch("/queues/support", keys.admin, {"offer_timeout": 30})
    assert kept.body["bot"] == replaced.body["bot"]
    external = await api.patch("/queues/support", keys.admin, {"bot": {"kind": "external"}})
    assert external.body["bot"]["kind"] == "external"
    removed = await api.patch("/queues/support", keys.admin, {"bot": None})
    assert removed.body["bot"] is None
    assert await _stored_bot(world) is None


async def test_a_new_queue_with_a_bot_starts_its_chats_with_it(
    api: ApiClient, keys: Keys, world: World
) -> None:
    reply = await api.post("/queues", keys.admin, {"name": "shop", "bot": {"name": "Sam"}})
    assert reply.status == 201, reply.body
    assert reply.body["bot"]["name"] == "Sam"
    plain = await api.post("/queues", keys.admin, {"name": "plain"})
    assert plain.body["bot"] is None
    await api.patch("/queues/support", keys.admin, {"bot": {"name": "Sam"}})
    conv = await waiting_chat(world, DEFAULT_TENANT)
    assert conv.state is ConversationState.BOT


async def test_configurations_the_reader_refuses_are_400_in_its_words(
    api: ApiClient, keys: Keys, world: World
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"menu": [{"id": "a", "label": "Same"}, {"id": "b", "label": "same"}]}, "answer"),
        (
            {
                "menu": [
                    {"id": "a", "label": "Same", "answer": "x"},
                    {"id": "b", "label": "same", "answer": "y"},
                ]
            },
            "another option",
        ),
        ({"menu": [{"id": "a", "label": "A", "answer": "x", "handover": True}]}, "no answer"),
        ({"greeting": "   "}, "must not be empty"),
        ({"faq": [{"keywords": [" "], "answer": "x"}]}, "must not be empty"),
    ]
    for bot, words in cases:
        reply = await api.patch("/queues/support", keys.admin, {"bot": bot})
        assert words in reply.problem(400, "invalid_input"), bot
    for bot in (
        {"colour": "red"},
        {"kind": "gpt"},
        {"handover_after_misses": 21},
        {"menu": [{"id": "Not An Id", "label": "x", "answer": "y"}]},
        {"faq": [{"keywords": [], "answer": "x"}]},
        {"menu": [{"id": f"o{n}", "label": f"O{n}", "answer": "x"} for n in range(11)]},
    ):
        reply = await api.patch("/queues/support", keys.admin, {"bot": bot})
        reply.problem(400, "invalid_input")
        assert reply.body["errors"][0]["field"].startswith("bot"), bot
    assert await _stored_bot(world) is None
    reply = await api.patch("/queues/support", keys.read, {"bot": AVA})
    reply.problem(403, "forbidden")


async def test_rich_answers_are_set_read_and_refused_where_wrong(
    api: ApiClient, keys: Keys, world: World
) -> None:
    card = {"card": {"title": "Hours", "buttons": [{"label": "Talk to us", "payload": "person"}]}}
    topics = {"quick_replies": [{"label": "Hours", "payload": "hours"}]}
    bot = dict(AVA, greeting_rich=topics)
    bot["menu"] = [dict(AVA["menu"][0], rich=card), AVA["menu"][1]]
    bot["faq"] = [dict(AVA["faq"][0], rich=topics)]
    reply = await api.patch("/queues/support", keys.admin, {"bot": bot})
    assert reply.status == 200, reply.body
    shown = reply.body["bot"]
    assert shown["greeting_rich"] == topics
    assert shown["menu"][0]["rich"] == card
    assert shown["menu"][1]["rich"] is None
    assert shown["faq"][0]["rich"] == topics
    stored = await _stored_bot(world)
    assert stored is not None
    assert stored.menu[0].rich is not None
    assert stored.greeting_rich is not None
    again = await api.patch("/queues/support", keys.admin, {"bot": shown})
    assert again.body["bot"] == shown

    wrong = dict(AVA, greeting_rich={"buttons": [{"label": "x", "url": "javascript:alert(1)"}]})
    reply = await api.patch("/queues/support", keys.admin, {"bot": wrong})
    assert "greeting_rich.buttons[0].url must be an https:// address" in reply.problem(
        400, "invalid_input"
    )
