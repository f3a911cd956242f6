"""A consultant's file on a real Prosody with its XEP-0363 upload service
(``http_file_share``): uploaded by the consultant's client, copied into the engine's
store, and shown to the chat's agent as a visitor's file is shown: the engine's signed
link as the body and as the XEP-0066 URL, never a stored ``file:`` reference or the
consultant's own server's address. The visitor never sees it."""

from __future__ import annotations

import shutil
from typing import Any

import aiohttp
import pytest

from chat_engine.engine import Engine
from chat_engine.prosody import ProsodyServer
from tests.e2e.conftest import sharing_account
from tests.e2e.test_chat_flow import (
    WAIT,
    conversation_jid,
    new_visitor,
    online_agent,
    start_chat,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("prosody") is None, reason="no Prosody"),
]

PDF = b"%PDF-1.4 the fix"


async def test_a_consultants_upload_reaches_the_agent_as_a_signed_link(
    sharing_engine: Engine, sharing_prosody: ProsodyServer, cleanup: list[Any]
) -> None:
    engine = sharing_engine
    ann = await online_agent(engine, sharing_account(sharing_prosody, "ann"), "Ann", cleanup)
    visitor = await new_visitor(engine, cleanup)
    conversation_id = await start_chat(visitor, "Is this a known bug?", name="Vic")
    conv_jid = conversation_jid(engine, conversation_id)
    await ann.wait_for(lambda m: m.from_jid == conv_jid and "known bug" in m.body, timeout=WAIT)
    dee_account = sharing_account(sharing_prosody, "dee")
    dee = await online_agent(engine, dee_account, "Dee", cleanup, auto_accept=False)

    ann.send(conv_jid, f"!consult {dee_account.jid} known bug?")
    await dee.wait_for(lambda m: m.from_jid == conv_jid and "consult" in m.body, timeout=WAIT)
    dee.send(conv_jid, "yes, here is the fix")
    await ann.wait_for(lambda m: m.body == "[consult, Dee] yes, here is the fix", timeout=WAIT)

    upload = await dee.upload("fix.pdf", PDF, "application/pdf")
    seen = len(ann.received)
    dee.send_file(conv_jid, upload, msg_id="dee-file")
    named = await ann.wait_for(
        lambda m: m.from_jid == conv_jid and m.body.startswith("[consult, Dee]") and m.oob is None,
        after=seen,
        timeout=WAIT,
    )
    assert named.body == "[consult, Dee]"  # who sends the file, then the file
    file = await ann.wait_for(
        lambda m: m.from_jid == conv_jid and m.oob is not None, after=seen, timeout=WAIT
    )

    assert engine.url is not None
    assert file.body == file.oob
    assert file.body.startswith(engine.url + "/")  # the engine's copy, not Dee's server
    assert "file:" not in file.body
    async with aiohttp.ClientSession() as http, http.get(file.body) as got:
        assert (got.status, await got.read()) == (200, PDF)

    synced = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
    assert not any("fix" in str(event) for event in synced["events"])
