"""Small records an adapter keeps across restarts, stored for it without being read here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from business.ports import JsonValue
from business.transactions import Transactions


class AdapterStateService:
    """Each adapter names its records ``(adapter, key)``; values are flat JSON objects."""

    def __init__(self, *, transactions: Transactions) -> None:
        self._tx = transactions

    async def get(self, adapter: str, key: str) -> Mapping[str, JsonValue] | None:
        async with self._tx() as tx:
            return await tx.adapter_state.get(adapter, key)

    async def put(self, adapter: str, key: str, value: Mapping[str, JsonValue]) -> None:
        async with self._tx() as tx:
            await tx.adapter_state.put(adapter, key, value)
            await tx.commit()

    async def list(self, adapter: str) -> Sequence[tuple[str, Mapping[str, JsonValue]]]:
        async with self._tx() as tx:
            return await tx.adapter_state.list(adapter)
