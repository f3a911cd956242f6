"""What agents read about the engine's files: the offer's messages so far and
``!history`` show a ``file:<id>`` as a signed link that lasts (``FileLinks.lasting``),
which opens the file; a URL shared as it is stays as it is; a consultant's file reaches
the other agents as a visitor's does (XEP-0066, the body the link)."""

from __future__ import annotations

from business import commands as c
from business.events import DeskMessage
from business.file_ports import FetchedFile
from business.model import OfferKind
from tests.harness import ALICE, BOB, make_world
from tests.xmpp_bridge.support import ALICE_JID, body_of, messages, offer_made
from xmpp_bridge.addresses import Addressing
from xmpp_bridge.converters import custom_to_stanza
from xmpp_bridge.custom import AgentOffer, ConversationUpdate
from xmpp_bridge.desk_replies import history

PDF = b"%PDF-1.4 manual"


async def test_an_offers_earlier_messages_show_a_file_as_a_signed_link() -> None:
    world = await make_world()
    await world.agent(ALICE, name="Alice")
    conv = await world.start(await world.visitor(), "The manual, please")
    await world.agent_shares_file(ALICE, conv.id, PDF)
    addressing = Addressing("chat.example", attachment_url=world.services.files.links.lasting)
    offer = AgentOffer(
        conversation=world.conv(conv.id),
        to=ALICE_JID,
        offer=offer_made(world.conv(conv.id).last_pos + 1),
        earlier=world.stored(conv.id),
    )
    [stanza] = messages(custom_to_stanza(offer, addressing))
    assert await world.file_behind(body_of(stanza) or "") == PDF


async def test_history_shows_an_earlier_chats_file_as_a_signed_link() -> None:
    world = await make_world()
    await world.agent(ALICE, name="Alice", max_chats=5)
    vera = await world.visitor()
    before = await world.start(vera, "The manual, please")
    await world.agent_shares_file(ALICE, before.id, PDF)
    await world.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=before.id)
    )
    now = await world.start(vera, "me again")
    agent = await world.agents.get_agent(ALICE)
    assert agent is not None
    said = await history(world.services, agent, now.id, "")
    assert await world.file_behind(said) == PDF


async def test_a_consultants_file_reaches_the_agent_as_a_signed_link() -> None:
    world = await make_world(agent_addresses={ALICE: "alice@example.com", BOB: "bob@example.com"})
    await world.agent(ALICE, name="Alice")
    conv = await world.start(await world.visitor(), "Is this a known bug?")
    await world.agent(BOB, name="Bob", auto_accept=False)
    await world.services.participants.offer(
        c.OfferToColleague(
            agent_id=ALICE,
            conversation_id=conv.id,
            kind=OfferKind.CONSULT,
            target="bob@example.com",
        )
    )
    await world.agent_writes(BOB, conv.id, "looking")  # takes the consult
    url = "https://upload.example.com/share/fix.pdf"
    world.fetcher.files[url] = FetchedFile(data=PDF, content_type="application/pdf", name="fix.pdf")
    kept, copied = await world.services.files.copy_agent_files(
        conv.id, [url], agent_id=BOB, agent_address="bob@example.com"
    )
    posted = await world.messaging.send_agent_message(
        c.SendAgentMessage(
            agent_id=BOB, conversation_id=conv.id, text="the fix", attachments=kept, copied=copied
        )
    )
    assert isinstance(posted, DeskMessage)
    assert posted.text == "the fix"
    addressing = Addressing("chat.example", attachment_url=world.services.files.links.lasting)
    update = ConversationUpdate(conversation=world.conv(conv.id), to=ALICE_JID, event=posted)

    said, file = messages(custom_to_stanza(update, addressing))

    assert body_of(said) == "[consult, Bob] the fix"
    link = body_of(file) or ""
    assert file.xml.find("{jabber:x:oob}x/{jabber:x:oob}url").text == link  # type: ignore[union-attr]
    assert await world.file_behind(link) == PDF
    assert (
        custom_to_stanza(
            ConversationUpdate(
                conversation=world.conv(conv.id), to="bob@example.com", event=posted, recipient=BOB
            ),
            addressing,
        )
        == []
    )  # not echoed to Bob
