"""``chat-engine apikey …``: keys of the REST API (``business.api_keys``).

The whole key is printed once, by ``create``, on a line of its own (so that a script can
take the last line); it cannot be shown again, only revoked and replaced.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TextIO

from business.api_keys import check_key_id
from business.commands import CreateApiKey, RevokeApiKey
from business.model import ApiKeyScope, TenantId
from chat_engine.admin import create_api_key, list_api_keys, revoke_api_key
from chat_engine.directory_cli import table
from chat_engine.settings import Settings

_NONE = "-"


def add_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    apikey = commands.add_parser(
        "apikey",
        parents=[common],
        help="manage keys of the REST API",
        description=(
            "Keys of the REST API (/api/v1). A tenant's key has the scope admin (everything "
            "in its tenant), read (reads only) or bot; a platform key belongs to the "
            "operator and manages tenants."
        ),
    )
    apikey_commands = apikey.add_subparsers(dest="apikey_command", required=True, metavar="COMMAND")
    create = apikey_commands.add_parser(
        "create",
        parents=[common],
        help="make a key and print it (once)",
        description="Make a key. It is printed once, on the last line; only its hash is kept.",
    )
    create.add_argument(
        "--scope",
        required=True,
        choices=[scope.value for scope in ApiKeyScope],
        help="admin, read or bot (with --tenant), or platform (without)",
    )
    create.add_argument("--tenant", metavar="TENANT", help="the tenant's id, e.g. default")
    create.add_argument("--name", default="", help="to tell keys apart, e.g. crm-sync")
    listing = apikey_commands.add_parser("list", parents=[common], help="list keys (never secrets)")
    listing.add_argument("--tenant", metavar="TENANT", help="only this tenant's (default: all)")
    revoke = apikey_commands.add_parser("revoke", parents=[common], help="revoke a key for good")
    revoke.add_argument("key_id", metavar="ID", help="the key's id (ce_<id>_…), as listed")


def _tenant(args: argparse.Namespace) -> TenantId | None:
    return None if args.tenant is None else TenantId(args.tenant.strip())


async def apikey_create(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    created = await create_api_key(
        settings,
        CreateApiKey(scope=ApiKeyScope(args.scope), tenant_id=_tenant(args), name=args.name),
    )
    key = created.key
    owner = "the platform" if key.tenant_id is None else f"tenant {key.tenant_id}"
    out.write(
        f"API key {key.id} ({key.scope.value}) for {owner} created.\n"
        "Keep it now: it is not shown again.\n"
        f"{created.secret}\n"
    )
    return 0


async def apikey_list(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    keys = await list_api_keys(settings, _tenant(args))
    if not keys:
        out.write("no API keys yet; make one with: chat-engine apikey create --scope ...\n")
        return 0
    table(
        out,
        [("ID", "TENANT", "SCOPE", "NAME", "CREATED", "LAST USED", "REVOKED")]
        + [
            (
                k.id,
                k.tenant_id or _NONE,
                k.scope.value,
                k.name or _NONE,
                _when(k.created_at),
                _when(k.last_used_at),
                _when(k.revoked_at),
            )
            for k in keys
        ],
    )
    return 0


async def apikey_revoke(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    key = await revoke_api_key(settings, RevokeApiKey(key_id=check_key_id(args.key_id.strip())))
    out.write(f"API key {key.id} revoked\n")
    return 0


def _when(at: datetime | None) -> str:
    return _NONE if at is None else at.strftime("%Y-%m-%d %H:%M")
