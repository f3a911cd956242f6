"""A queue's own inactivity texts (``Queue.visitor_idle_alert_text``,
``visitor_idle_close_text``): what the silent visitor reads is the administrator's text,
in any tenant language; without one, the built-in text in the tenant's language.

On the fakes, SQLite and PostgreSQL with the fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from business import commands as c
from business.errors import InvalidInput
from business.inactivity_settings import MAX_IDLE_TEXT
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ConversationState
from tests.business.test_inactivity import chat, configure, now, run, system_texts
from tests.conftest import BACKENDS, open_database
from tests.harness import ALICE, World, assert_store_consistent, make_world

ALERT = "Still with us? Reply within 2 minutes to keep this chat open."
CLOSED = "We closed this chat. Write again any time!"


@pytest.fixture(params=[pytest.param("fake", id="fake"), *BACKENDS])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    if request.param == "fake":
        fake = await make_world()
        yield fake
        assert_store_consistent(fake.fakes)
        return
    async with open_database(request.param, tmp_path) as db:
        yield await make_world(uow=db.unit_of_work)


async def alert_and_close(world: World) -> list[str]:
    """The system messages a silent visitor gets: the alert, then the close."""
    conv = await chat(world)
    await world.agent_says(ALICE, conv.id, "How can I help?")
    assert await run(world, 120) == 1
    assert await run(world, 60) == 1
    assert (await now(world, conv)).state is ConversationState.ENDED
    return system_texts(world, conv)


async def test_the_visitor_gets_the_queues_own_texts(world: World) -> None:
    await configure(
        world,
        visitor_idle_alert=120,
        visitor_idle_close=60,
        visitor_idle_alert_text=f"  {ALERT}\n",
        visitor_idle_close_text=CLOSED,
    )
    queue = await world.services.queue_settings.get(DEFAULT_TENANT, DEFAULT_QUEUE)
    assert queue is not None
    assert queue.visitor_idle_alert_text == ALERT  # trimmed
    assert await alert_and_close(world) == [ALERT, CLOSED]


async def test_own_texts_win_over_the_tenants_language(world: World) -> None:
    await world.services.widget_configs.put(DEFAULT_TENANT, {"language": "de"})
    await configure(world, visitor_idle_alert=120, visitor_idle_close=60)
    await configure(world, visitor_idle_alert_text=ALERT)
    # Only the alert is the queue's own: the close is still the built-in German text.
    assert await alert_and_close(world) == [ALERT, "Dieser Chat wurde wegen Inaktivität beendet."]


async def test_an_empty_text_goes_back_to_the_built_in_one(world: World) -> None:
    await configure(
        world,
        visitor_idle_alert=120,
        visitor_idle_close=60,
        visitor_idle_alert_text=ALERT,
        visitor_idle_close_text=CLOSED,
    )
    await configure(world, visitor_idle_alert_text="")
    # Another setting changed later keeps the closing text.
    await configure(world, offer_timeout=30)
    assert await alert_and_close(world) == [
        "Are you still there? This chat will close soon if we don't hear from you.",
        CLOSED,
    ]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("   ", "visitor_idle_alert_text must not be blank"),
        ("x" * (MAX_IDLE_TEXT + 1), f"at most {MAX_IDLE_TEXT} characters, not {MAX_IDLE_TEXT + 1}"),
        ("a\x00b", "contains a NUL"),
    ],
)
async def test_bad_texts_are_refused_with_a_clear_error(
    world: World, text: str, error: str
) -> None:
    with pytest.raises(InvalidInput, match=error):
        await world.services.queue_settings.configure(
            c.ConfigureQueue(
                tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, visitor_idle_alert_text=text
            )
        )
    queue = await world.services.queue_settings.get(DEFAULT_TENANT, DEFAULT_QUEUE)
    assert queue is not None
    assert queue.visitor_idle_alert_text is None
