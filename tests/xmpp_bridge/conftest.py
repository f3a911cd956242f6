from __future__ import annotations

import pytest

from tests.xmpp_bridge.support import World, make_world


@pytest.fixture
async def world() -> World:
    return await make_world()
