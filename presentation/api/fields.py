"""Field types the resources share, and the base of partial updates (PATCH bodies).

The patterns repeat the business rules (``business.validation``) so that the document
tells clients what is accepted; the business layer still checks every value, and its
message is the one a client sees when the two disagree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints, model_validator

from business.validation import MAX_SKILL_LEVEL, MAX_SKILLS, WORD_MAX
from presentation.api.registry import Body

QUEUE_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
WORD_PATTERN = rf"^[a-z][a-z0-9_-]{{0,{WORD_MAX - 1}}}$"
TENANT_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,256}$"
"""The keyset cursors the use cases make (URL-safe base64, about 90 characters)."""
ID_PATTERN = r"^[!-~]{1,255}$"
"""The engine's ids (of conversations, visitors, agents) are printable ASCII: a value
that could be none is refused before it reaches a query (PostgreSQL refuses NUL in text,
which would be a 500 rather than a 400)."""

QueueName = Annotated[
    str, StringConstraints(pattern=QUEUE_NAME_PATTERN), Field(description="a queue's name")
]
Word = Annotated[str, StringConstraints(pattern=WORD_PATTERN)]
Level = Annotated[int, Field(ge=1, le=MAX_SKILL_LEVEL)]
Skills = Annotated[
    dict[Word, Level],
    Field(
        max_length=MAX_SKILLS,
        description="skill name -> level 1-10",
        # What pydantic refuses, the schema must refuse too: other names.
        json_schema_extra={"additionalProperties": False},
    ),
]
TenantId = Annotated[
    str,
    StringConstraints(pattern=TENANT_ID_PATTERN),
    Field(description="the tenant's slug, also its public widget key (`data-tenant`)"),
]

EntityId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]

SEQUENCE_MAX = 2**31 - 1
"""``seq`` and ``pos`` are 32-bit in the store: a larger bound could not be compared."""


def _to_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("the instant is out of range") from None


Instant = Annotated[
    AwareDatetime,
    AfterValidator(_to_utc),
    Field(
        description="an ISO 8601 instant with its offset, e.g. `2026-05-01T00:00:00Z` (in a "
        "URL, write `+` as `%2B`)"
    ),
]
"""A point in time a client gives: an offset is required (a time without one would be
the server's guess)."""


def _in_range(day: date) -> date:
    # The day after is computed (a day's end): the last representable day has none.
    if not 1970 <= day.year <= 9998:
        raise ValueError("the day must be in the years 1970 to 9998")
    return day


Day = Annotated[date, AfterValidator(_in_range), Field(description="a UTC day, `2026-05-01`")]


class OptionalBody(Body):
    """A body whose optional fields may be left out but, except those in ``NULLABLE``,
    not be ``null``: so that in the handler None can only mean "left out", and the
    schema says exactly what is accepted."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_null(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, value in data.items():
                if value is None and name in cls.model_fields and name not in cls.NULLABLE:
                    raise ValueError(f"{name} may be left out but not null")
        return data

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        schema = handler(core_schema)
        resolved = handler.resolve_ref_schema(schema)
        for name, prop in resolved.get("properties", {}).items():
            if name in cls.NULLABLE:
                continue
            prop.pop("default", None)
            options = prop.pop("anyOf", None)
            if options is not None:
                (kept,) = [o for o in options if o != {"type": "null"}]
                prop.update(kept)
        return schema

    def given(self) -> frozenset[str]:
        """The fields the client sent."""
        return frozenset(self.model_fields_set)


class PatchBody(OptionalBody):
    """A partial update: a field left out stays as it is. ``null`` is a value only for
    the fields in ``NULLABLE`` (it means "back to the default" there)."""

    @model_validator(mode="before")
    @classmethod
    def _not_empty(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data:
            raise ValueError("give at least one field to change")
        return data

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        schema = super().__get_pydantic_json_schema__(core_schema, handler)
        handler.resolve_ref_schema(schema)["minProperties"] = 1
        return schema
