"""``--tenant T`` of the admin commands that act on one tenant's configuration or data
(agents, queues, canned responses, reports): which tenant, ``default`` unless given.

The tenant is checked to exist before anything is read or written
(``chat_engine.admin``), so a misspelt one is a clear usage error, never an empty list
or a queue created in a tenant nobody has.
"""

from __future__ import annotations

import argparse

from business.model import DEFAULT_TENANT, TenantId


def add_tenant_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tenant",
        metavar="TENANT",
        default=DEFAULT_TENANT,
        help="the tenant's id, as chat-engine tenant list shows it (default: %(default)s)",
    )


def tenant_of(args: argparse.Namespace) -> TenantId:
    return TenantId(args.tenant.strip())
