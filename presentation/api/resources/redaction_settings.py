"""``/redaction-settings``: what is masked in the tenant's messages before anything is
stored (card numbers, IBANs, optionally e-mail addresses, phone numbers and the tenant's
own patterns), as ``chat-engine tenant redaction`` changes them.

Through ``RedactionSettingsService``; ``business.redaction.check_settings`` checks every
value and names the first problem.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from business.redaction import (
    MAX_PATTERN_LENGTH,
    MAX_PATTERNS,
    CustomPattern,
    RedactionSettings,
)
from business.redaction_settings import ConfigureRedaction
from presentation.api.registry import ADMINS, Body, Call, Empty, Resource

resource = Resource(
    "redaction-settings",
    "PII redaction: what is masked in every message (visitors', agents', bots') before "
    "it is stored, delivered, logged or sent to a webhook. Messages stored before a "
    "change stay as they are.",
)

PatternName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]
Region = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class PatternModel(Body):
    name: PatternName = Field(description="what it masks, e.g. `order-number`")
    regex: str = Field(
        min_length=1,
        max_length=MAX_PATTERN_LENGTH,
        description="a Python regular expression; everything it matches is masked. It runs "
        "on every message: keep it simple (no nested repetition)",
    )


class RedactionSettingsModel(Body):
    cards: bool = Field(True, description="mask card numbers that pass the Luhn check")
    ibans: bool = Field(True, description="mask IBANs that pass the mod-97 check")
    emails: bool = Field(False, description="mask e-mail addresses")
    phones: bool = Field(
        False, description="mask phone numbers valid in their numbering plan (libphonenumber)"
    )
    phone_region: Region | None = Field(
        None,
        description="the country whose national numbers count (`DE`: `030 1234567`); null: "
        "only numbers written with their country code",
    )
    patterns: list[PatternModel] = Field(
        default_factory=list, max_length=MAX_PATTERNS, description="the tenant's own patterns"
    )


class RedactionSettingsOut(BaseModel):
    cards: bool
    ibans: bool
    emails: bool
    phones: bool
    phone_region: str | None
    patterns: list[PatternModel]


def settings_out(settings: RedactionSettings) -> RedactionSettingsOut:
    return RedactionSettingsOut(
        cards=settings.cards,
        ibans=settings.ibans,
        emails=settings.emails,
        phones=settings.phones,
        phone_region=settings.phone_region,
        patterns=[PatternModel(name=p.name, regex=p.regex) for p in settings.patterns],
    )


@resource.route(
    "GET",
    "/redaction-settings",
    summary="Read the redaction settings",
    scopes=ADMINS,
    params=Empty,
    query=Empty,
    body=Empty,
    response=RedactionSettingsOut,
)
async def get_redaction_settings(call: Call[Empty, Empty, Empty]) -> RedactionSettingsOut:
    """What is masked; a tenant that never changed them masks card numbers and IBANs."""
    return settings_out(await call.services.redaction_settings.get(call.tenant_id))


@resource.route(
    "PUT",
    "/redaction-settings",
    summary="Replace the redaction settings",
    scopes=ADMINS,
    params=Empty,
    query=Empty,
    body=RedactionSettingsModel,
    response=RedactionSettingsOut,
)
async def put_redaction_settings(
    call: Call[Empty, Empty, RedactionSettingsModel],
) -> RedactionSettingsOut:
    """The whole settings: what the body leaves out takes its default. They apply to
    every message stored from now on."""
    body = call.body
    stored = await call.services.redaction_settings.configure(
        ConfigureRedaction(
            tenant_id=call.tenant_id,
            cards=body.cards,
            ibans=body.ibans,
            emails=body.emails,
            phones=body.phones,
            phone_region=body.phone_region,
            patterns=[CustomPattern(p.name, p.regex) for p in body.patterns],
        )
    )
    return settings_out(stored)
