"""``/widget-config``: the tenant's widget configuration (display mode, theme, texts,
items and triggers), which the widget's loader fetches before it draws anything.

Through the same use case as ``chat-engine widget show|set`` (``WidgetConfigService``);
``business.widget_config`` checks every value and names the first problem. The shape is
described in ``docs/widget-guide.md``. Everything in it is public: the loader reads it
without a key (``GET /visitor-api/v1/widget-config``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from business.widget_config import (
    MAX_ITEMS,
    MAX_SELECTOR,
    MAX_TEXT,
    MAX_TRIGGERS,
    WidgetConfig,
)
from presentation.api.fields import QueueName
from presentation.api.registry import ADMINS, READERS, Body, Call, Empty, Resource

resource = Resource(
    "widget-config",
    "The widget's configuration: active or in maintenance, display mode, theme, texts, "
    "and the items and triggers its chat manager shows in the visitor's browser "
    "(see the widget guide). It is public: never put a secret in it.",
)

ItemId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
Colour = Annotated[str, StringConstraints(pattern=r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT)]


class Theme(Body):
    accent: Colour | None = Field(None, description="buttons and header, e.g. `#3b5bdb`")
    accent_text: Colour | None = Field(None, description="text on the accent colour")


class Texts(Body):
    title: Text | None = Field(None, description="the chat window's title")
    greeting: Text | None = Field(None, description="shown in an empty chat")
    input_placeholder: Text | None = None
    launcher_label: Text | None = Field(None, description="the chat button's label")


class OfflineVariant(Body):
    text: Text | None = Field(
        None, description="the text while offline (required for an invitation)"
    )


class Item(Body):
    id: ItemId
    type: Literal["button", "invitation"]
    text: Text | None = Field(None, description="an invitation's text (required for it)")
    offline: Literal["hide"] | OfflineVariant | None = Field(
        None,
        description="what it shows when nobody can answer in the trigger's queue: left out, "
        'the item as it is; `"hide"`, nothing (the next trigger fires); an object, the item '
        "with that text, opening the offline message form",
    )


class Action(Body):
    type: Literal["show", "open"] = Field(description="show an item, or open the chat")
    item: ItemId | None = Field(None, description="the item `show` shows")


class Trigger(Body):
    id: ItemId
    conditions: dict[str, Any] | None = Field(
        None,
        description='`{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}` or '
        '`{"field", "op", "value"}`; left out: holds everywhere',
    )
    action: Action
    only_if_available: bool = Field(
        False, description="fires only when the queue's agents can take a chat"
    )
    queue: QueueName | None = Field(None, description="the queue chats it starts go to")


class WidgetConfigIn(Body):
    active: bool = Field(True, description="false: maintenance, the widget shows nothing")
    analytics: bool = Field(
        True, description="false: the widget reports no page views, impressions, engagements"
    )
    mode: Literal["floating", "embedded"] = "floating"
    language: Literal["auto", "en", "de", "fr", "es", "ar"] = Field(
        "auto",
        description="the widget's language (and agents' notices'); `auto`: each visitor's "
        "browser chooses, agents get English",
    )
    embed_selector: (
        Annotated[str, StringConstraints(min_length=1, max_length=MAX_SELECTOR)] | None
    ) = Field(None, description="the page element embedded mode draws in, e.g. `#help-chat`")
    theme: Theme | None = None
    texts: Texts | None = None
    items: list[Item] = Field(default_factory=list, max_length=MAX_ITEMS)
    triggers: list[Trigger] = Field(
        default_factory=list,
        max_length=MAX_TRIGGERS,
        description="tried in order, the first that holds wins; a default one showing the "
        "chat button follows unless one holds everywhere",
    )


class WidgetConfigOut(BaseModel):
    active: bool
    analytics: bool = True
    mode: Literal["floating", "embedded"]
    language: str = "auto"
    embed_selector: str | None
    theme: dict[str, str]
    texts: dict[str, str]
    items: list[dict[str, Any]]
    triggers: list[dict[str, Any]]
    updated_at: datetime | None = Field(description="null: never changed, the default")


def widget_config_out(config: WidgetConfig) -> WidgetConfigOut:
    return WidgetConfigOut.model_validate({**config.document, "updated_at": config.updated_at})


@resource.route(
    "GET",
    "/widget-config",
    summary="Read the widget configuration",
    scopes=READERS,
    params=Empty,
    query=Empty,
    body=Empty,
    response=WidgetConfigOut,
)
async def get_widget_config(call: Call[Empty, Empty, Empty]) -> WidgetConfigOut:
    """The tenant's configuration, or the default when it never changed it."""
    return widget_config_out(await call.services.widget_configs.get(call.tenant_id))


@resource.route(
    "PUT",
    "/widget-config",
    summary="Replace the widget configuration",
    scopes=ADMINS,
    params=Empty,
    query=Empty,
    body=WidgetConfigIn,
    response=WidgetConfigOut,
)
async def put_widget_config(call: Call[Empty, Empty, WidgetConfigIn]) -> WidgetConfigOut:
    """The whole configuration: what the body leaves out takes its default. Sites see the
    change within a minute (the loader's copy may be cached that long)."""
    document = call.body.model_dump(exclude_none=True)
    stored = await call.services.widget_configs.put(call.tenant_id, document)
    return widget_config_out(stored)
