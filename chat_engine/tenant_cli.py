"""``chat-engine tenant …``: the tenants one engine serves."""

from __future__ import annotations

import argparse
from typing import TextIO

from business.commands import CreateTenant
from business.model import TenantId
from chat_engine.admin import create_tenant, list_tenants
from chat_engine.directory_cli import table
from chat_engine.settings import Settings


def add_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    tenant = commands.add_parser(
        "tenant",
        parents=[common],
        help="manage tenants",
        description=(
            "A tenant has its own queues, agents, canned responses and API keys. Its id is "
            "also its widget key: the data-tenant of the widget's script tag."
        ),
    )
    tenant_commands = tenant.add_subparsers(dest="tenant_command", required=True, metavar="COMMAND")
    create = tenant_commands.add_parser(
        "create",
        parents=[common],
        help="create a tenant with the queue 'support'",
    )
    create.add_argument("name", metavar="NAME", help="what people call it, e.g. 'Northwind Coffee'")
    create.add_argument(
        "--id",
        dest="tenant_id",
        metavar="ID",
        help="its id: lower-case letters, digits and '-' (default: made from NAME, "
        "e.g. northwind-coffee)",
    )
    tenant_commands.add_parser("list", parents=[common], help="list tenants")


async def tenant_create(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    tenant_id = None if args.tenant_id is None else TenantId(args.tenant_id.strip())
    tenant = await create_tenant(settings, CreateTenant(name=args.name, tenant_id=tenant_id))
    out.write(
        f"tenant {tenant.id} ({tenant.name}) created with queue support\n"
        f'its widget key: data-tenant="{tenant.id}"\n'
        f"next, a key for its administrator: "
        f"chat-engine apikey create --tenant {tenant.id} --scope admin\n"
    )
    return 0


async def tenant_list(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    tenants = await list_tenants(settings)
    table(
        out,
        [("ID", "NAME", "CREATED")]
        + [(t.id, t.name, t.created_at.strftime("%Y-%m-%d %H:%M")) for t in tenants],
    )
    return 0
