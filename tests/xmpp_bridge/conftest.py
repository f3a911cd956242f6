from __future__ import annotations

import pytest

from tests.harness import World
from tests.xmpp_bridge.support import bridge_world


@pytest.fixture
async def world() -> World:
    return await bridge_world()
