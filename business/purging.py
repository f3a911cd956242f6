"""What the retention purges share: the tenants a purge looks at, each with its own
setting, and the background round that runs one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from business.errors import NotFound
from business.model import TenantId
from business.periodic import Periodic
from business.transactions import Transaction, Transactions

T = TypeVar("T")


async def tenants_to_purge(
    transactions: Transactions,
    tenant_id: TenantId | None,
    settings: Callable[[Transaction], Awaitable[Mapping[TenantId, T]]],
) -> list[tuple[TenantId, T]]:
    """Every tenant with a retention setting (``settings`` reads them), by tenant id;
    ``tenant_id``'s only if given (``NotFound`` for an unknown tenant)."""
    async with transactions.read() as tx:
        if tenant_id is not None and await tx.tenants.get(tenant_id) is None:
            raise NotFound(f"unknown tenant {tenant_id!r}")
        found = await settings(tx)
    chosen = [(t, s) for t, s in found.items() if tenant_id is None or t == tenant_id]
    return sorted(chosen, key=lambda pair: pair[0])


class Purger(Periodic):
    """Runs ``purge`` every ``interval`` seconds in the background, the first round soon
    after the start, so that an engine restarted often still purges."""

    def __init__(
        self,
        name: str,
        purge: Callable[[], Awaitable[object]],
        *,
        interval: float,
        failure: str,
        first_delay: float = 60.0,
    ) -> None:
        super().__init__(
            name, purge, interval=interval, failure=failure, first_delay=min(first_delay, interval)
        )
