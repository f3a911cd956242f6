"""The engine's files in every output read away from the visitor's socket: a message's
``file:<id>`` is shown as a signed link that lasts (``FileLinks.lasting``), never as
it is stored, and a URL an agent shared as it is. Webhook payloads, transcripts by
e-mail (text and HTML) and the REST API's transcript; the REST API's events and the
agents' texts have their own tests (``tests/presentation/api/test_file_links_api.py``,
``tests/xmpp_bridge/test_agent_file_links.py``)."""

from __future__ import annotations

import json

from business import commands as c
from business.mail_settings import MailSettings
from business.model import DEFAULT_TENANT, AgentId, ConversationId
from tests.business.webhook_support import make_hooks
from tests.fakes_mail import RecordingMailer
from tests.harness import World, make_world

ALICE = AgentId("alice@agents.example")
PDF = b"%PDF-1.4 manual"
PLAIN_URL = "https://elsewhere.example/terms.pdf"


async def a_chat_with_files(world: World) -> ConversationId:
    """Alice shares a file from her server (copied in) and a link elsewhere (kept)."""
    await world.agent(ALICE, name="Alice")
    conv = await world.start(await world.visitor(), "Do you have the manual?")
    await world.agent_shares_file(ALICE, conv.id, PDF)
    await world.messaging.send_agent_message(
        c.SendAgentMessage(
            agent_id=ALICE, conversation_id=conv.id, text="terms", attachments=(PLAIN_URL,)
        )
    )
    return conv.id


async def test_a_webhook_payload_has_a_signed_link_and_the_agents_url_as_it_is() -> None:
    hooks = await make_hooks()
    await hooks.subscribe("message.created")
    await a_chat_with_files(hooks.world)
    data = [json.loads(d.body)["data"] for d in hooks.deliveries()]
    attachments = [d["attachments"] for d in data if d.get("attachments")]
    (copied,), (kept,) = attachments
    assert await hooks.world.file_behind(copied) == PDF
    assert kept == PLAIN_URL


async def test_a_mailed_transcript_has_a_signed_link_in_its_text_and_html() -> None:
    mailer = RecordingMailer()
    mail = MailSettings(host="smtp.example.org", from_address="noreply@example.org")
    world = await make_world(mail=mail, mailer=mailer)
    cid = await a_chat_with_files(world)
    visitor = world.conv(cid).visitor_id
    await world.services.transcript_requests.request(
        c.RequestTranscript(visitor_id=visitor, conversation_id=cid, email="ann@example.org")
    )
    world.advance(5)
    assert await world.services.transcript_mails.send_due() == 1
    [sent] = mailer.sent
    assert await world.file_behind(sent.text) == PDF
    assert await world.file_behind(sent.html.replace("&amp;", "&")) == PDF
    assert PLAIN_URL in sent.text


async def test_the_transcript_the_rest_api_serves_has_a_signed_link() -> None:
    world = await make_world()
    cid = await a_chat_with_files(world)
    transcript = await world.services.conversation_queries.transcript(DEFAULT_TENANT, cid)
    (line,) = [line for line in transcript.lines if line.attachments and line.text == ""]
    (link,) = line.attachments
    assert await world.file_behind(link) == PDF
    assert await world.file_behind(transcript.text) == PDF
