"""The engine's files through the REST API: a message's ``file:<id>`` comes out of the
events, the internal events and the transcript (its lines and its text) as a signed
URL that works (fetched from the server), never as it is stored."""

from __future__ import annotations

import aiohttp

from business.model import ConversationId
from tests.harness import FILE_REF_RE, SIGNED_LINK_RE, World
from tests.presentation.api.chats import ALICE, chat
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys
from tests.presentation.conftest import Server

PDF = b"%PDF-1.4 manual"


async def _fetched(server: Server, shown: str) -> bytes:
    """What the one signed link in ``shown`` serves; fails on a raw ``file:<id>``."""
    assert FILE_REF_RE.search(shown) is None, shown
    found = SIGNED_LINK_RE.search(shown)
    assert found is not None, shown
    async with aiohttp.ClientSession() as http, http.get(server.url + found[0]) as response:
        assert response.status == 200
        return await response.read()


async def test_events_internal_events_and_transcript_show_signed_urls(
    api: ApiClient, keys: Keys, world: World, server: Server
) -> None:
    conv = await chat(world)
    await world.agent_shares_file(ALICE, conv.id, PDF)
    cid = ConversationId(conv.id)

    events = (await api.get(f"/conversations/{cid}/events", keys.bot)).body["items"]
    (shared,) = [e["attachments"][0] for e in events if e.get("attachments")]
    assert await _fetched(server, shared) == PDF

    internal = (await api.get(f"/conversations/{cid}/internal-events", keys.admin)).body["items"]
    (shared,) = [e["attachments"][0] for e in internal if e.get("attachments")]
    assert await _fetched(server, shared) == PDF

    transcript = (await api.get(f"/conversations/{cid}/transcript", keys.read)).body
    (shared,) = [line["attachments"][0] for line in transcript["lines"] if line["attachments"]]
    assert await _fetched(server, shared) == PDF
    assert await _fetched(server, transcript["text"]) == PDF
