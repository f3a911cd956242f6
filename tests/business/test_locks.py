"""Per-key locks that do not pile up."""

from __future__ import annotations

import asyncio

from business.locks import KeyedLock


async def test_keyed_lock_serialises_one_key_and_forgets_it_afterwards() -> None:
    locks = KeyedLock()
    inside: list[str] = []

    async def hold(name: str) -> None:
        async with locks.hold("conversation"):
            inside.append(f"{name}-in")
            await asyncio.sleep(0.01)
            inside.append(f"{name}-out")

    await asyncio.gather(hold("a"), hold("b"))

    assert inside == ["a-in", "a-out", "b-in", "b-out"]
    assert len(locks) == 0
