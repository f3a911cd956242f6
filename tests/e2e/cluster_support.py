"""The local cluster (``chat_engine.cluster``) as the cluster test modules start it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from chat_engine.cluster import Cluster


@asynccontextmanager
async def running_cluster(
    tmp_path_factory: pytest.TempPathFactory, engines: int, start_timeout: float
) -> AsyncIterator[Cluster]:
    """Started (within ``start_timeout`` seconds) and, afterwards, stopped with every
    child gone. A short drain keeps rolling restarts quick."""
    running = Cluster(tmp_path_factory.mktemp("cluster"), engines=engines, drain_seconds=1.0)
    async with asyncio.timeout(start_timeout):
        await running.start()
    try:
        yield running
    finally:
        await running.stop()
    assert running.pids == {}
