"""What agents see of the visit: on the offer, in ``!info``, and the short notice when
the visitor of their chat goes to another page (coalesced, never for the same page)."""

from __future__ import annotations

from datetime import UTC, datetime

from business import commands as c
from business.conversation import Conversation
from business.model import VisitorContext
from business.visit import ChainStep, PageView, StartedBy
from tests.harness import World
from tests.xmpp_bridge.support import ALICE, from_agent, harness
from xmpp_bridge import texts_visit

AT = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
HOME = PageView(url="https://shop.example/", title="Home", at=AT, seconds=50)
GRINDER = PageView(url="https://shop.example/grinder", title="Grinder", at=AT, seconds=25)


def _visit(*pages: PageView, **more: object) -> VisitorContext:
    return VisitorContext(
        page_url=pages[-1].url,
        page_title=pages[-1].title,
        visit_count=2,
        time_on_site=75,
        pages=pages,
        **more,  # type: ignore[arg-type]
    )


async def _start(world: World, *, auto_accept: bool) -> Conversation:
    await world.agent(ALICE, max_chats=3, auto_accept=auto_accept)
    return await world.conversations.start_conversation(
        c.StartConversation(
            visitor_id=await world.visitor(),
            context=_visit(HOME, GRINDER, custom={"plan": "pro"}),
            started_by=StartedBy(chain=ChainStep.TRIGGERS, trigger="product-help"),
            message=c.FirstMessage(client_msg_id="m1", text="Does it grind fine?"),
        )
    )


async def _move(world: World, conv: Conversation, *pages: PageView) -> None:
    await world.conversations.update_context(
        c.UpdateContext(visitor_id=conv.visitor_id, context=_visit(*pages))
    )


async def test_the_offer_shows_the_page_the_visit_and_the_trigger(world: World) -> None:
    h = harness(world)
    await _start(world, auto_accept=False)
    offer = next(b for b in await h.bodies() if b.startswith("New chat from"))
    lines = offer.splitlines()
    assert "Page: Grinder - https://shop.example/grinder" in lines
    assert "Visit: visit 2, 2 pages in this visit, 1 min 15 s on the site" in lines
    assert "Started by: trigger product-help" in lines


async def test_info_lists_the_visit_and_the_agent_is_told_of_moves(world: World) -> None:
    h = harness(world)
    conv = await _start(world, auto_accept=True)
    assert conv.agent_id == ALICE
    await h.delivered()

    await h.receive(from_agent(conv.id, "!info"))
    [info] = await h.bodies()
    lines = info.splitlines()
    start = lines.index("Pages in this visit (oldest first):")
    assert lines[start - 1] == "Visit: visit 2, 2 pages in this visit, 1 min 15 s on the site"
    assert lines[start + 1 : start + 4] == [
        "  Home - https://shop.example/ (50 s)",
        "  Grinder - https://shop.example/grinder (25 s)",
        "Started by: trigger product-help",
    ]
    assert "plan: pro" in lines

    # Two moves in quick succession: one notice, with the newest page.
    cart = PageView(url="https://shop.example/cart", title="Cart", at=AT)
    checkout = PageView(url="https://shop.example/checkout", title="Checkout", at=AT)
    await _move(world, conv, HOME, GRINDER, cart)
    await _move(world, conv, HOME, GRINDER, cart, checkout)
    assert await h.bodies() == ["Visitor moved to: Checkout - https://shop.example/checkout"]
    # The same page again, or a new title on it: nothing.
    await _move(world, conv, HOME, GRINDER, cart, checkout)
    retitled = PageView(url=checkout.url, title="Checkout (step 2)", at=AT)
    await _move(world, conv, HOME, GRINDER, cart, retitled)
    assert await h.bodies() == []


async def test_nobody_is_told_of_moves_while_the_chat_waits(world: World) -> None:
    h = harness(world)
    conv = await _start(world, auto_accept=False)
    await h.delivered()
    await _move(world, conv, HOME, GRINDER, PageView(url="https://shop.example/cart", at=AT))
    assert await h.bodies() == []


def test_a_long_title_and_address_are_cut_and_started_by_names_each_step() -> None:
    notice = texts_visit.visitor_moved("T" * 500, "https://a/" + "x" * 1000)
    assert len(notice) < 500
    assert notice.startswith("Visitor moved to: TTT")
    assert texts_visit.visitor_moved(None, "https://a/") == "Visitor moved to: https://a/"
    assert [texts_visit.started_by(StartedBy(chain=step)) for step in ChainStep] == [
        "Started by: the chat embedded in the page",
        "Started by: the chat carried on from an earlier page",
        "Started by: an open messaging thread",
        "Started by: the chat button",
    ]
