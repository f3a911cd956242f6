"""``/queues``: the queues of the key's tenant and their settings.

Through the same use cases as ``chat-engine queue list|set``: listing is
``TenantService.list_queues``, changing is ``QueueSettingsService.configure``; creating
is ``QueueService.create`` (the CLI makes queues only by naming them for an agent). A
queue's bot is read by ``business.bot_config`` as ``queue set --bot-config`` reads it
(``presentation.api.bot_fields``); its opening hours by ``business.opening_hours`` as
``queue set --hours`` reads them (``presentation.api.hours_fields``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field

from business import commands as c
from business.errors import NotFound
from business.inactivity_settings import MAX_IDLE_SECONDS, MAX_IDLE_TEXT
from business.model import DEFAULT_REAWAKEN_WINDOW, Queue, QueueMode, QueueName as QueueNameValue
from business.queue_settings import MAX_WAITING
from business.reawaken_rules import MAX_REAWAKEN_WINDOW
from business.validation import MAX_LAST_AGENT_WINDOW, MAX_WRAP_UP_CODES, OFFER_TIMEOUT_RANGE
from presentation.api.bot_fields import BotConfigIn, BotConfigOut, bot_out
from presentation.api.fields import PatchBody, QueueName, Skills, Word
from presentation.api.hours_fields import OpeningHoursIn, OpeningHoursOut, opening_hours_out
from presentation.api.pagination import Page, PageQuery, page_of
from presentation.api.registry import ADMINS, READERS, Body, Call, Empty, Params, Resource

resource = Resource(
    "queues",
    "Queues of your tenant: where conversations wait, and how they are offered to agents.",
)

_LOW, _HIGH = OFFER_TIMEOUT_RANGE
_IDLE_MAX = MAX_IDLE_SECONDS // 60


class QueueOut(BaseModel):
    name: QueueName
    title: str
    waiting: int = Field(description="conversations waiting in it now")
    max_waiting: int | None = Field(
        description="starts are refused with `queue_full` while this many wait; null: the "
        "engine's `limits.max_queue_waiting`"
    )
    offer_timeout: int = Field(description="seconds an agent has to take an offered chat")
    wrap_up_codes: list[str] = Field(description="codes an agent may end a chat with")
    require_wrap_up: bool = Field(description="ending a chat needs one of the codes")
    skills: dict[str, int] = Field(description="skill -> minimum level an agent needs")
    last_agent_window: int | None = Field(
        description="seconds after a visitor's last chat during which its agent is "
        "preferred; null: never"
    )
    bot: BotConfigOut | None = Field(
        description="the bot that talks to the visitors first; null: chats start in the queue"
    )
    opening_hours: OpeningHoursOut | None = Field(
        description="outside these, starts are refused with `queue_closed`; null: always open"
    )
    mode: QueueMode = Field(
        description="`live` chat, or `messaging` threads that stay open until an agent closes them"
    )
    reawaken_window: int = Field(
        description="seconds a held chat the visitor answers waits in the queue for its agent "
        "alone when they cannot take it at once; 0: it goes to any agent at once"
    )
    visitor_idle_alert: float = Field(
        description="minutes of the visitor's silence after an agent's message before "
        "they are asked whether they are still there; 0: off"
    )
    visitor_idle_close: float = Field(
        description="minutes after that alert before the chat ends (reason `inactivity`); 0: never"
    )
    agent_reply_reminder: float = Field(
        description="minutes a visitor's message may wait for an answer before the agent "
        "is reminded; 0: off"
    )
    agent_reply_reroute: bool = Field(
        description="the same time again after the reminder, the chat goes back to the queue"
    )
    messaging_idle_hours: float = Field(
        description="messaging mode: hours without a message after which the visit is over "
        "and the thread leaves its agent; 0: never"
    )
    visitor_idle_alert_text: str | None = Field(
        description="what the silent visitor is asked; null: the built-in text in the "
        "tenant's language"
    )
    visitor_idle_close_text: str | None = Field(
        description="what the visitor reads when the chat ends for inactivity; null: the "
        "built-in text in the tenant's language"
    )


class QueuePage(Page[QueueOut]):
    pass


class QueueCreate(Body):
    name: QueueName
    title: str | None = Field(
        None, min_length=1, max_length=100, description="left out: the name, capitalised"
    )
    max_waiting: int | None = Field(
        default=None, ge=1, le=MAX_WAITING, description="null: the engine's default"
    )
    offer_timeout: int = Field(default=20, ge=_LOW, le=_HIGH, description="seconds")
    wrap_up_codes: list[Word] = Field(default=[], max_length=MAX_WRAP_UP_CODES)
    require_wrap_up: bool = False
    skills: Skills = {}
    last_agent_window: int | None = Field(
        86400, ge=0, le=MAX_LAST_AGENT_WINDOW, description="seconds; 0 or null: never"
    )
    bot: BotConfigIn | None = Field(None, description="a bot first; null or left out: none")
    opening_hours: OpeningHoursIn | None = Field(
        None, description="when visitors may start chats; null or left out: always"
    )
    mode: QueueMode = Field(QueueMode.LIVE, description="`live` chat or `messaging` threads")
    reawaken_window: int = Field(
        DEFAULT_REAWAKEN_WINDOW,
        ge=0,
        le=MAX_REAWAKEN_WINDOW,
        description="seconds a held chat the visitor answers waits for its agent; 0: not at all",
    )


class QueuePatch(PatchBody):
    """The settings to change; those left out stay."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset(
        {
            "max_waiting",
            "last_agent_window",
            "bot",
            "opening_hours",
            "visitor_idle_alert_text",
            "visitor_idle_close_text",
        }
    )

    max_waiting: int | None = Field(
        default=None, ge=1, le=MAX_WAITING, description="null: the engine's default"
    )
    offer_timeout: int | None = Field(default=None, ge=_LOW, le=_HIGH, description="seconds")
    wrap_up_codes: list[Word] | None = Field(default=None, max_length=MAX_WRAP_UP_CODES)
    require_wrap_up: bool | None = None
    skills: Skills | None = None
    last_agent_window: int | None = Field(
        None, ge=0, le=MAX_LAST_AGENT_WINDOW, description="seconds; 0 or null: never"
    )
    bot: BotConfigIn | None = Field(
        None,
        description="the whole bot configuration, which replaces the one in effect (settings "
        "left out take their defaults, not their values before); null: no bot any more",
    )
    opening_hours: OpeningHoursIn | None = Field(
        None,
        description="the whole opening hours, which replace those in effect; null: always "
        "open. Chats already running or waiting go on when the queue closes",
    )
    mode: QueueMode | None = Field(
        None,
        description="`live` chat or `messaging` threads; the conversations open now keep "
        "going and follow the new mode from their next step",
    )
    reawaken_window: int | None = Field(
        None,
        ge=0,
        le=MAX_REAWAKEN_WINDOW,
        description="seconds a held chat the visitor answers waits for its agent; 0: not at "
        "all. Chats waiting for their agent now keep the deadline they were given",
    )
    visitor_idle_alert: int | None = Field(None, ge=0, le=_IDLE_MAX, description="minutes; 0: off")
    visitor_idle_close: int | None = Field(
        None, ge=0, le=_IDLE_MAX, description="minutes after the alert; 0: never"
    )
    agent_reply_reminder: int | None = Field(
        None, ge=0, le=_IDLE_MAX, description="minutes; 0: off"
    )
    agent_reply_reroute: bool | None = None
    messaging_idle_hours: int | None = Field(
        None, ge=0, le=_IDLE_MAX // 60, description="hours; 0: never"
    )
    # No maxLength here: the use case trims the text before it counts, so that the REST
    # API takes what `queue set` takes.
    visitor_idle_alert_text: str | None = Field(
        None,
        description=f"what the silent visitor is asked, at most {MAX_IDLE_TEXT} characters, "
        "sent as written (not translated, not redacted); null or empty: the built-in text "
        "in the tenant's language",
    )
    visitor_idle_close_text: str | None = Field(
        None,
        description=f"what the visitor reads when the chat ends for inactivity, at most "
        f"{MAX_IDLE_TEXT} characters; null or empty: the built-in text",
    )


class QueuePath(Params):
    name: QueueName


def queue_out(queue: Queue) -> QueueOut:
    return QueueOut(
        name=queue.name,
        title=queue.title,
        waiting=queue.waiting,
        max_waiting=queue.max_waiting,
        offer_timeout=queue.offer_timeout,
        wrap_up_codes=list(queue.wrap_up_codes),
        require_wrap_up=queue.require_wrap_up,
        skills=dict(queue.skills),
        last_agent_window=queue.last_agent_window,
        bot=None if queue.bot is None else bot_out(queue.bot),
        opening_hours=(
            None if queue.opening_hours is None else opening_hours_out(queue.opening_hours)
        ),
        mode=queue.mode,
        reawaken_window=queue.reawaken_window,
        visitor_idle_alert=queue.visitor_idle_alert / 60,
        visitor_idle_close=queue.visitor_idle_close / 60,
        agent_reply_reminder=queue.agent_reply_reminder / 60,
        agent_reply_reroute=queue.agent_reply_reroute,
        messaging_idle_hours=queue.messaging_idle / 3600,
        visitor_idle_alert_text=queue.visitor_idle_alert_text,
        visitor_idle_close_text=queue.visitor_idle_close_text,
    )


@resource.route(
    "GET",
    "/queues",
    summary="List queues",
    scopes=READERS,
    params=Empty,
    query=PageQuery,
    body=Empty,
    response=QueuePage,
)
async def list_queues(call: Call[Empty, PageQuery, Empty]) -> QueuePage:
    """By name."""
    queues = await call.services.tenants.list_queues(call.tenant_id)
    items, cursor = page_of(queues, lambda q: (q.name,), call.query, 1)
    return QueuePage(items=[queue_out(q) for q in items], next_cursor=cursor)


@resource.route(
    "GET",
    "/queues/{name}",
    summary="Get a queue",
    scopes=READERS,
    params=QueuePath,
    query=Empty,
    body=Empty,
    response=QueueOut,
)
async def get_queue(call: Call[QueuePath, Empty, Empty]) -> QueueOut:
    name = QueueNameValue(call.params.name)
    queue = await call.services.queue_settings.get(call.tenant_id, name)
    if queue is None:
        raise NotFound(f"unknown queue {name!r}")
    return queue_out(queue)


@resource.route(
    "POST",
    "/queues",
    summary="Create a queue",
    scopes=ADMINS,
    params=Empty,
    query=Empty,
    body=QueueCreate,
    response=QueueOut,
    status=201,
    errors=(409,),
)
async def create_queue(call: Call[Empty, Empty, QueueCreate]) -> QueueOut:
    """Settings left out take their defaults."""
    body = call.body
    name = QueueNameValue(body.name)
    queue = await call.services.queues.create(
        c.CreateQueue(
            tenant_id=call.tenant_id,
            queue=name,
            title=body.title,
            settings=c.ConfigureQueue(
                tenant_id=call.tenant_id,
                queue=name,
                max_waiting=body.max_waiting,
                default_max_waiting=body.max_waiting is None,
                offer_timeout=body.offer_timeout,
                wrap_up_codes=tuple(body.wrap_up_codes),
                require_wrap_up=body.require_wrap_up,
                skills=body.skills,
                last_agent_window=body.last_agent_window or 0,
                bot=None if body.bot is None else body.bot.config(),
                opening_hours=None if body.opening_hours is None else body.opening_hours.hours(),
                mode=body.mode.value,
                reawaken_window=body.reawaken_window,
            ),
        )
    )
    return queue_out(queue)


@resource.route(
    "PATCH",
    "/queues/{name}",
    summary="Change a queue's settings",
    scopes=ADMINS,
    params=QueuePath,
    query=Empty,
    body=QueuePatch,
    response=QueueOut,
)
async def update_queue(call: Call[QueuePath, Empty, QueuePatch]) -> QueueOut:
    """What `chat-engine queue set` does. A running engine applies the new settings at
    the queue's next dispatch. A new `bot` greets the chats that start from now on;
    with `"bot": null`, the chats still with the bot are handed over to the queue at
    the visitor's next message."""
    body, given = call.body, call.body.given()
    queue = await call.services.queue_settings.configure(
        c.ConfigureQueue(
            tenant_id=call.tenant_id,
            queue=QueueNameValue(call.params.name),
            max_waiting=body.max_waiting,
            default_max_waiting="max_waiting" in given and body.max_waiting is None,
            offer_timeout=body.offer_timeout,
            wrap_up_codes=None if body.wrap_up_codes is None else tuple(body.wrap_up_codes),
            require_wrap_up=body.require_wrap_up,
            skills=body.skills,
            last_agent_window=(
                0
                if "last_agent_window" in given and body.last_agent_window is None
                else body.last_agent_window
            ),
            bot=None if body.bot is None else body.bot.config(),
            remove_bot="bot" in given and body.bot is None,
            opening_hours=None if body.opening_hours is None else body.opening_hours.hours(),
            always_open="opening_hours" in given and body.opening_hours is None,
            mode=None if body.mode is None else body.mode.value,
            reawaken_window=body.reawaken_window,
            **_idle_seconds(body),
        )
    )
    return queue_out(queue)


def _idle_seconds(body: QueuePatch) -> dict[str, Any]:
    """The inactivity settings given, in the seconds the queue keeps."""
    changes: dict[str, Any] = {"agent_reply_reroute": body.agent_reply_reroute}
    for name in ("visitor_idle_alert", "visitor_idle_close", "agent_reply_reminder"):
        minutes = getattr(body, name)
        changes[name] = None if minutes is None else minutes * 60
    hours = body.messaging_idle_hours
    changes["messaging_idle"] = None if hours is None else hours * 3600
    given = body.given()
    for name in ("visitor_idle_alert_text", "visitor_idle_close_text"):
        text = getattr(body, name)
        # null, like "", goes back to the built-in text.
        changes[name] = "" if name in given and text is None else text
    return changes
