"""A tenant's widget configuration: what the loader on the tenant's sites fetches before it
draws anything (``docs/widget-guide.md``).

The configuration is one JSON document, validated here and stored as it was validated
(``WidgetConfigRepository``); the widget's chat manager evaluates its triggers in the
visitor's browser, so everything in it is public: it holds no secret and is served to
anyone who asks (``GET /visitor-api/v1/widget-config``).

Shape (every key optional; what is left out takes the default of ``DEFAULT_DOCUMENT``)::

    {"active": true,                      # false: maintenance, the loader draws nothing
     "analytics": true,                   # false: the widget reports no page views etc.
     "mode": "floating" | "embedded",
     "language": "auto" | "en" | "de" | "fr" | "es" | "ar",   # auto: the browser's
     "embed_selector": "#help-chat",      # where embedded mode draws (required for it)
     "theme": {"accent": "#3b5bdb", "accent_text": "#ffffff"},
     "texts": {"title": ..., "greeting": ..., "input_placeholder": ..., "launcher_label": ...},
     "items": [{"id": "help", "type": "button" | "invitation", "text": "...",
                "offline": null | "hide" | {"text": "..."}}],
     "triggers": [{"id": "welcome", "conditions": CONDITION, "action": ACTION,
                   "only_if_available": false, "queue": "support"}]}

    CONDITION = {"all": [CONDITION, ...]} | {"any": [CONDITION, ...]} | {"not": CONDITION}
              | {"field": FIELD, "op": OP, "value": VALUE}
    ACTION    = {"type": "show", "item": ITEM_ID} | {"type": "open"}

An item's ``offline`` variant is what it shows when nobody can answer in the trigger's
queue (the engine's availability is 0: no agent free, or the queue closed): null (the
default) shows it as it is, and the chat waits in the queue; ``"hide"`` shows nothing
and lets the next trigger fire; ``{"text": ...}`` shows it with that text (an
invitation needs one) and opens the offline message form instead of the chat
(``business.offline_messages``).

The chat manager tries the triggers in order and the first whose conditions hold wins,
so a configuration always ends with a trigger that holds everywhere: when the stored
triggers have none without conditions, the default one (show the default button) is
added after them (``effective_document``). The same rules are implemented in
``presentation/widget/src/conditions.js``; the two change together.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from business.errors import InvalidInput
from business.languages import AUTO, check_language
from business.model import TenantId
from business.validation import check_queue_name

Json = None | bool | int | float | str | list["Json"] | dict[str, "Json"]

MODES: Final = ("floating", "embedded")
ITEM_TYPES: Final = ("button", "invitation")
ACTION_TYPES: Final = ("show", "open")
OFFLINE_HIDE: Final = "hide"
THEME_KEYS: Final = ("accent", "accent_text")
TEXT_KEYS: Final = ("title", "greeting", "input_placeholder", "launcher_label")
TEXT_FIELDS: Final = ("url", "title", "referrer", "device")
NUMBER_FIELDS: Final = ("time_on_page", "pages_in_visit", "visit_count")
"""Seconds on this page; pages seen in this visit (this one included); visits of this
browser to the site (this one included)."""
TEXT_OPS: Final = ("equals", "contains", "matches")
"""``matches``: a pattern where ``*`` is any run of characters and ``?`` one character,
matched against the whole value (so ``*/checkout*`` for "any checkout page")."""
NUMBER_OPS: Final = ("at_least", "at_most", "equals")
DEVICES: Final = ("desktop", "tablet", "mobile")
VARIABLE_PREFIX: Final = "var."
"""``var.NAME``: a custom variable the site set (``ChatEngine.set(NAME, value)``)."""

MAX_ITEMS: Final = 20
MAX_TRIGGERS: Final = 50
MAX_CONDITIONS: Final = 50
"""Leaves in one trigger's conditions."""
MAX_DEPTH: Final = 5
MAX_TEXT: Final = 500
MAX_SELECTOR: Final = 200
MAX_DOCUMENT_CHARS: Final = 64_000
MAX_WILDCARDS: Final = 8
"""``*`` in one ``matches`` pattern: each one multiplies the browser's worst-case work."""

DEFAULT_ITEM_ID: Final = "button"
DEFAULT_TRIGGER_ID: Final = "default"
DEFAULT_DOCUMENT: Final[Mapping[str, Json]] = {
    "active": True,
    "analytics": True,
    "mode": "floating",
    "language": AUTO,
    "embed_selector": None,
    "theme": {"accent": "#3b5bdb", "accent_text": "#ffffff"},
    "texts": {},
    "items": [],
    "triggers": [],
}

_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
TRIGGER_ID: Final = _ID
"""What an item's or a trigger's id looks like (``business.analytics`` checks reported ids)."""
_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_VARIABLE = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True, kw_only=True)
class WidgetConfig:
    tenant_id: TenantId
    document: Mapping[str, Json]
    """Validated (``validate_document``): every key present, nothing unknown."""
    updated_at: datetime | None
    """None: nothing stored, this is the default."""


def default_config(tenant_id: TenantId) -> WidgetConfig:
    return WidgetConfig(
        tenant_id=tenant_id, document=copy.deepcopy(dict(DEFAULT_DOCUMENT)), updated_at=None
    )


def validate_document(raw: object) -> dict[str, Json]:
    """``raw`` checked and completed with the defaults; ``InvalidInput`` naming the first
    problem by its path (``triggers[1].conditions.all[0].op: ...``)."""
    doc = _object(raw, "widget configuration", set(DEFAULT_DOCUMENT))
    if len(repr(raw)) > MAX_DOCUMENT_CHARS:
        raise InvalidInput(f"widget configuration: at most {MAX_DOCUMENT_CHARS} characters")
    out: dict[str, Json] = copy.deepcopy(dict(DEFAULT_DOCUMENT))
    if "active" in doc:
        out["active"] = _bool(doc["active"], "active")
    if "analytics" in doc:
        out["analytics"] = _bool(doc["analytics"], "analytics")
    if "mode" in doc:
        out["mode"] = _choice(doc["mode"], "mode", MODES)
    if "language" in doc:
        out["language"] = check_language(doc["language"])
    if doc.get("embed_selector") is not None:
        out["embed_selector"] = _string(doc["embed_selector"], "embed_selector", MAX_SELECTOR)
    if out["mode"] == "embedded" and out["embed_selector"] is None:
        raise InvalidInput("embed_selector: required in embedded mode (e.g. '#help-chat')")
    if "theme" in doc:
        theme = _object(doc["theme"], "theme", set(THEME_KEYS))
        merged = dict(_mapping(out["theme"]))
        for key, value in theme.items():
            merged[key] = _colour(value, f"theme.{key}")
        out["theme"] = merged
    if "texts" in doc:
        texts = _object(doc["texts"], "texts", set(TEXT_KEYS))
        out["texts"] = {key: _string(value, f"texts.{key}") for key, value in texts.items()}
    items = _list(doc.get("items", []), "items", MAX_ITEMS)
    checked_items: list[Json] = [_item(item, f"items[{i}]") for i, item in enumerate(items)]
    out["items"] = checked_items
    _unique(checked_items, "items")
    item_ids = {_mapping(item)["id"] for item in checked_items} | {DEFAULT_ITEM_ID}
    triggers = _list(doc.get("triggers", []), "triggers", MAX_TRIGGERS)
    checked: list[Json] = [
        _trigger(trigger, f"triggers[{i}]", item_ids) for i, trigger in enumerate(triggers)
    ]
    out["triggers"] = checked
    _unique(out["triggers"], "triggers")
    return out


def effective_document(document: Mapping[str, Json]) -> dict[str, Json]:
    """What the chat manager runs: the validated ``document`` with the default button
    item when no item is called that, and the default trigger after the stored ones when
    none of them holds everywhere (so some trigger always holds)."""
    out = copy.deepcopy(dict(document))
    out.setdefault("language", AUTO)  # stored before languages existed
    items = list(_sequence(out["items"]))
    if not any(_mapping(item)["id"] == DEFAULT_ITEM_ID for item in items):
        items.append({"id": DEFAULT_ITEM_ID, "type": "button", "text": None, "offline": None})
    triggers = list(_sequence(out["triggers"]))
    if not any(
        _mapping(t).get("conditions") is None and not _mapping(t)["only_if_available"]
        for t in triggers
    ):
        triggers.append(
            {
                "id": DEFAULT_TRIGGER_ID,
                "conditions": None,
                "action": {"type": "show", "item": DEFAULT_ITEM_ID},
                "only_if_available": False,
                "queue": None,
            }
        )
    out["items"] = items
    out["triggers"] = triggers
    return out


# -- parts -------------------------------------------------------------------------------


def _item(raw: object, where: str) -> dict[str, Json]:
    item = _object(raw, where, {"id", "type", "text", "offline"}, required=("id", "type"))
    kind = _choice(item["type"], f"{where}.type", ITEM_TYPES)
    text = None if item.get("text") is None else _string(item["text"], f"{where}.text")
    if kind == "invitation" and text is None:
        raise InvalidInput(f"{where}.text: an invitation needs a text")
    ident = _id(item["id"], f"{where}.id")
    if ident == DEFAULT_ITEM_ID and kind != "button":
        # The default trigger shows this item everywhere: as anything but the button it
        # would put an invitation on every page.
        raise InvalidInput(
            f"{where}.type: the item {DEFAULT_ITEM_ID!r} is the default button, of type 'button'"
        )
    return {
        "id": ident,
        "type": kind,
        "text": text,
        "offline": _offline(item.get("offline"), kind, f"{where}.offline"),
    }


def _offline(raw: object, kind: str, where: str) -> Json:
    """An item's offline variant: None (none: the item as it is), "hide", or {"text"}."""
    if raw is None or raw == OFFLINE_HIDE:
        return raw
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: null, {OFFLINE_HIDE!r} or an object like {{'text': ...}}")
    variant = _object(raw, where, {"text"})
    text = None if variant.get("text") is None else _string(variant["text"], f"{where}.text")
    if kind == "invitation" and text is None:
        raise InvalidInput(f"{where}.text: an invitation's offline variant needs a text")
    return {"text": text}


def _trigger(raw: object, where: str, item_ids: set[Json]) -> dict[str, Json]:
    keys = {"id", "conditions", "action", "only_if_available", "queue"}
    trigger = _object(raw, where, keys, required=("id", "action"))
    action = _object(trigger["action"], f"{where}.action", {"type", "item"}, required=("type",))
    kind = _choice(action["type"], f"{where}.action.type", ACTION_TYPES)
    out_action: dict[str, Json] = {"type": kind}
    if kind == "show":
        if "item" not in action:
            raise InvalidInput(f"{where}.action.item: required for 'show'")
        item = _id(action["item"], f"{where}.action.item")
        if item not in item_ids:
            raise InvalidInput(f"{where}.action.item: no item {item!r}")
        out_action["item"] = item
    elif "item" in action:
        raise InvalidInput(f"{where}.action.item: only 'show' takes an item")
    conditions = trigger.get("conditions")
    counter = [0]
    queue = trigger.get("queue")
    queue_name = None if queue is None else _queue_name(queue, f"{where}.queue")
    return {
        "id": _id(trigger["id"], f"{where}.id"),
        "conditions": None
        if conditions is None
        else _condition(conditions, f"{where}.conditions", 1, counter),
        "action": out_action,
        "only_if_available": _bool(
            trigger.get("only_if_available", False), f"{where}.only_if_available"
        ),
        "queue": queue_name,
    }


def _queue_name(raw: object, where: str) -> str:
    # The same rule as everywhere a queue is named (business.validation).
    try:
        if isinstance(raw, str):
            return check_queue_name(raw)
    except InvalidInput:
        pass
    raise InvalidInput(f"{where}: a queue name (lower-case letters, digits, '.', '-', '_')")


def _condition(raw: object, where: str, depth: int, leaves: list[int]) -> dict[str, Json]:
    if depth > MAX_DEPTH:
        raise InvalidInput(f"{where}: conditions nest at most {MAX_DEPTH} deep")
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: an object")
    if len(raw) == 1 and next(iter(raw)) in ("all", "any"):
        (key, parts), *_ = raw.items()
        listed = _list(parts, f"{where}.{key}", MAX_CONDITIONS)
        if not listed:
            raise InvalidInput(f"{where}.{key}: at least one condition")
        return {
            key: [
                _condition(part, f"{where}.{key}[{i}]", depth + 1, leaves)
                for i, part in enumerate(listed)
            ]
        }
    if len(raw) == 1 and "not" in raw:
        return {"not": _condition(raw["not"], f"{where}.not", depth + 1, leaves)}
    leaves[0] += 1
    if leaves[0] > MAX_CONDITIONS:
        raise InvalidInput(f"{where}: at most {MAX_CONDITIONS} conditions in a trigger")
    leaf = _object(
        raw,
        where,
        {"field", "op", "value"},
        required=("field", "op", "value"),
        hint="'all', 'any', 'not', or 'field' with 'op' and 'value'",
    )
    field = leaf["field"]
    value = leaf["value"]
    if field in NUMBER_FIELDS:
        op = _choice(leaf["op"], f"{where}.op", NUMBER_OPS)
        return {"field": field, "op": op, "value": _number(value, f"{where}.value")}
    if field == "device":
        _choice(leaf["op"], f"{where}.op", ("equals",))
        return {"field": field, "op": "equals", "value": _choice(value, f"{where}.value", DEVICES)}
    if field in TEXT_FIELDS:
        op = _choice(leaf["op"], f"{where}.op", TEXT_OPS)
        return {"field": field, "op": op, "value": _text_value(value, op, f"{where}.value")}
    if isinstance(field, str) and field.startswith(VARIABLE_PREFIX):
        if not _VARIABLE.fullmatch(field[len(VARIABLE_PREFIX) :]):
            raise InvalidInput(f"{where}.field: var.NAME, NAME of letters, digits, '-', '_'")
        if isinstance(value, str):
            op = _choice(leaf["op"], f"{where}.op", TEXT_OPS)
            return {"field": field, "op": op, "value": _text_value(value, op, f"{where}.value")}
        op = _choice(leaf["op"], f"{where}.op", NUMBER_OPS)
        return {"field": field, "op": op, "value": _number(value, f"{where}.value")}
    known = ", ".join((*TEXT_FIELDS, *NUMBER_FIELDS, "var.NAME"))
    raise InvalidInput(f"{where}.field: one of {known}")


# -- values ------------------------------------------------------------------------------


def _text_value(raw: object, op: str, where: str) -> str:
    text = _string(raw, where, empty=True)
    if op == "matches" and text.count("*") > MAX_WILDCARDS:
        raise InvalidInput(f"{where}: at most {MAX_WILDCARDS} '*' in a pattern")
    return text


def _object(
    raw: object,
    where: str,
    allowed: set[str],
    *,
    required: Sequence[str] = (),
    hint: str | None = None,
) -> dict[str, object]:
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: an object")
    unknown = sorted(str(key) for key in raw if key not in allowed)
    if unknown:
        raise InvalidInput(
            f"{where}: unknown key {unknown[0]!r} (expected {hint or ', '.join(sorted(allowed))})"
        )
    for key in required:
        if key not in raw:
            raise InvalidInput(f"{where}.{key}: required")
    return raw


def _list(raw: object, where: str, limit: int) -> list[object]:
    if not isinstance(raw, list):
        raise InvalidInput(f"{where}: a list")
    if len(raw) > limit:
        raise InvalidInput(f"{where}: at most {limit}")
    return raw


def _string(raw: object, where: str, limit: int = MAX_TEXT, *, empty: bool = False) -> str:
    if not isinstance(raw, str) or (not empty and not raw.strip()):
        raise InvalidInput(f"{where}: a text" + ("" if empty else " that is not blank"))
    if len(raw) > limit:
        raise InvalidInput(f"{where}: at most {limit} characters")
    if any(ord(ch) < 32 and ch not in "\t\n" for ch in raw):
        raise InvalidInput(f"{where}: no control characters")
    return raw


def _bool(raw: object, where: str) -> bool:
    if not isinstance(raw, bool):
        raise InvalidInput(f"{where}: true or false")
    return raw


def _number(raw: object, where: str) -> int | float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw != raw:
        raise InvalidInput(f"{where}: a number")
    if not -1e9 <= raw <= 1e9:
        raise InvalidInput(f"{where}: between -1e9 and 1e9")
    return raw


def _choice(raw: object, where: str, choices: Sequence[str]) -> str:
    if not isinstance(raw, str) or raw not in choices:
        raise InvalidInput(f"{where}: one of {', '.join(choices)}")
    return raw


def _colour(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not _COLOUR.fullmatch(raw):
        raise InvalidInput(f"{where}: a colour like #3b5bdb")
    return raw.lower()


def _id(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not _ID.fullmatch(raw):
        raise InvalidInput(f"{where}: 1 to 40 lower-case letters, digits, '-' or '_'")
    return raw


def _unique(entries: Json, where: str) -> None:
    seen: set[Json] = set()
    for entry in _sequence(entries):
        ident = _mapping(entry)["id"]
        if ident in seen:
            raise InvalidInput(f"{where}: the id {ident!r} is used twice")
        seen.add(ident)


def _mapping(value: Json) -> dict[str, Json]:
    assert isinstance(value, dict)
    return value


def _sequence(value: Json) -> list[Json]:
    assert isinstance(value, list)
    return value
