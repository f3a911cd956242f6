"""The visit in the context (page views, visit count, time on site), what started a
chat, and the page moves an agent is told about."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from business import commands as c
from business.errors import InvalidInput, TooLarge
from business.events import VisitorMoved
from business.model import VisitorContext, VisitorId
from business.visit import MAX_PAGES, ChainStep, PageView, StartedBy, moved_to
from tests.business.support import active_chat, end, nothing_stored
from tests.harness import World

AT = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def _page(n: int, title: str | None = None) -> PageView:
    return PageView(url=f"https://shop.example/{n}", title=title, at=AT, seconds=n)


def _visit(*pages: PageView, url: str | None = None) -> VisitorContext:
    return VisitorContext(
        page_url=url or (pages[-1].url if pages else None),
        page_title=None if url or not pages else pages[-1].title,
        visit_count=2,
        time_on_site=90,
        pages=pages,
    )


def _moves(engine: World) -> list[VisitorMoved]:
    return [e for e in engine.recorder.events() if isinstance(e, VisitorMoved)]


async def _update(engine: World, visitor: VisitorId, context: VisitorContext) -> int:
    return await engine.conversations.update_context(
        c.UpdateContext(visitor_id=visitor, context=context)
    )


def test_the_newer_visit_wins_whole_and_an_update_without_it_keeps_it() -> None:
    before = _visit(_page(1), _page(2))
    after = before.merged(VisitorContext(visit_count=3, pages=(_page(3),)))
    assert after.pages == (_page(3),)
    assert after.visit_count == 3
    assert after.time_on_site == 90
    assert before.merged(VisitorContext(page_title="Cart")) == VisitorContext(
        page_url=before.page_url, page_title="Cart", visit_count=2, time_on_site=90,
        pages=before.pages,
    )  # fmt: skip


def test_only_another_address_is_a_move() -> None:
    assert moved_to("https://a/1", "https://a/2")
    assert moved_to("https://a/1", "https://a/1#step-2")
    assert not moved_to("https://a/1", "https://a/1")
    assert not moved_to("https://a/1", None)  # an update that did not say where
    assert not moved_to(None, "https://a/1")  # the first page known: not a move


async def test_a_chat_keeps_its_visit_and_what_started_it(engine: World) -> None:
    visitor = await engine.visitor()
    started = StartedBy(chain=ChainStep.TRIGGERS, trigger="product-help")
    conv = await engine.conversations.start_conversation(
        c.StartConversation(
            visitor_id=visitor, context=_visit(_page(1, "Home"), _page(2)), started_by=started
        )
    )
    assert engine.conv(conv.id).started_by == started
    assert engine.conv(conv.id).context.pages == (_page(1, "Home"), _page(2))
    assert engine.conv(conv.id).context.visit_count == 2


async def test_a_bad_trigger_or_visit_is_refused_with_what_is_wrong(engine: World) -> None:
    visitor = await engine.visitor()
    bad: list[tuple[c.StartConversation, type[Exception], str]] = [
        (
            c.StartConversation(
                visitor_id=visitor, started_by=StartedBy(chain=ChainStep.TRIGGERS, trigger="No!")
            ),
            InvalidInput,
            "trigger.id",
        ),
        (
            c.StartConversation(
                visitor_id=visitor,
                context=_visit(*(_page(n) for n in range(MAX_PAGES + 1))),
            ),
            TooLarge,
            "more than 20 page views",
        ),
        (
            c.StartConversation(
                visitor_id=visitor,
                context=_visit(PageView(url="https://a/" + "x" * 2000, at=AT), url="https://a/"),
            ),
            TooLarge,
            r"context.pages\[0\].url is longer than 2000",
        ),
        (
            c.StartConversation(
                visitor_id=visitor, context=_visit(PageView(url="", at=AT), url="https://a/")
            ),
            InvalidInput,
            r"pages\[0\].url must not be empty",
        ),
        (
            c.StartConversation(
                visitor_id=visitor, context=_visit(PageView(url="https://a/", at=AT, seconds=-1))
            ),
            InvalidInput,
            r"pages\[0\].seconds",
        ),
        (
            c.StartConversation(visitor_id=visitor, context=VisitorContext(visit_count=0)),
            InvalidInput,
            "visit_count must be 1",
        ),
        (
            c.StartConversation(visitor_id=visitor, context=VisitorContext(time_on_site=-5)),
            InvalidInput,
            "time_on_site",
        ),
    ]
    for cmd, error, message in bad:
        with nothing_stored(engine), pytest.raises(error, match=message):
            await engine.conversations.start_conversation(cmd)


async def test_a_new_address_in_an_open_chat_is_announced_once(engine: World) -> None:
    conv = await active_chat(engine)
    visitor = conv.visitor_id
    await _update(engine, visitor, _visit(_page(1, "Home")))
    assert _moves(engine) == []  # the chat knew no page yet
    await _update(engine, visitor, _visit(_page(1, "Home"), _page(2, "Checkout")))
    assert _moves(engine) == [
        VisitorMoved(conversation_id=conv.id, url="https://shop.example/2", title="Checkout")
    ]
    # The same address again, a new title on it, custom variables: no move.
    await _update(engine, visitor, _visit(_page(1, "Home"), _page(2, "Checkout (1)")))
    await _update(engine, visitor, VisitorContext(page_title="Checkout (2)"))
    await _update(engine, visitor, VisitorContext(custom={"cart": "3"}))
    assert len(_moves(engine)) == 1
    assert engine.conv(conv.id).context.page_title == "Checkout (2)"
    # Nothing for an ended chat.
    await engine.conversations.end_by_visitor(end(conv))
    await _update(engine, visitor, VisitorContext(page_url="https://shop.example/3"))
    assert len(_moves(engine)) == 1
