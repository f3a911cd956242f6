"""Several agents in one chat on a real Prosody, with slixmpp agents and a Socket.IO
visitor: a transfer to an agent and to a queue, a conference and a consult with three
parties, and the visitor's stream checked live and by ``sync`` from 0."""

from __future__ import annotations

from typing import Any

import pytest

from business.model import DEFAULT_QUEUE
from chat_engine.engine import Engine
from tests.e2e.conftest import RegisterAgent
from tests.e2e.test_chat_flow import (
    WAIT,
    conversation_jid,
    from_agent,
    new_visitor,
    online_agent,
    start_chat,
    wait_event,
)
from tests.visitor_client import Json, Visitor

pytestmark = pytest.mark.e2e


async def visitor_stream(visitor: Visitor, conversation_id: str) -> list[Json]:
    synced = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
    events: list[Json] = synced["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    return events


async def test_a_transfer_to_an_agent_and_on_to_a_queue(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    ann_account = register_agent("ann")
    ann = await online_agent(engine, ann_account, "Ann", cleanup)
    visitor = await new_visitor(engine, cleanup)
    conversation_id = await start_chat(visitor, "My parcel is lost", name="Vic")
    conv_jid = conversation_jid(engine, conversation_id)
    await ann.wait_for(lambda m: m.from_jid == conv_jid and "My parcel is lost" in m.body)
    ben_account = register_agent("ben")
    ben = await online_agent(engine, ben_account, "Ben", cleanup, auto_accept=False)

    ann.send(conv_jid, f"!transfer {ben_account.jid} tracking number in the form")
    await ann.wait_for(lambda m: m.from_jid == conv_jid and "Transfer offered to Ben" in m.body)
    offer = await ben.wait_for(lambda m: m.from_jid == conv_jid and "transfers" in m.body)
    assert "tracking number in the form" in offer.body
    assert "My parcel is lost" in offer.body
    ben.send(conv_jid, "Hi Vic, Ben here")
    await wait_event(visitor, from_agent("Hi Vic, Ben here"))
    await ann.wait_for(lambda m: m.from_jid == conv_jid and "Ben joined" in m.body)

    # Ann is out of it: what she writes is refused and never reaches Vic.
    ann.send(conv_jid, "still there?")
    await ann.wait_for(lambda m: m.from_jid == conv_jid and "not the agent" in m.body)

    events = await visitor_stream(visitor, conversation_id)
    people = [
        (e["type"], e["participant"]["name"]) for e in events if e["type"].startswith("participant")
    ]
    assert people == [
        ("participant.joined", "Ann"),
        ("participant.left", "Ann"),
        ("participant.joined", "Ben"),
    ]
    assert not any("still there?" in str(e) for e in events)

    # Ben hands it back to the queue: nobody is offered it but Ann, who is ready.
    ben.send(conv_jid, f"!transfer {DEFAULT_QUEUE}")
    await ben.wait_for(lambda m: m.from_jid == conv_jid and "handed the chat" in m.body)
    back = await ann.wait_for(
        lambda m: m.from_jid == conv_jid and "Hi Vic, Ben here" in m.body, timeout=WAIT
    )
    assert back.body
    events = await visitor_stream(visitor, conversation_id)
    assert [e["type"] for e in events][-2:] == ["participant.joined", "state.changed"]


async def test_a_conference_and_a_consult_with_three_parties(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    ann = await online_agent(engine, register_agent("ann"), "Ann", cleanup)
    visitor = await new_visitor(engine, cleanup)
    conversation_id = await start_chat(visitor, "Two questions", name="Vic")
    conv_jid = conversation_jid(engine, conversation_id)
    await ann.wait_for(lambda m: m.from_jid == conv_jid and "Two questions" in m.body)
    cy_account = register_agent("cy")
    cy = await online_agent(engine, cy_account, "Cy", cleanup, auto_accept=False)
    dee_account = register_agent("dee")
    dee = await online_agent(engine, dee_account, "Dee", cleanup, auto_accept=False)

    # Cy joins the conference: everybody sees everybody, the visitor included.
    ann.send(conv_jid, f"!invite {cy_account.jid} billing")
    await cy.wait_for(lambda m: m.from_jid == conv_jid and "invites you" in m.body)
    cy.send(conv_jid, "!accept")
    await wait_event(
        visitor, lambda e: e["type"] == "participant.joined" and e["participant"]["name"] == "Cy"
    )
    cy.send(conv_jid, "Cy from billing")
    await wait_event(visitor, from_agent("Cy from billing"))
    await ann.wait_for(lambda m: m.from_jid == conv_jid and m.body == "[Cy] Cy from billing")

    # Dee is consulted: Ann and Cy see her, the visitor never does.
    ann.send(conv_jid, f"!consult {dee_account.jid} is the refund allowed?")
    await dee.wait_for(lambda m: m.from_jid == conv_jid and "consult" in m.body)
    dee.send(conv_jid, "yes, within 30 days")
    await ann.wait_for(lambda m: m.body == "[consult, Dee] yes, within 30 days")
    await cy.wait_for(lambda m: m.body == "[consult, Dee] yes, within 30 days")
    await visitor.ok(
        "message.send",
        {"conversation_id": conversation_id, "client_msg_id": "v-2", "text": "and shipping?"},
    )
    for agent in (ann, cy, dee):
        await agent.wait_for(lambda m: m.from_jid == conv_jid and m.body == "and shipping?")
    dee.send(conv_jid, "!leave")
    await ann.wait_for(lambda m: m.body == "Dee left the chat.")
    cy.send(conv_jid, "!leave")
    await wait_event(
        visitor, lambda e: e["type"] == "participant.left" and e["participant"]["name"] == "Cy"
    )

    events = await visitor_stream(visitor, conversation_id)
    assert not any("Dee" in str(e) or "30 days" in str(e) for e in events)
    assert [e["participant"]["name"] for e in events if e["type"] == "participant.joined"] == [
        "Ann",
        "Cy",
    ]
