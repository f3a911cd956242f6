"""Fixtures of the data tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS
from tests.data.members_support import Store, open_store


@pytest.fixture(params=[pytest.param("fake", id="fake"), *BACKENDS])
async def member_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An empty store (fakes, SQLite, PostgreSQL) for the member contract tests."""
    async with open_store(request.param, tmp_path) as store:
        yield store
