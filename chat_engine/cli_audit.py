"""The command line's side of the audit log: which commands change something, and
the entry each writes once it succeeded.

Read-only commands (``list``, ``show``, ``queue bot``, reports, a settings command
without options, a dry run) and the ones that serve (``run``, ``dev``, ``cluster``)
write nothing; ``visitor export|erase`` write their own entry
(``business.visitor_data``). The detail names the options given, never their values
(an identity secret's file, a canned text, an address).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Final

from business.model import TenantId

_NOT_AUDITED: Final = frozenset({"run", "dev", "cluster", "report", "audit", "visitor"})
_READS: Final = frozenset({"list", "show"})
_READ_COMMANDS: Final = frozenset({("queue", "bot")})
"""Reads whose subcommand name does not say so (``queue bot`` prints the bot's
configuration)."""
_SETTINGS_CHANGES: Final = {
    ("tenant", "files"): ("max_bytes", "allow", "retention_days"),
    ("tenant", "identity"): (
        "mode",
        "audience",
        "hs256_secret_file",
        "public_key_file",
        "remove_key",
        "map_extra",
        "clear_extra_map",
    ),
    ("tenant", "set"): ("transcript_auto_send",),
    ("tenant", "retention"): ("conversations_days", "visitors_days"),
    ("tenant", "redaction"): (
        "cards",
        "ibans",
        "emails",
        "phones",
        "phone_region",
        "pattern",
        "remove_pattern",
    ),
}
"""Commands that only show, unless one of these options is given."""
_TARGETS: Final = ("jid", "address", "visitor_id", "key_id", "queue", "name")
_GLOBAL: Final = frozenset(
    {"config", "host", "port", "database_url", "log_level", "log_json", "command", "yes"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CliAction:
    action: str
    tenant_id: TenantId | None
    target: str | None
    options: tuple[str, ...]


def audited_action(args: argparse.Namespace) -> CliAction | None:
    """What ``args`` changes, for the audit log; None for a command that changes
    nothing (or logs itself)."""
    command: str = args.command
    if command in _NOT_AUDITED or getattr(args, "dry_run", False):
        return None
    sub = getattr(args, f"{command}_command", None)
    if sub in _READS or (command, sub) in _READ_COMMANDS:
        return None
    changes = _SETTINGS_CHANGES.get((command, sub or ""))
    if changes is not None and not any(_given(getattr(args, name, None)) for name in changes):
        return None
    tenant = getattr(args, "tenant_id", None) or getattr(args, "tenant", None)
    target = next(
        (str(getattr(args, n)) for n in _TARGETS if isinstance(getattr(args, n, None), str)),
        None,
    )
    options = tuple(
        sorted(
            name
            for name, value in vars(args).items()
            if name not in _GLOBAL
            and not name.endswith("_command")
            and name not in ("tenant", "tenant_id", *_TARGETS)
            and _given(value)
        )
    )
    return CliAction(
        action=f"{command}.{sub}" if sub else command,
        tenant_id=None if tenant is None else TenantId(str(tenant).strip()),
        target=target,
        options=options,
    )


def _given(value: object) -> bool:
    """Whether an option was given: argparse leaves None, False (a flag) or [] (an
    appended option) when it was not; 0 is a value given."""
    return value is not None and value is not False and value != [] and value != ()
