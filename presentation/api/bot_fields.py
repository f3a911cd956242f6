"""A queue's bot configuration in the REST API (``QueueOut.bot``, and ``bot`` of a
queue's create and update bodies).

The request model describes the document for clients and refuses what is plainly
wrong at the edge; the document it carries is then read by
``business.bot_config.read_bot_config``, as the CLI's ``queue set --bot-config`` reads
its file, so the two edges accept exactly the same configurations, and the business
rules (unique option ids and labels, an answer unless an option hands over …) speak
for themselves.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from business.bot_config import (
    MAX_BOT_TEXT,
    MAX_FAQ,
    MAX_KEYWORD,
    MAX_KEYWORDS,
    MAX_LABEL,
    MAX_MENU,
    MAX_MISSES,
    MAX_NAME,
    read_bot_config,
)
from business.bot_model import BotConfig, BotKind
from business.rich import Rich, rich_to_json
from presentation.api.registry import Body

OPTION_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"
"""A menu option's or quick reply's id (``business.bot_config``'s rule)."""
BotText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_BOT_TEXT)]
Keyword = Annotated[str, StringConstraints(min_length=1, max_length=MAX_KEYWORD)]
RICH = (
    "rich content under the answer instead of the menu: exactly one of `quick_replies`, "
    "`buttons`, `card`, `carousel` or `list_picker` (the visitor protocol's `rich`); a "
    "choice whose payload is a menu option's id chooses that option"
)


class BotMenuOptionIn(Body):
    id: str = Field(pattern=OPTION_ID_PATTERN)
    label: str = Field(min_length=1, max_length=MAX_LABEL)
    answer: BotText | None = Field(None, description="what choosing it answers")
    handover: bool = Field(False, description="choosing it hands over to a person (no answer)")
    rich: dict[str, Any] | None = Field(None, description=RICH)


class BotFaqIn(Body):
    keywords: list[Keyword] = Field(min_length=1, max_length=MAX_KEYWORDS)
    answer: BotText
    rich: dict[str, Any] | None = Field(None, description=RICH)


class BotConfigIn(Body):
    """A queue's bot. Every setting may be left out (or null) and then takes its
    default."""

    kind: BotKind = Field(
        BotKind.RULES,
        description="`rules`: the built-in rules bot; `external`: your own, which hears the "
        "chat through webhooks and answers through this API with a `bot` key (the engine "
        "says nothing itself; the other settings are the rules bot's)",
    )
    name: str | None = Field(
        None, min_length=1, max_length=MAX_NAME, description="the sender the visitor sees"
    )
    greeting: BotText | None = None
    greeting_rich: dict[str, Any] | None = Field(None, description=RICH)
    menu: list[BotMenuOptionIn] | None = Field(
        None, max_length=MAX_MENU, description="the quick replies under each bot message"
    )
    faq: list[BotFaqIn] | None = Field(
        None, max_length=MAX_FAQ, description="keyword answers, tried in order"
    )
    handover_keywords: list[Keyword] | None = Field(None, max_length=MAX_KEYWORDS)
    handover_after_misses: int | None = Field(
        None, ge=0, le=MAX_MISSES, description="misses in a row before the hand-over; 0: never"
    )
    miss_text: BotText | None = None
    handover_text: BotText | None = None
    busy_text: BotText | None = Field(
        None, description="said instead of handing over while the queue is full"
    )

    def config(self) -> BotConfig:
        """The configuration, read and checked by the business rules (``InvalidInput``
        naming the first thing wrong)."""
        # Null is "the default" as leaving out is (an option's null answer, as a GET
        # shows a handing-over option's, included): the reader knows no null.
        document: dict[str, Any] = self.model_dump(
            mode="json", exclude_unset=True, exclude_none=True
        )
        return read_bot_config(document)


class BotMenuOptionOut(BaseModel):
    id: str
    label: str
    answer: str | None = Field(description="null when the option hands over")
    handover: bool
    rich: dict[str, Any] | None = Field(None, description=RICH)


class BotFaqOut(BaseModel):
    keywords: list[str]
    answer: str
    rich: dict[str, Any] | None = Field(None, description=RICH)


class BotConfigOut(BaseModel):
    """The bot in effect, every setting written out (send it back as it is to keep it)."""

    kind: BotKind
    name: str
    greeting: str
    greeting_rich: dict[str, Any] | None = Field(None, description=RICH)
    menu: list[BotMenuOptionOut]
    faq: list[BotFaqOut]
    handover_keywords: list[str]
    handover_after_misses: int
    miss_text: str
    handover_text: str
    busy_text: str


def bot_out(config: BotConfig) -> BotConfigOut:
    return BotConfigOut(
        kind=config.kind,
        name=config.name,
        greeting=config.greeting,
        greeting_rich=_json(config.greeting_rich),
        menu=[
            BotMenuOptionOut(
                id=o.id, label=o.label, answer=o.answer, handover=o.handover, rich=_json(o.rich)
            )
            for o in config.menu
        ],
        faq=[
            BotFaqOut(keywords=list(f.keywords), answer=f.answer, rich=_json(f.rich))
            for f in config.faq
        ],
        handover_keywords=list(config.handover_keywords),
        handover_after_misses=config.handover_after_misses,
        miss_text=config.miss_text,
        handover_text=config.handover_text,
        busy_text=config.busy_text,
    )


def _json(rich: Rich | None) -> dict[str, Any] | None:
    return None if rich is None else dict(rich_to_json(rich))
