"""``--tenant T`` of ``agent``, ``queue``, ``canned`` and ``report`` against a real SQLite
file with two tenants: each command acts on the tenant named (``default`` unless told)
and on nothing of the other, and an unknown tenant is one clear usage error that
changes nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from business import commands as c
from business.model import DEFAULT_QUEUE, TenantId
from data import Database
from tests.chat_engine.test_cli import db_url, run
from tests.fakes import FakeClock
from tests.harness import make_world

GLOBEX = TenantId("globex")
GUS = "gus@globex.example"


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = db_url(tmp_path)
    assert run(["tenant", "create", "Globex", "--database-url", url])[0] == 0
    return url


def first_column(output: str) -> list[str]:
    return [line.split()[0] for line in output.splitlines()[1:]]


def test_agents_are_added_listed_and_removed_in_the_tenant_named(url: str) -> None:
    db = ["--database-url", url]
    code, output = run(
        ["agent", "add", GUS, "--queue", "billing", "--max-chats", "2", "--tenant", "globex", *db]
    )
    assert code == 0
    assert output == f"agent {GUS} (gus): queues billing, up to 2 chats\n"
    ann = ["agent", "add", "ann@example.com", "--queue", "support", "--max-chats", "1"]
    assert run([*ann, *db])[0] == 0

    assert first_column(run(["agent", "list", "--tenant", "globex", *db])[1]) == [GUS]
    assert first_column(run(["agent", "list", *db])[1]) == ["ann@example.com"]
    # The queue an agent serves is made in their tenant only.
    assert first_column(run(["queue", "list", "--tenant", "globex", *db])[1]) == [
        "billing",
        "support",
    ]
    assert first_column(run(["queue", "list", *db])[1]) == ["support"]

    code, output = run(["agent", "remove", GUS, "--tenant", "globex", *db])
    assert code == 0
    assert output == f"agent {GUS} (gus) removed from tenant globex\n"
    assert "no agents yet" in run(["agent", "list", "--tenant", "globex", *db])[1]


def test_an_agent_is_removed_only_from_their_own_tenant(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--database-url", url]
    run(["agent", "add", GUS, "--queue", "support", "--max-chats", "2", "--tenant", "globex", *db])

    code, _ = run(["agent", "remove", GUS, *db])

    assert code == 2
    assert f"tenant default has no agent {GUS}" in capsys.readouterr().err
    assert first_column(run(["agent", "list", "--tenant", "globex", *db])[1]) == [GUS]


def test_an_agent_with_a_chat_open_is_not_removed(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--database-url", url]
    run(["agent", "add", GUS, "--queue", "support", "--max-chats", "2", "--tenant", "globex", *db])
    asyncio.run(_chat_with(url, GUS, GLOBEX))

    code, _ = run(["agent", "remove", GUS, "--tenant", "globex", *db])

    assert code == 2
    assert "still has 1 open chat(s)" in capsys.readouterr().err
    assert first_column(run(["agent", "list", "--tenant", "globex", *db])[1]) == [GUS]


def test_queue_settings_and_the_bot_are_the_named_tenants(url: str) -> None:
    db = ["--database-url", url]
    globex = ["--tenant", "globex"]
    code, output = run(["queue", "set", "support", "--offer-timeout", "45", *globex, *db])
    assert code == 0
    assert output == "queue support: an offer times out after 45 s\n"
    assert run(["queue", "set", "support", "--bot", "rules", *globex, *db])[0] == 0

    assert "45s" in run(["queue", "list", *globex, *db])[1].splitlines()[1].split()
    assert "20s" in run(["queue", "list", *db])[1].splitlines()[1].split()
    code, shown = run(["queue", "bot", "support", *globex, *db])
    assert code == 0
    assert json.loads(shown)["kind"] == "rules"
    assert run(["queue", "bot", "support", *db])[0] == 2  # the default tenant's has none


def test_canned_responses_are_the_named_tenants(url: str) -> None:
    db = ["--database-url", url]
    globex = ["--tenant", "globex"]
    code, output = run(["canned", "add", "hello", "Hello from Globex", *globex, *db])
    assert code == 0
    assert output == "canned response hello (every queue): Hello from Globex\n"

    assert run(["canned", "list", *globex, *db])[1].splitlines()[1:] == [
        "(all)  hello  Hello from Globex"
    ]
    assert "no canned responses yet" in run(["canned", "list", *db])[1]
    assert run(["canned", "remove", "hello", *db])[0] == 2  # not the default tenant's
    assert run(["canned", "remove", "hello", *globex, *db])[0] == 0
    assert "no canned responses yet" in run(["canned", "list", *globex, *db])[1]


def test_reports_are_the_named_tenants(url: str) -> None:
    asyncio.run(_ended_chat(url, GLOBEX))
    db = ["--database-url", url]

    code, output = run(["report", "conversations", "--csv", "--tenant", "globex", *db])
    assert code == 0
    [header, row] = output.splitlines()
    assert "tenant_id" in header.split(",")
    assert ",globex," in f",{row},"
    assert run(["report", "conversations", *db])[1] == "no conversation reports match\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["agent", "add", "x@example.com", "--queue", "new-queue", "--max-chats", "1"],
        ["agent", "list"],
        ["agent", "remove", "x@example.com"],
        ["queue", "list"],
        ["queue", "set", "support", "--offer-timeout", "30"],
        ["queue", "bot", "support"],
        ["canned", "add", "hello", "Hi"],
        ["canned", "list"],
        ["canned", "remove", "hello"],
        ["report", "conversations"],
    ],
)
def test_an_unknown_tenant_is_a_usage_error_that_changes_nothing(
    url: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--database-url", url]

    code, output = run([*argv, "--tenant", "globx", *db])

    assert (code, output) == (2, "")
    err = capsys.readouterr().err
    assert err == (
        "chat-engine: error: unknown tenant 'globx' (chat-engine tenant list shows the tenants)\n"
    )
    assert "new-queue" not in run(["queue", "list", *db])[1]
    assert "new-queue" not in run(["queue", "list", "--tenant", "globex", *db])[1]
    assert first_column(run(["tenant", "list", *db])[1]) == ["default", "globex"]


# -- chats through the services, on the same file ---------------------------------------


async def _chat_with(url: str, address: str, tenant: TenantId) -> None:
    """A chat of ``tenant`` that the agent at ``address`` (ready now) takes, left open."""
    database = Database.from_url(url)
    try:
        world = await make_world(uow=database.unit_of_work, clock=FakeClock())
        agent = await world.agents.find_agent(address)
        assert agent is not None
        await world.agents.set_availability(c.SetAgentAvailability(agent_id=agent.id, ready=True))
        conv = await world.start(await world.visitor(tenant), "hello")
        taken = await world.services.offers.accept(
            c.AcceptOffer(agent_id=agent.id, conversation_id=conv.id)
        )
        assert taken.agent_id == agent.id
    finally:
        await database.dispose()


async def _ended_chat(url: str, tenant: TenantId) -> None:
    database = Database.from_url(url)
    try:
        world = await make_world(uow=database.unit_of_work, clock=FakeClock())
        conv = await world.conversations.start_conversation(
            c.StartConversation(visitor_id=await world.visitor(tenant), queue=DEFAULT_QUEUE)
        )
        await world.conversations.end_by_visitor(
            c.EndConversationByVisitor(visitor_id=conv.visitor_id, conversation_id=conv.id)
        )
    finally:
        await database.dispose()
