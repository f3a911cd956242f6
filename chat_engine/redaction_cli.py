"""``chat-engine tenant redaction TENANT …``: what is masked in a tenant's messages
before anything is stored (``docs/operations.md``, "PII redaction")."""

from __future__ import annotations

import argparse
from typing import TextIO

from business.errors import InvalidInput
from business.model import TenantId
from business.redaction import CustomPattern, RedactionSettings
from business.redaction_settings import ConfigureRedaction
from chat_engine.admin import configure_redaction, redaction_settings
from chat_engine.settings import Settings

_SWITCHES = (
    ("cards", "card numbers that pass the Luhn check (default on)"),
    ("ibans", "IBANs that pass the mod-97 check (default on)"),
    ("emails", "e-mail addresses (default off)"),
    ("phones", "phone numbers valid in their numbering plan (default off)"),
)


def add_parser(
    tenant_commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    redaction = tenant_commands.add_parser(
        "redaction",
        parents=[common],
        help="show or change what is masked in the tenant's messages",
        description=(
            "Card numbers, IBANs and, if asked for, e-mail addresses, phone numbers and "
            "the tenant's own patterns are masked in every message (visitors', agents', "
            "bots') before it is stored, delivered, logged or sent to a webhook; messages "
            "stored before a change stay as they are. Without options, shows the settings. "
            "Change what is given; the rest stays."
        ),
    )
    redaction.add_argument("tenant_id", metavar="TENANT", help="the tenant's id")
    for name, what in _SWITCHES:
        redaction.add_argument(f"--{name}", choices=("on", "off"), help=f"mask {what}")
    redaction.add_argument(
        "--phone-region",
        metavar="CC|none",
        help="the country whose national numbers count (e.g. DE: '030 1234567'); "
        "none: only numbers written with their country code (+49 …)",
    )
    redaction.add_argument(
        "--pattern",
        action="append",
        default=[],
        metavar="NAME=REGEX",
        help="mask what this Python regular expression matches (replaces a pattern of the "
        "same name; runs on every message, so keep it simple); repeatable",
    )
    redaction.add_argument(
        "--remove-pattern", action="append", default=[], metavar="NAME", help="drop a pattern"
    )


async def tenant_redaction(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    tenant = TenantId(args.tenant_id.strip())
    switches = {name: getattr(args, name) for name, _ in _SWITCHES}
    region = args.phone_region
    changing = (
        any(value is not None for value in switches.values())
        or region is not None
        or args.pattern
        or args.remove_pattern
    )
    if changing:
        extra = {} if region is None else {"phone_region": _region(region)}
        stored = await configure_redaction(
            settings,
            ConfigureRedaction(
                tenant_id=tenant,
                cards=_on(switches["cards"]),
                ibans=_on(switches["ibans"]),
                emails=_on(switches["emails"]),
                phones=_on(switches["phones"]),
                add_patterns=[_pattern(given) for given in args.pattern],
                remove_patterns=list(args.remove_pattern),
                **extra,  # type: ignore[arg-type]
            ),
        )
    else:
        stored = await redaction_settings(settings, tenant)
    out.write(describe(tenant, stored) + "\n")
    return 0


def describe(tenant_id: TenantId, settings: RedactionSettings) -> str:
    def said(on: bool) -> str:
        return "on" if on else "off"

    lines = [
        f"redaction of tenant {tenant_id}:",
        f"cards: {said(settings.cards)}",
        f"ibans: {said(settings.ibans)}",
        f"emails: {said(settings.emails)}",
        f"phones: {said(settings.phones)} (region: {settings.phone_region or 'none'})",
    ]
    lines.extend(f"pattern {p.name}: {p.regex}" for p in settings.patterns)
    if not settings.patterns:
        lines.append("no patterns")
    return "\n".join(lines)


def _on(value: str | None) -> bool | None:
    return None if value is None else value == "on"


def _region(value: str) -> str | None:
    return None if value.strip().lower() == "none" else value.strip().upper()


def _pattern(given: str) -> CustomPattern:
    name, equals, regex = given.partition("=")
    if not equals:
        raise InvalidInput(f"--pattern {given!r}: write NAME=REGEX")
    return CustomPattern(name.strip(), regex)
