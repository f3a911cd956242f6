"""XEP-0050 ad-hoc commands at ``chat.localhost``: the same answers as the engine words.

First the typed table and desk (no slixmpp), then raw IQs through the bridge's real
slixmpp component on the fake server: disco#items lists the commands, executing one
returns a data form, ``max`` asks for its value first, strangers are refused.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from xml.etree import ElementTree as ET

import pytest

from business.errors import Forbidden, InvalidInput, NotFound
from tests.harness import World
from tests.xmpp_bridge.component_server import COMPONENT_NS, ComponentServer
from tests.xmpp_bridge.support import ADDRESSING, ALICE, ALICE_JID, harness
from tests.xmpp_bridge.test_bridge import Bridges
from tests.xmpp_bridge.test_engine_words import ask
from xmpp_bridge import texts
from xmpp_bridge.adhoc import ADHOC_COMMANDS, AdhocCommand, AdhocDesk
from xmpp_bridge.data_forms import FormField, FormResult, FormToFill
from xmpp_bridge.engine_desk import EngineDesk

COMMANDS_NS = "http://jabber.org/protocol/commands"
ITEMS_NS = "http://jabber.org/protocol/disco#items"
X = "jabber:x:data"
STANZAS_NS = "urn:ietf:params:xml:ns:xmpp-stanzas"


def desk(world: World) -> AdhocDesk:
    return AdhocDesk(
        EngineDesk(services=world.services, addressing=ADDRESSING, away_is_ready=False)
    )


# -- the table and the desk ------------------------------------------------------------


async def test_each_command_answers_what_its_word_does(world: World) -> None:
    h = harness(world)
    await world.add_agent(ALICE, ready=True)
    conversation = await world.start(await world.visitor(), "Hello")
    await h.delivered()
    adhoc = desk(world)

    for node in ("status", "chats", "queues"):
        answer = await adhoc.execute(ALICE_JID, node, None)
        assert isinstance(answer, FormResult)
        assert answer.text == await ask(h, node)
    chats = await adhoc.execute(ALICE_JID, "chats", None)
    assert isinstance(chats, FormResult)
    assert f"c-{conversation.id}@chat.localhost" in chats.text


async def test_max_asks_for_the_number_then_sets_it(world: World) -> None:
    await world.add_agent(ALICE, ready=True)
    adhoc = desk(world)

    form = await adhoc.execute(ALICE_JID, "max", None)
    answer = await adhoc.execute(ALICE_JID, "max", {"max_chats": " 5 "})

    assert form == FormToFill(
        title=texts.ADHOC_MAX,
        instructions=texts.ADHOC_FILL_IN,
        fields=(FormField(var="max_chats", label=texts.ADHOC_MAX_FIELD, value="3"),),
    )
    assert answer == FormResult(title=texts.ADHOC_MAX, text=texts.engine_capacity(5))
    assert world.fakes.agents[ALICE].max_chats == 5


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"max_chats": "lots"}, texts.MAX_USAGE),
        ({"max_chats": "5 6"}, texts.MAX_USAGE),
        ({"max_chats": "0"}, "between 1 and 100"),
        ({"max_chats": " "}, texts.form_field_missing(texts.ADHOC_MAX_FIELD)),
        ({}, texts.form_field_missing(texts.ADHOC_MAX_FIELD)),
    ],
)
async def test_max_refuses_a_wrong_or_missing_number(
    world: World, values: dict[str, str], reason: str
) -> None:
    await world.add_agent(ALICE, ready=True)

    with pytest.raises(InvalidInput, match=re.escape(reason)):
        await desk(world).execute(ALICE_JID, "max", values)
    assert world.fakes.agents[ALICE].max_chats == 3


async def test_only_agents_may_run_commands_and_only_the_listed_ones(world: World) -> None:
    await world.add_agent(ALICE, ready=True)
    adhoc = desk(world)

    with pytest.raises(Forbidden, match=texts.AGENTS_ONLY):
        await adhoc.execute("mallory@localhost", "status", None)
    with pytest.raises(Forbidden, match=texts.AGENTS_ONLY):
        await adhoc.execute("mallory@localhost", "max", None)
    with pytest.raises(NotFound):
        await adhoc.execute(ALICE_JID, "help", None)


NODES = ["status", "chats", "max", "queues", "monitor", "unmonitor"]


def test_a_command_is_one_entry_naming_an_engine_word(world: World) -> None:
    assert [c.node for c in desk(world).commands] == [
        "status",
        "chats",
        "max",
        "queues",
        "monitor",
        "unmonitor",
    ]
    engine = EngineDesk(services=world.services, addressing=ADDRESSING, away_is_ready=False)
    with pytest.raises(ValueError, match="not an engine word"):
        AdhocDesk(engine, [AdhocCommand(node="dance", name="Dance")])
    with pytest.raises(ValueError, match="two ad-hoc commands"):
        AdhocDesk(engine, [*ADHOC_COMMANDS, ADHOC_COMMANDS[0]])


# -- raw IQs through the real component ---------------------------------------------------


@pytest.fixture
async def served(world: World) -> AsyncIterator[ComponentServer]:
    """A bridge connected to the fake server, Alice an agent of capacity 3."""
    await world.add_agent(ALICE, ready=True)
    bridges = Bridges(world)
    try:
        server = await bridges.server()
        await bridges.connected(server.port)
        yield server
    finally:
        await bridges.close()


async def answer_to(server: ComponentServer, iq: str, iq_id: str) -> ET.Element:
    server.inject(iq)

    def answered() -> ET.Element | None:
        return next((s for s in server.stanzas if s.get("id") == iq_id), None)

    await server.wait_until(lambda: answered() is not None)
    found = answered()
    assert found is not None
    return found


def execute(
    iq_id: str, node: str, *, sender: str = "alice@localhost/laptop", extra: str = ""
) -> str:
    return (
        f'<iq type="set" id="{iq_id}" from="{sender}" to="chat.localhost">'
        f'<command xmlns="{COMMANDS_NS}" node="{node}" action="execute">{extra}</command></iq>'
    )


def command_of(iq: ET.Element) -> ET.Element:
    assert iq.get("type") == "result", ET.tostring(iq)
    command = iq.find(f"{{{COMMANDS_NS}}}command")
    assert command is not None
    return command


def answer_lines(command: ET.Element) -> list[str]:
    form = command.find(f"{{{X}}}x")
    assert form is not None
    assert form.get("type") == "result"
    return [v.text or "" for v in form.iter(f"{{{X}}}value")]


async def test_disco_lists_the_commands(served: ComponentServer) -> None:
    reply = await answer_to(
        served,
        '<iq type="get" id="d1" from="alice@localhost/laptop" to="chat.localhost">'
        f'<query xmlns="{ITEMS_NS}" node="{COMMANDS_NS}"/></iq>',
        "d1",
    )

    assert reply.get("type") == "result"
    items = reply.findall(f"{{{ITEMS_NS}}}query/{{{ITEMS_NS}}}item")
    assert [(i.get("jid"), i.get("node"), i.get("name")) for i in items] == [
        ("chat.localhost", "status", texts.ADHOC_STATUS),
        ("chat.localhost", "chats", texts.ADHOC_CHATS),
        ("chat.localhost", "max", texts.ADHOC_MAX),
        ("chat.localhost", "queues", texts.ADHOC_QUEUES),
        ("chat.localhost", "monitor", texts.ADHOC_MONITOR),
        ("chat.localhost", "unmonitor", texts.ADHOC_UNMONITOR),
    ]


async def test_disco_info_says_the_engine_has_commands(served: ComponentServer) -> None:
    info_ns = "http://jabber.org/protocol/disco#info"
    reply = await answer_to(
        served,
        '<iq type="get" id="i1" from="alice@localhost/laptop" to="chat.localhost">'
        f'<query xmlns="{info_ns}"/></iq>',
        "i1",
    )

    features = {f.get("var") for f in reply.iter(f"{{{info_ns}}}feature")}
    assert COMMANDS_NS in features


async def test_the_commands_are_listed_once_again_after_a_reconnect(
    world: World, served: ComponentServer
) -> None:
    served.drop()
    await served.wait_until(lambda: served.handshakes == 2)
    listing = (
        '<iq type="get" id="d2" from="alice@localhost/laptop" to="chat.localhost">'
        f'<query xmlns="{ITEMS_NS}" node="{COMMANDS_NS}"/></iq>'
    )

    reply = await answer_to(served, listing, "d2")

    items = reply.findall(f"{{{ITEMS_NS}}}query/{{{ITEMS_NS}}}item")
    assert [i.get("node") for i in items] == [
        "status",
        "chats",
        "max",
        "queues",
        "monitor",
        "unmonitor",
    ]
    status = command_of(await answer_to(served, execute("e9", "status"), "e9"))
    assert status.get("status") == "completed"


async def test_status_runs_at_once_and_answers_a_result_form(served: ComponentServer) -> None:
    reply = await answer_to(served, execute("e1", "status"), "e1")

    assert reply.get("to") == "alice@localhost/laptop"
    command = command_of(reply)
    assert (command.get("node"), command.get("status")) == ("status", "completed")
    assert answer_lines(command) == [texts.engine_status(True, 3, ["support"])]


async def test_max_shows_a_form_and_completing_it_sets_the_capacity(
    world: World, served: ComponentServer
) -> None:
    first = command_of(await answer_to(served, execute("e1", "max"), "e1"))
    assert first.get("status") == "executing"
    actions = first.find(f"{{{COMMANDS_NS}}}actions")
    assert actions is not None
    assert [a.tag.rpartition("}")[2] for a in actions] == ["complete"]
    field = first.find(f"{{{X}}}x/{{{X}}}field")
    assert field is not None
    assert (field.get("var"), field.findtext(f"{{{X}}}value")) == ("max_chats", "3")

    session = first.get("sessionid")
    complete = (
        f'<iq type="set" id="e2" from="alice@localhost/laptop" to="chat.localhost">'
        f'<command xmlns="{COMMANDS_NS}" node="max" sessionid="{session}" action="complete">'
        f'<x xmlns="{X}" type="submit"><field var="max_chats"><value>7</value></field></x>'
        "</command></iq>"
    )
    done = command_of(await answer_to(served, complete, "e2"))

    assert done.get("status") == "completed"
    assert answer_lines(done) == [texts.engine_capacity(7)]
    assert world.fakes.agents[ALICE].max_chats == 7


async def test_a_script_may_send_the_values_with_execute(
    world: World, served: ComponentServer
) -> None:
    values = f'<x xmlns="{X}" type="submit"><field var="max_chats"><value>4</value></field></x>'

    done = command_of(await answer_to(served, execute("e1", "max", extra=values), "e1"))

    assert answer_lines(done) == [texts.engine_capacity(4)]
    assert world.fakes.agents[ALICE].max_chats == 4


def error_of(iq: ET.Element) -> tuple[str | None, list[str], str | None]:
    """(type, conditions, text) of an error reply."""
    assert iq.get("type") == "error", ET.tostring(iq)
    # slixmpp's ad-hoc plugin writes the <error/> in jabber:client (its Error class's
    # namespace); servers pass it on as it is, and in a client's stream that is the
    # stream's own namespace.
    error = iq.find(f"{{{COMPONENT_NS}}}error")
    if error is None:
        error = iq.find("{jabber:client}error")
    assert error is not None, ET.tostring(iq)
    conditions = [c.tag.rpartition("}")[2] for c in error if c.tag != f"{{{STANZAS_NS}}}text"]
    return error.get("type"), conditions, error.findtext(f"{{{STANZAS_NS}}}text")


async def test_a_stranger_is_forbidden(served: ComponentServer) -> None:
    reply = await answer_to(served, execute("e1", "status", sender="mallory@localhost/x"), "e1")

    assert error_of(reply) == ("auth", ["forbidden"], texts.AGENTS_ONLY)


async def test_a_wrong_number_is_a_bad_request_and_changes_nothing(
    world: World, served: ComponentServer
) -> None:
    values = f'<x xmlns="{X}" type="submit"><field var="max_chats"><value>lots</value></field></x>'

    reply = await answer_to(served, execute("e1", "max", extra=values), "e1")

    assert error_of(reply) == ("modify", ["bad-request"], texts.MAX_USAGE)
    assert world.fakes.agents[ALICE].max_chats == 3


async def test_an_unknown_node_is_not_found(served: ComponentServer) -> None:
    reply = await answer_to(served, execute("e1", "dance"), "e1")

    _type, conditions, _text = error_of(reply)
    assert conditions == ["item-not-found"]
