"""The visit over the visitor protocol: the context's page views, visit count and time
on site, and the start's ``trigger``, stored as sent; malformed ones refused by name."""

from __future__ import annotations

from datetime import UTC, datetime

from business.model import ConversationId
from business.visit import ChainStep, PageView, StartedBy
from tests.harness import World
from tests.visitor_client import Json, Visitor


def _page(path: str, title: str, at: str = "2026-11-26T09:30:00.000Z", seconds: int = 0) -> Json:
    return {"url": f"https://shop.example{path}", "title": title, "at": at, "seconds": seconds}


def _visit(*pages: Json) -> Json:
    return {
        "page_url": pages[-1]["url"],
        "page_title": pages[-1]["title"],
        "referrer": "https://search.example/",
        "custom": {"plan": "pro"},
        "visit_count": 2,
        "time_on_site": 75,
        "pages": list(pages),
    }


async def test_the_start_carries_the_visit_and_its_trigger_and_updates_follow(
    visitor: Visitor, world: World
) -> None:
    home = _page("/", "Home", seconds=60)
    grinder = _page("/grinder", "Grinder", "2026-11-26T10:31:00+01:00", 15)
    conversation_id = await visitor.start(
        "Hello",
        context=_visit(home, grinder),
        trigger={"chain": "triggers", "id": "product-help"},
    )
    conv = await world.conversations.get_conversation(ConversationId(conversation_id))
    assert conv.started_by == StartedBy(chain=ChainStep.TRIGGERS, trigger="product-help")
    assert conv.context.visit_count == 2
    assert conv.context.time_on_site == 75
    # Times in any zone are kept in UTC.
    nine_thirty = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    assert conv.context.pages == (
        PageView(url="https://shop.example/", title="Home", at=nine_thirty, seconds=60),
        PageView(
            url="https://shop.example/grinder",
            title="Grinder",
            at=nine_thirty.replace(minute=31),
            seconds=15,
        ),
    )
    await visitor.drain()

    checkout = _page("/checkout", "Checkout", "2026-11-26T09:32:00Z")
    assert await visitor.ok("context.update", _visit(home, grinder, checkout)) == {"ok": True}
    conv = await world.conversations.get_conversation(ConversationId(conversation_id))
    assert conv.context.page_url == "https://shop.example/checkout"
    assert conv.context.pages is not None
    assert [p.title for p in conv.context.pages] == ["Home", "Grinder", "Checkout"]
    assert conv.started_by == StartedBy(chain=ChainStep.TRIGGERS, trigger="product-help")
    # The move is for the agent: nothing of it reaches the visitor's tabs.
    assert await visitor.drain() == []


async def test_a_start_without_a_trigger_id_and_a_client_that_sends_no_visit(
    visitor: Visitor, world: World
) -> None:
    conversation_id = await visitor.start(
        context={"page_url": "https://shop.example/"}, trigger={"chain": "embedded"}
    )
    conv = await world.conversations.get_conversation(ConversationId(conversation_id))
    assert conv.started_by == StartedBy(chain=ChainStep.EMBEDDED)
    assert conv.context.pages is None
    assert conv.context.visit_count is None


async def test_a_malformed_visit_or_trigger_is_refused_saying_what(visitor: Visitor) -> None:
    home = _page("/", "Home")
    bad_starts: list[tuple[Json, str, str]] = [
        ({"trigger": "product-help"}, "invalid_input", "trigger must be a JSON object"),
        ({"trigger": {"chain": "popup"}}, "invalid_input", "trigger.chain must be one of"),
        ({"trigger": {"chain": "triggers", "id": "Ünïcode"}}, "invalid_input", "trigger.id"),
        ({"context": {"pages": "home"}}, "invalid_input", "context.pages must be a list"),
        ({"context": {"pages": [home] * 21}}, "invalid_input", "more than 20 page views"),
        ({"context": {"pages": [{"title": "x"}]}}, "invalid_input", "pages[0].url is required"),
        (
            {"context": {"pages": [{**home, "at": "yesterday"}]}},
            "invalid_input",
            "context.pages[0].at must be an ISO 8601 time",
        ),
        (
            # Parses, but is no instant in UTC (before year 1 there).
            {"context": {"pages": [{**home, "at": "0001-01-01T00:00:00+05:00"}]}},
            "invalid_input",
            "context.pages[0].at must be an ISO 8601 time",
        ),
        (
            {"context": {"pages": [{**home, "at": "2026-11-26T09:30:00"}]}},
            "invalid_input",
            "must have a time zone",
        ),
        (
            {"context": {"pages": [{**home, "title": "t" * 2001}]}},
            "too_large",
            "context.pages[0].title is longer than 2000",
        ),
        ({"context": {"visit_count": "2"}}, "invalid_input", "visit_count must be a whole number"),
        ({"context": {"time_on_site": -1}}, "invalid_input", "time_on_site must be 0 to"),
    ]
    for payload, code, message in bad_starts:
        ack = await visitor.call("conversation.start", payload)
        assert ack["ok"] is False, payload
        assert ack["error"]["code"] == code, ack
        assert message in ack["error"]["message"], ack
    await visitor.start()
    ack = await visitor.call("context.update", {"pages": [{**home, "seconds": 1.5}]})
    assert ack["error"] == {
        "code": "invalid_input",
        "message": "pages[0].seconds must be a whole number",
    }
