"""Field types the resources share, and the base of partial updates (PATCH bodies).

The patterns repeat the business rules (``business.validation``) so that the document
tells clients what is accepted; the business layer still checks every value, and its
message is the one a client sees when the two disagree.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints, model_validator

from business.validation import MAX_SKILL_LEVEL, MAX_SKILLS, WORD_MAX
from presentation.api.registry import Body

QUEUE_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
WORD_PATTERN = rf"^[a-z][a-z0-9_-]{{0,{WORD_MAX - 1}}}$"
TENANT_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"

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


class PatchBody(Body):
    """A partial update: a field left out stays as it is. ``null`` is a value only for
    the fields in ``NULLABLE`` (it means "back to the default" there); for any other
    field it is refused, so that in the handler None can only mean "left out"."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_null(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if not data:
                raise ValueError("give at least one field to change")
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
        resolved["minProperties"] = 1
        return schema

    def given(self) -> frozenset[str]:
        """The fields the client sent."""
        return frozenset(self.model_fields_set)
