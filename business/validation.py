"""The input rules, in one place: every edge (Socket.IO, XMPP, CLI, REST) calls these
instead of re-implementing them, so a value one edge accepts is never refused by another.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from business.errors import InvalidInput, TooLarge
from business.model import Participant, ParticipantKind, QueueName, TenantId, VisitorContext
from business.visit import check_counts, check_pages


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Sizes and counts the engine accepts; the ``[limits]`` section of the settings."""

    max_text_length: int = 4000
    max_sync_events: int = 500
    max_form_fields: int = 20
    max_custom_fields: int = 50
    """Also the cap on a conversation's custom fields after every ``context.update``."""
    max_field_length: int = 2000
    max_queue_waiting: int = 1000
    """Conversations one queue may hold waiting (a queue's own ``max_waiting`` wins)."""
    queue_position_window: int = 50
    """The first this many waiting conversations of a queue hear each change of their
    position; those further back keep the position they were last told (never lower than
    the true one) until they get this close. Telling every one of a thousand waiting
    visitors about every assignment would cost a thousand writes per chat taken."""

    def __post_init__(self) -> None:
        for name, (low, high) in _LIMIT_RANGES.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"{name}: expected an integer between {low} and {high}")


_LIMIT_RANGES = {
    "max_text_length": (1, 1_000_000),
    "max_sync_events": (1, 100_000),
    "max_form_fields": (0, 1000),
    "max_custom_fields": (0, 1000),
    "max_field_length": (1, 1_000_000),
    "max_queue_waiting": (1, 1_000_000),
    "queue_position_window": (1, 10_000),
}


TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_CLIENT_MSG_ID_RE = re.compile(r"[\x21-\x7e]{1,100}")
_QUEUE_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_FIELD_NAME_MAX = 100
# NUL, and surrogates that do not form a character: no database stores them (PostgreSQL
# rejects NUL, and neither can encode a lone surrogate as UTF-8), so they are refused as
# bad input instead of failing later as an internal error.
_UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")


def check_storable(value: str, what: str) -> str:
    if _UNSTORABLE_RE.search(value):
        raise InvalidInput(f"{what} contains a NUL or an unpaired surrogate character")
    return value


def check_text(text: str, limits: Limits, what: str = "text") -> str:
    """A message text: storable, not blank, not longer than ``max_text_length``."""
    check_storable(text, what)
    if not text.strip():
        raise InvalidInput(f"{what} must not be empty")
    if len(text) > limits.max_text_length:
        raise TooLarge(f"{what} is longer than {limits.max_text_length} characters")
    return text


def check_attachments(urls: Iterable[str], limits: Limits) -> tuple[str, ...]:
    """Files by URL: each an http(s) URL without spaces, storable, at most
    ``max_field_length`` characters."""
    checked = tuple(urls)
    for url in checked:
        check_storable(url, "attachment")
        if _URL_RE.fullmatch(url) is None:
            raise InvalidInput("an attachment must be an http or https URL")
        if len(url) > limits.max_field_length:
            raise TooLarge(f"an attachment URL is longer than {limits.max_field_length} characters")
    return checked


_URL_RE = re.compile(r"https?://[^\s/]+\S*", re.IGNORECASE)


def is_client_msg_id(value: str) -> bool:
    """1 to 100 printable ASCII characters: what a ``client_msg_id`` may be."""
    return _CLIENT_MSG_ID_RE.fullmatch(value) is not None


def check_client_msg_id(value: str) -> str:
    if not is_client_msg_id(value):
        raise InvalidInput("client_msg_id must be 1 to 100 printable ASCII characters")
    return value


def check_token(token: str) -> str:
    if not TOKEN_RE.fullmatch(token):
        raise InvalidInput("visitor_token is malformed")
    return token


def check_queue_name(name: str) -> QueueName:
    if not _QUEUE_NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"queue name {name!r} must be 1 to 64 lower-case letters, digits, '.', '_' or '-'"
        )
    return QueueName(name)


_TENANT_ID_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
TENANT_NAME_MAX = 100


def check_tenant_id(value: str) -> TenantId:
    """A tenant id is a slug: it is also the tenant's public widget key (``data-tenant``)
    and appears in URLs, so it needs no escaping anywhere."""
    if not _TENANT_ID_RE.fullmatch(value):
        raise InvalidInput(
            f"tenant id {value!r} must be 1 to 64 lower-case letters, digits or '-', "
            "not starting or ending with '-'"
        )
    return TenantId(value)


def check_tenant_name(name: str) -> str:
    name = check_storable(name.strip(), "tenant name")
    if not name or len(name) > TENANT_NAME_MAX:
        raise InvalidInput(f"a tenant name must be 1 to {TENANT_NAME_MAX} characters")
    return name


def check_fields(fields: Mapping[str, str], limit: int, limits: Limits, what: str) -> None:
    """A form or custom-variable map: at most ``limit`` fields of bounded size."""
    if len(fields) > limit:
        raise TooLarge(f"{what} has more than {limit} fields")
    for key, value in fields.items():
        if not key or len(key) > _FIELD_NAME_MAX:
            raise InvalidInput(f"{what} field names must be 1 to {_FIELD_NAME_MAX} characters")
        check_storable(key, f"{what} field name")
        check_storable(value, f"{what}.{key}")
        if len(value) > limits.max_field_length:
            raise TooLarge(f"{what}.{key} is longer than {limits.max_field_length} characters")


def check_context(context: VisitorContext, limits: Limits) -> None:
    for name in ("page_url", "page_title", "referrer"):
        value = getattr(context, name)
        if value is None:
            continue
        check_storable(value, f"context.{name}")
        if len(value) > limits.max_field_length:
            raise TooLarge(f"context.{name} is longer than {limits.max_field_length} characters")
    check_fields(context.custom, limits.max_custom_fields, limits, "context.custom")
    check_counts(context.visit_count, context.time_on_site)
    if context.pages is not None:
        check_pages(context.pages, limits.max_field_length)


def check_agent_name(name: str) -> str:
    name = name.strip()
    check_storable(name, "agent name")
    if len(name) > 100:
        raise InvalidInput("an agent name must be at most 100 characters")
    return name


# -- the agent desk's configuration -------------------------------------------------------

WORD_MAX = 32
"""The longest skill name, wrap-up code or canned-response name."""
_WORD_RE = re.compile(rf"[a-z][a-z0-9_-]{{0,{WORD_MAX - 1}}}")
MAX_SKILL_LEVEL = 10
MAX_SKILLS = 50
MAX_WRAP_UP_CODES = 20
OFFER_TIMEOUT_RANGE = (1, 600)
MAX_LAST_AGENT_WINDOW = 365 * 86400


def check_word(value: str, what: str) -> str:
    """A lower-case word: what skills, wrap-up codes and canned responses are called, so
    an agent can type them after a command without quoting."""
    if not _WORD_RE.fullmatch(value):
        raise InvalidInput(
            f"{what} {value!r} must be a lower-case word: a letter, then up to "
            f"{WORD_MAX - 1} letters, digits, '_' or '-'"
        )
    return value


def check_skills(skills: Mapping[str, int], what: str = "skill") -> dict[str, int]:
    """Skill name -> level (1..10), ordered by name."""
    if len(skills) > MAX_SKILLS:
        raise InvalidInput(f"at most {MAX_SKILLS} skills, not {len(skills)}")
    checked: dict[str, int] = {}
    for name, level in sorted(skills.items()):
        check_word(name, what)
        # bool is an int: True must not pass for level 1.
        if isinstance(level, bool) or not isinstance(level, int):
            raise InvalidInput(f"the level of {what} {name!r} must be a whole number")
        if not 1 <= level <= MAX_SKILL_LEVEL:
            raise InvalidInput(
                f"the level of {what} {name!r} must be between 1 and {MAX_SKILL_LEVEL}, not {level}"
            )
        checked[name] = level
    return checked


def check_wrap_up_codes(codes: Iterable[str]) -> tuple[str, ...]:
    """Wrap-up codes in the given order, each once."""
    unique = tuple(dict.fromkeys(check_word(code, "wrap-up code") for code in codes))
    if len(unique) > MAX_WRAP_UP_CODES:
        raise InvalidInput(f"a queue has at most {MAX_WRAP_UP_CODES} wrap-up codes")
    return unique


def check_offer_timeout(seconds: int) -> int:
    low, high = OFFER_TIMEOUT_RANGE
    if not low <= seconds <= high:
        raise InvalidInput(f"the offer timeout must be {low} to {high} seconds, not {seconds}")
    return seconds


def check_last_agent_window(seconds: int) -> int | None:
    """Seconds the last agent is preferred; 0 turns that off (None)."""
    if not 0 <= seconds <= MAX_LAST_AGENT_WINDOW:
        raise InvalidInput(
            f"the last-agent window must be 0 (off) to {MAX_LAST_AGENT_WINDOW} seconds, "
            f"not {seconds}"
        )
    return seconds or None


# -- integrators ------------------------------------------------------------------------

NAME_MAX = 100
"""The longest name a bot or the system writes under."""


def check_actor(actor: Participant) -> Participant:
    """Who an integrator acts as: a bot or the system, under a name the visitor and the
    agents may read (storable, not blank, at most ``NAME_MAX`` characters); the name
    comes back without surrounding spaces."""
    if actor.kind not in (ParticipantKind.BOT, ParticipantKind.SYSTEM):
        raise InvalidInput("an integrator acts as a bot or as the system")
    name = check_storable(actor.name, "sender name").strip()
    if not name:
        raise InvalidInput("the sender name must not be empty")
    if len(name) > NAME_MAX:
        raise TooLarge(f"the sender name is longer than {NAME_MAX} characters")
    if actor.id is not None:
        check_storable(actor.id, "sender id")
        if len(actor.id) > NAME_MAX:
            raise TooLarge(f"the sender id is longer than {NAME_MAX} characters")
    return Participant(kind=actor.kind, name=name, id=actor.id)
