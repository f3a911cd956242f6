"""``chat-engine tenant …``: the tenants one engine serves."""

from __future__ import annotations

import argparse
from typing import TextIO

from business.commands import ConfigureTenant, CreateTenant
from business.model import TenantId
from chat_engine import files_cli, governance_cli, identity_cli, redaction_cli
from chat_engine.admin import configure_tenant, create_tenant, list_tenants
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
    configure = tenant_commands.add_parser(
        "set",
        parents=[common],
        help="change a tenant's settings",
        description="Change what is given; the rest stays as it is.",
    )
    configure.add_argument("tenant_id", metavar="TENANT", help="the tenant's id")
    configure.add_argument(
        "--transcript-auto-send",
        choices=("on", "off"),
        help="e-mail the visitor the transcript when a chat ends, if their address is "
        "known (the pre-chat form's or the site's 'email'); needs the [mail] settings",
    )
    identity_cli.add_parser(tenant_commands, common)
    files_cli.add_tenant_parser(tenant_commands, common)
    redaction_cli.add_parser(tenant_commands, common)
    governance_cli.add_tenant_parser(tenant_commands, common)


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
        [("ID", "AUTO-TRANSCRIPT", "NAME", "CREATED")]
        + [
            (t.id, _on(t.transcript_auto_send), t.name, t.created_at.strftime("%Y-%m-%d %H:%M"))
            for t in tenants
        ],
    )
    return 0


async def tenant_set(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    auto_send = None if args.transcript_auto_send is None else args.transcript_auto_send == "on"
    tenant = await configure_tenant(
        settings,
        ConfigureTenant(tenant_id=TenantId(args.tenant_id.strip()), transcript_auto_send=auto_send),
    )
    out.write(
        f"tenant {tenant.id} ({tenant.name}): transcripts e-mailed when a chat ends: "
        f"{_on(tenant.transcript_auto_send)}\n"
    )
    if tenant.transcript_auto_send and not settings.mail.enabled:
        out.write(
            "note: mail is off in this configuration ([mail] host is not set); the engine "
            "sends none until it is set there\n"
        )
    return 0


def _on(flag: bool) -> str:
    return "on" if flag else "off"
