"""Data governance on the command line: ``chat-engine tenant retention``, ``retention
purge``, ``visitor export|erase`` and ``audit list``.

Export and erase write their own audit entry (in the erasure's transaction); every
other changing command is logged by ``chat_engine.cli`` (``audit_cli_command``).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from business.errors import InvalidInput
from business.governance_ports import RetentionSettings
from business.model import TenantId, VisitorId
from business.retention import ConfigureRetention, RetentionPurge
from business.visitor_data import VisitorDataService, VisitorExport
from chat_engine.directory_cli import table
from chat_engine.files_cli import services_with_blobs
from chat_engine.settings import Settings


def cli_actor() -> str:
    """Who runs this command, as the audit log names them."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for the uid (a container's)
        return "cli:unknown"


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("days cannot be negative")
    return value


def add_tenant_parser(
    tenant_commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    retention = tenant_commands.add_parser(
        "retention",
        parents=[common],
        help="show or change how long the tenant's conversations and visitors are kept",
        description=(
            "Without options, shows the tenant's retention. Ended conversations older than "
            "--conversations-days (after their end) are deleted with their events, files, "
            "transcript mails and offline messages; visitors with no conversation left and "
            "not seen for --visitors-days are deleted with their identity link. 0: keep for "
            "ever. The engine enforces it in the background; 'chat-engine retention purge' "
            "does it now."
        ),
    )
    retention.add_argument("tenant_id", metavar="TENANT", help="the tenant's id")
    retention.add_argument("--conversations-days", type=_days, metavar="N")
    retention.add_argument("--visitors-days", type=_days, metavar="N")


def add_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    retention = commands.add_parser("retention", parents=[common], help="data retention")
    retention_commands = retention.add_subparsers(
        dest="retention_command", required=True, metavar="COMMAND"
    )
    purge = retention_commands.add_parser(
        "purge",
        parents=[common],
        help="delete the conversations and visitors past their tenant's retention, now",
    )
    purge.add_argument("--tenant", metavar="TENANT", help="only this tenant's")
    purge.add_argument(
        "--dry-run", action="store_true", help="delete nothing; say what would be deleted"
    )

    visitor = commands.add_parser(
        "visitor", parents=[common], help="a visitor's data: export or erase"
    )
    visitor_commands = visitor.add_subparsers(
        dest="visitor_command", required=True, metavar="COMMAND"
    )
    export = visitor_commands.add_parser(
        "export",
        parents=[common],
        help="write everything held about a visitor: visitor.json and their files",
    )
    export.add_argument("tenant_id", metavar="TENANT")
    export.add_argument("visitor_id", metavar="VISITOR_ID")
    export.add_argument(
        "--out", metavar="DIR", help="directory to write to (default: visitor-<id>)"
    )
    erase = visitor_commands.add_parser(
        "erase",
        parents=[common],
        help="erase a visitor: their texts, name, addresses, files and offline messages",
        description=(
            "Refused while the visitor has a conversation open. Their messages become "
            "'[erased]', agents' messages and notes stay; statistics stay. Safe to repeat."
        ),
    )
    erase.add_argument("tenant_id", metavar="TENANT")
    erase.add_argument("visitor_id", metavar="VISITOR_ID")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    audit = commands.add_parser("audit", parents=[common], help="the audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    listing = audit_commands.add_parser(
        "list", parents=[common], help="administrators' actions, newest first"
    )
    listing.add_argument("--tenant", metavar="TENANT", help="only this tenant's")
    listing.add_argument(
        "--since", metavar="WHEN", help="ISO date or time, e.g. 2026-11-01 (UTC unless given)"
    )
    listing.add_argument("--limit", type=int, default=100, metavar="N")


async def tenant_retention(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    tenant = TenantId(args.tenant_id.strip())
    async with services_with_blobs(settings) as services:
        if args.conversations_days is None and args.visitors_days is None:
            kept = await services.retention_settings.get(tenant)
        else:
            kept = await services.retention_settings.configure(
                ConfigureRetention(
                    tenant_id=tenant,
                    conversations_days=args.conversations_days,
                    visitors_days=args.visitors_days,
                )
            )
    out.write(describe(tenant, kept) + "\n")
    return 0


def describe(tenant: TenantId, kept: RetentionSettings) -> str:
    def days(value: int | None) -> str:
        return "for ever" if value is None else f"{value} days"

    return (
        f"retention of tenant {tenant}\n"
        f"ended conversations: {days(kept.conversations_days)}\n"
        f"idle visitors: {days(kept.visitors_days)}"
    )


async def retention_purge(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    tenant = None if args.tenant is None else TenantId(args.tenant.strip())
    async with services_with_blobs(settings) as services:
        done = await services.retention.purge(tenant_id=tenant, dry_run=args.dry_run)
    out.write(describe_purge(done, dry_run=args.dry_run) + "\n")
    return 0


def describe_purge(done: tuple[RetentionPurge, ...], *, dry_run: bool) -> str:
    if not done:
        return "no tenant has a retention: nothing to purge"
    verb = "would delete" if dry_run else "deleted"
    return "\n".join(
        f"tenant {p.tenant_id}: {verb} {p.conversations} conversations ({p.files} files) "
        f"and {p.visitors} visitors"
        for p in done
    )


async def visitor_export(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    tenant = TenantId(args.tenant_id.strip())
    visitor = VisitorId(args.visitor_id.strip())
    target = Path(args.out or f"visitor-{visitor}")
    async with services_with_blobs(settings) as services:
        export = await services.visitor_data.export(tenant, visitor, actor=cli_actor())
        await asyncio.to_thread(target.mkdir, parents=True, exist_ok=True)
        links = await _write_files(services.visitor_data, export, target / "files")
    document = json.dumps(export.document(links), indent=2, ensure_ascii=False) + "\n"
    await asyncio.to_thread(_write, target / "visitor.json", document.encode())
    out.write(
        f"visitor {visitor}: {len(export.record.conversations)} conversations, "
        f"{len(export.record.files)} files written to {target}\n"
    )
    return 0


async def _write_files(
    data: VisitorDataService, export: VisitorExport, directory: Path
) -> dict[str, str]:
    """Each file's bytes as ``files/<id>-<name>``; the path (relative to the export) by
    file id, or "gone" for one whose bytes were purged."""
    paths: dict[str, str] = {}
    for file in export.record.files:
        content = await data.file_bytes(file)
        if content is None:
            paths[file.id] = "gone"
            continue
        name = f"{file.id}-{Path(file.name).name or 'file'}"
        await asyncio.to_thread(_write, directory / name, content)
        paths[file.id] = f"files/{name}"
    return paths


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


async def visitor_erase(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    tenant = TenantId(args.tenant_id.strip())
    visitor = VisitorId(args.visitor_id.strip())
    if not args.yes:
        if not sys.stdin.isatty():
            raise InvalidInput("erasing cannot be undone: confirm with --yes")
        prompt = f"erase visitor {visitor} of tenant {tenant}? type the visitor id: "
        answer = await asyncio.to_thread(input, prompt)
        if answer.strip() != visitor:
            raise InvalidInput("not confirmed; nothing erased")
    async with services_with_blobs(settings) as services:
        erased = await services.visitor_data.erase(tenant, visitor, actor=cli_actor())
    counts = ", ".join(f"{name} {count}" for name, count in sorted(erased.counts.items()))
    out.write(f"visitor {visitor} erased: {counts}\n")
    return 0


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--since: not an ISO date or time: {text!r}") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


async def audit_list(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    tenant = None if args.tenant is None else TenantId(args.tenant.strip())
    async with services_with_blobs(settings) as services:
        entries = await services.audit.list(
            tenant_id=tenant, since=_since(args.since), limit=args.limit
        )
    table(
        out,
        [("WHEN", "ACTOR", "ACTION", "TENANT", "TARGET", "DETAIL")]
        + [
            (
                e.at.strftime("%Y-%m-%d %H:%M:%S"),
                e.actor,
                e.action,
                e.tenant_id or "-",
                e.target or "-",
                json.dumps(e.detail, sort_keys=True),
            )
            for e in entries
        ],
    )
    return 0
