"""A queue's bot configuration as a document (JSON-shaped): read and checked once here,
for every edge (the CLI's ``queue set --bot-config``, the REST API later) and for the
store, which keeps the same document (``bot_config_to_json``). The quick replies an
integrator's bot sends with a message follow the menu's rules (``check_quick_replies``).

Every field is optional; what is left out takes the default of ``BotConfig``. Unknown
fields are refused, so a misspelt ``handover_keyword`` is not silently ignored::

    {
      "kind": "rules",
      "name": "Ava",
      "greeting": "Hi! Pick a topic or ask me a question.",
      "menu": [
        {"id": "hours", "label": "Opening hours", "answer": "We are open 9-17, Mon-Fri."},
        {"id": "person", "label": "Talk to a person", "handover": true}
      ],
      "faq": [{"keywords": ["invoice", "refund"], "answer": "See Account > Billing."}],
      "greeting_rich": {"quick_replies": [{"label": "Opening hours", "payload": "hours"}]},
      "handover_keywords": ["agent", "human"],
      "handover_after_misses": 2,
      "miss_text": "Sorry, I did not get that.",
      "handover_text": "Handing you over to a person now.",
      "busy_text": "Everyone is busy; please try again later."
    }

The greeting (``greeting_rich``), a menu option's answer and a keyword answer (their
``rich``) may carry rich content (``business.rich``, checked as an agent's or a canned
response's is), sent instead of the menu's quick replies; a choice whose payload is a
menu option's id chooses that option (``business.rules_bot``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from business.bot_model import BotConfig, BotFaq, BotKind, BotMenuOption, QuickReply, fold
from business.errors import InvalidInput
from business.rich import Rich, parse_rich, rich_to_json
from business.validation import check_storable

MAX_BOT_TEXT = 2000
MAX_NAME = 100
MAX_LABEL = 60
MAX_MENU = 10
MAX_FAQ = 200
MAX_KEYWORDS = 50
MAX_KEYWORD = 100
MAX_MISSES = 20
_OPTION_ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_FIELDS = frozenset(
    {
        "kind",
        "name",
        "greeting",
        "greeting_rich",
        "menu",
        "faq",
        "handover_keywords",
        "handover_after_misses",
        "miss_text",
        "handover_text",
        "busy_text",
    }
)
_TEXTS = ("greeting", "miss_text", "handover_text", "busy_text")


def read_bot_config(document: Mapping[str, Any]) -> BotConfig:
    """The ``BotConfig`` a document describes; ``InvalidInput`` naming the first field
    that is wrong."""
    if not isinstance(document, Mapping):
        raise InvalidInput("a bot configuration must be an object")
    unknown = sorted(set(document) - _FIELDS)
    if unknown:
        raise InvalidInput(f"unknown bot setting {unknown[0]!r}")
    fields: dict[str, Any] = {}
    if "kind" in document:
        kind = document["kind"]
        if kind not in {k.value for k in BotKind}:
            known = ", ".join(k.value for k in BotKind)
            raise InvalidInput(f"bot kind must be one of {known}, not {kind!r}")
        fields["kind"] = BotKind(kind)
    if "name" in document:
        fields["name"] = _text(document["name"], "bot name", MAX_NAME)
    for name in _TEXTS:
        if name in document:
            fields[name] = _text(document[name], name, MAX_BOT_TEXT)
    if document.get("greeting_rich") is not None:
        fields["greeting_rich"] = parse_rich(document["greeting_rich"], "greeting_rich")
    if "menu" in document:
        fields["menu"] = _menu(document["menu"])
    if "faq" in document:
        fields["faq"] = tuple(
            _faq(entry, index)
            for index, entry in enumerate(_list(document["faq"], "faq", MAX_FAQ), 1)
        )
    if "handover_keywords" in document:
        fields["handover_keywords"] = _keywords(
            document["handover_keywords"], "handover_keywords", allow_empty=True
        )
    if "handover_after_misses" in document:
        misses = document["handover_after_misses"]
        if isinstance(misses, bool) or not isinstance(misses, int):
            raise InvalidInput("handover_after_misses must be a whole number")
        if not 0 <= misses <= MAX_MISSES:
            raise InvalidInput(f"handover_after_misses must be 0 (never) to {MAX_MISSES}")
        fields["handover_after_misses"] = misses
    return BotConfig(**fields)


def bot_config_to_json(config: BotConfig) -> dict[str, Any]:
    """The whole document for ``config``, defaults written out: what is stored, and what
    ``read_bot_config`` reads back to an equal ``BotConfig``."""
    document: dict[str, Any] = {
        "kind": config.kind.value,
        "name": config.name,
        "greeting": config.greeting,
        "greeting_rich": _rich_json(config.greeting_rich),
        "menu": [_option_to_json(option) for option in config.menu],
        "faq": [_faq_to_json(f) for f in config.faq],
        "handover_keywords": list(config.handover_keywords),
        "handover_after_misses": config.handover_after_misses,
        "miss_text": config.miss_text,
        "handover_text": config.handover_text,
        "busy_text": config.busy_text,
    }
    return document


def _rich_json(rich: Rich | None) -> dict[str, Any] | None:
    return None if rich is None else rich_to_json(rich)


def _option_to_json(option: BotMenuOption) -> dict[str, Any]:
    document: dict[str, Any] = {"id": option.id, "label": option.label}
    if option.handover:
        document["handover"] = True
    else:
        document["answer"] = option.answer
    if option.rich is not None:
        document["rich"] = rich_to_json(option.rich)
    return document


def _faq_to_json(faq: BotFaq) -> dict[str, Any]:
    document: dict[str, Any] = {"keywords": list(faq.keywords), "answer": faq.answer}
    if faq.rich is not None:
        document["rich"] = rich_to_json(faq.rich)
    return document


def _rich(entry: Mapping[str, Any], path: str) -> Rich | None:
    if entry.get("rich") is None:
        return None
    return parse_rich(entry["rich"], path)


def _text(value: object, what: str, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text")
    text = check_storable(value.strip(), what)
    if not text:
        raise InvalidInput(f"{what} must not be empty")
    if len(text) > limit:
        raise InvalidInput(f"{what} must be at most {limit} characters")
    return text


def _list(value: object, what: str, limit: int) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise InvalidInput(f"{what} must be a list")
    if len(value) > limit:
        raise InvalidInput(f"{what} has at most {limit} entries, not {len(value)}")
    return value


def _object(value: object, what: str, fields: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{what} must be an object")
    unknown = sorted(set(value) - fields)
    if unknown:
        raise InvalidInput(f"{what} has an unknown field {unknown[0]!r}")
    return value


_OPTION_FIELDS = frozenset({"id", "label", "answer", "handover", "rich"})


def check_quick_replies(replies: Sequence[QuickReply]) -> tuple[QuickReply, ...]:
    """Buttons an integrator's bot puts under its message, checked by the rules of the
    rules bot's menu: at most ``MAX_MENU``, each with an option id and a label of 1 to
    ``MAX_LABEL`` characters (surrounding spaces dropped), no two reading the same (a
    click sends the label as the visitor's message, so it must say which was meant)."""
    if len(replies) > MAX_MENU:
        raise InvalidInput(f"quick_replies has at most {MAX_MENU} entries, not {len(replies)}")
    checked: list[QuickReply] = []
    seen: set[str] = set()
    for index, reply in enumerate(replies, 1):
        what = f"quick reply {index}"
        option_id = _option_id(reply.id, what)
        label = _text(reply.label, f"the label of {what}", MAX_LABEL)
        _distinct(seen, option_id, label, what)
        checked.append(QuickReply(id=option_id, label=label))
    return tuple(checked)


def _option_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not _OPTION_ID_RE.fullmatch(value):
        raise InvalidInput(
            f"{what} needs an id: a lower-case letter or digit, then up to 39 letters, "
            "digits, '_' or '-'"
        )
    return value


def _distinct(seen: set[str], option_id: str, label: str, what: str) -> None:
    # Typed labels and ids choose options too, so no two may read the same; an option's
    # own id may read as its label ("hours", "Hours"): both choose that option.
    keys = (option_id, fold(label))
    for key in keys:
        if key in seen:
            raise InvalidInput(f"{what}: another option has the id or label {key!r}")
    seen.update(keys)


def _menu(value: object) -> tuple[BotMenuOption, ...]:
    options: list[BotMenuOption] = []
    seen: set[str] = set()
    for index, raw in enumerate(_list(value, "menu", MAX_MENU), 1):
        what = f"menu option {index}"
        entry = _object(raw, what, _OPTION_FIELDS)
        option_id = _option_id(entry.get("id"), what)
        label = _text(entry.get("label"), f"the label of {what}", MAX_LABEL)
        handover = entry.get("handover", False)
        if not isinstance(handover, bool):
            raise InvalidInput(f"handover of {what} must be true or false")
        answer = None
        if handover:
            if "answer" in entry or entry.get("rich") is not None:
                raise InvalidInput(f"{what} hands over: it has no answer of its own")
        else:
            answer = _text(entry.get("answer"), f"the answer of {what}", MAX_BOT_TEXT)
        rich = _rich(entry, f"menu[{index - 1}].rich")
        _distinct(seen, option_id, label, what)
        options.append(
            BotMenuOption(id=option_id, label=label, answer=answer, handover=handover, rich=rich)
        )
    return tuple(options)


_FAQ_FIELDS = frozenset({"keywords", "answer", "rich"})


def _faq(raw: object, index: int) -> BotFaq:
    what = f"faq entry {index}"
    entry = _object(raw, what, _FAQ_FIELDS)
    keywords = _keywords(entry.get("keywords"), f"the keywords of {what}", allow_empty=False)
    return BotFaq(
        keywords=keywords,
        answer=_text(entry.get("answer"), f"the answer of {what}", MAX_BOT_TEXT),
        rich=_rich(entry, f"faq[{index - 1}].rich"),
    )


def _keywords(value: object, what: str, *, allow_empty: bool) -> tuple[str, ...]:
    words = [
        _text(word, f"a keyword in {what}", MAX_KEYWORD)
        for word in _list(value, what, MAX_KEYWORDS)
    ]
    if not words and not allow_empty:
        raise InvalidInput(f"{what} must name at least one keyword")
    return tuple(dict.fromkeys(fold(word) for word in words))
