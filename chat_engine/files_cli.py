"""``chat-engine tenant files TENANT …`` (a tenant's upload limits and file retention)
and ``chat-engine files purge`` (delete the files past their tenant's retention now,
as the running engine does every ``[files] purge_interval_seconds``)."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TextIO

from business.file_config import ConfigureFiles
from business.file_model import FileLimits
from business.file_retention import TenantPurge
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, TenantId
from business.services import Services
from chat_engine.admin import open_database
from chat_engine.blob_stores import close_blob_store, open_blob_store
from chat_engine.bootstrap import bootstrap
from chat_engine.settings import Settings


def add_tenant_parser(
    tenant_commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    files = tenant_commands.add_parser(
        "files",
        parents=[common],
        help="show or change what the tenant's visitors may upload and how long files are kept",
        description=(
            "Without options, shows the tenant's file settings. Change what is given; the "
            "rest stays. Files older than the retention are deleted by the engine (and by "
            "'chat-engine files purge'); their links then say the file is no longer available."
        ),
    )
    files.add_argument("tenant_id", metavar="TENANT", help="the tenant's id")
    files.add_argument(
        "--max-bytes", type=_count, metavar="N", help="the largest file a visitor may upload"
    )
    files.add_argument(
        "--allow",
        action="append",
        metavar="TYPE",
        help="a media type visitors may upload, e.g. image/png; repeat it for each: the "
        "types given replace the allowed ones (never image/svg+xml)",
    )
    files.add_argument(
        "--retention-days",
        type=_count,
        metavar="DAYS",
        help="delete files this many days after their upload; 0: keep them for ever",
    )


def add_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    files = commands.add_parser("files", parents=[common], help="shared files")
    files_commands = files.add_subparsers(dest="files_command", required=True, metavar="COMMAND")
    purge = files_commands.add_parser(
        "purge",
        parents=[common],
        help="delete the files older than their tenant's retention, now",
        description=(
            "Deletes, bytes and records, the files older than their tenant's retention "
            "(chat-engine tenant files TENANT --retention-days N); tenants without one "
            "keep their files. The running engine does the same every "
            "[files] purge_interval_seconds."
        ),
    )
    purge.add_argument("--tenant", metavar="TENANT", help="only this tenant's files")
    purge.add_argument(
        "--dry-run", action="store_true", help="delete nothing; say what would be deleted"
    )


async def tenant_files(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    tenant = TenantId(args.tenant_id.strip())
    async with _services(settings) as services:
        if args.max_bytes is None and args.allow is None and args.retention_days is None:
            limits = await services.file_config.get(tenant)
        else:
            limits = await services.file_config.configure(
                ConfigureFiles(
                    tenant_id=tenant,
                    max_bytes=args.max_bytes,
                    allowed_types=args.allow,
                    retention_days=args.retention_days,
                )
            )
    out.write(describe(tenant, limits) + "\n")
    return 0


async def files_purge(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    tenant = None if args.tenant is None else TenantId(args.tenant.strip())
    async with _services(settings) as services:
        done = await services.file_retention.purge(tenant_id=tenant, dry_run=args.dry_run)
    out.write(describe_purge(done, dry_run=args.dry_run) + "\n")
    return 0


def describe(tenant: TenantId, limits: FileLimits) -> str:
    kept = (
        "for ever"
        if limits.retention_days is None
        else f"{limits.retention_days} days, then deleted"
    )
    types = ", ".join(limits.allowed_types) or "(none: visitors cannot upload)"
    return "\n".join(
        (
            f"files of tenant {tenant}",
            f"largest upload: {limits.max_bytes} bytes ({_mib(limits.max_bytes)})",
            f"allowed types: {types}",
            f"kept: {kept}",
        )
    )


def describe_purge(done: tuple[TenantPurge, ...], *, dry_run: bool) -> str:
    if not done:
        return "no tenant has a file retention: nothing to purge"
    verb = "would delete" if dry_run else "deleted"
    return "\n".join(
        f"tenant {p.tenant_id}: {verb} {p.files} files ({p.bytes} bytes) older than "
        f"{p.retention_days} days"
        for p in done
    )


@asynccontextmanager
async def _services(settings: Settings) -> AsyncIterator[Services]:
    """The services over the configured database and blob store (a purge must delete
    the bytes where the engine keeps them, ``[files] store``)."""
    database = open_database(settings)
    blobs = open_blob_store(settings.files)
    try:
        await database.migrate()
        services = bootstrap(
            uow=database.unit_of_work, limits=settings.limits, files=settings.files, blobs=blobs
        )
        # As every admin command: the default tenant is there from the first one on.
        await services.tenants.ensure_tenant(
            DEFAULT_TENANT, name="Default", queues=(DEFAULT_QUEUE,)
        )
        yield services
    finally:
        await close_blob_store(blobs)
        await database.dispose()


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _mib(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024 / 1024:.1f} MiB"


services_with_blobs = _services
"""The admin services with the configured blob store: for every command that deletes
files (``chat_engine.governance_cli``)."""
