"""PII redaction beyond message texts (``business.redaction_fields``): pre-chat forms,
the visitor's context and ``identify()`` values, file names, wrap-up notes, integrators'
end reasons and transfer notes, and rich content, stored masked on the fakes, SQLite
and PostgreSQL; the contact fields (``email``, ``phone``) keep the address the company
answers to, but never a card number."""

from __future__ import annotations

import pytest

from business import commands as c
from business.events import Transferred, WrapUpRecorded
from business.file_model import FileId, parse_file_ref
from business.files import UploadFile
from business.integrator_commands import (
    EndByIntegrator,
    PostIntegratorMessage,
    TransferByIntegrator,
)
from business.model import (
    DEFAULT_TENANT,
    ConversationId,
    Participant,
    ParticipantKind,
    VisitorContext,
)
from business.offline_messages import LeaveOfflineMessage
from business.redaction import CustomPattern, RedactionSettings, Redactor
from business.redaction_fields import FieldRedactor
from business.redaction_settings import ConfigureRedaction
from business.rich import Rich, RichButton, RichCard, RichListItem, RichListPicker
from business.rich_replies import AnswerRichMessage
from business.transcript_requests import known_email
from business.visitor_identify import IdentifyVisitor
from tests.business.desk_worlds import chat_with_alice, desk
from tests.harness import ALICE, SALES, SIGNED_LINK_RE, World

__all__ = ["desk"]

CARD = "4111 1111 1111 1111"
CARD_MASKED = "**** **** **** 1111"
IBAN = "DE89 3704 0044 0532 0130 00"
IBAN_MASKED = "**** **** **** **** **30 00"
MAIL = "ann@example.org"
MAIL_MASKED = "***@*******.***"
PHONE = "+49 30 12345678"
PHONE_MASKED = "+** ** ********"
BOT = Participant(kind=ParticipantKind.BOT, id="b", name="Bot")


async def mask_all(world: World) -> None:
    """Everything on: e-mail addresses, phone numbers and an ``ORD-`` pattern too."""
    await world.services.redaction_settings.configure(
        ConfigureRedaction(
            tenant_id=DEFAULT_TENANT,
            emails=True,
            phones=True,
            add_patterns=[CustomPattern("order", r"ORD-[0-9]{6}")],
        )
    )


async def test_the_pre_chat_form_and_context_are_stored_masked(desk: World) -> None:
    await mask_all(desk)
    visitor = await desk.visitor()
    conv = await desk.conversations.start_conversation(
        c.StartConversation(
            visitor_id=visitor,
            form={
                "name": f"Ann {CARD}",
                "email": MAIL,
                "phone": f"{PHONE} or card {CARD}",
                "question": f"refund ORD-123456 to {IBAN}, mail {MAIL}",
            },
            context=VisitorContext(
                page_url=f"https://shop.example/pay?card={CARD.replace(' ', '')}",
                page_title=f"Order ORD-654321 for {MAIL}",
                custom={"email": MAIL, "account": IBAN, "mobile": PHONE},
            ),
        )
    )
    stored = await desk.conversations.get_conversation(conv.id)
    assert stored.form == {
        "name": f"Ann {CARD_MASKED}",
        # The contact fields keep the address and number, never a card number.
        "email": MAIL,
        "phone": f"{PHONE} or card {CARD_MASKED}",
        "question": f"refund ***-****** to {IBAN_MASKED}, mail {MAIL_MASKED}",
    }
    assert stored.visitor_name == f"Ann {CARD_MASKED}"
    assert stored.context.page_url == "https://shop.example/pay?card=************1111"
    assert stored.context.page_title == f"Order ***-****** for {MAIL_MASKED}"
    assert stored.context.custom == {"email": MAIL, "account": IBAN_MASKED, "mobile": PHONE_MASKED}
    assert known_email(stored) == MAIL  # the transcript can still be mailed

    await desk.conversations.update_context(
        c.UpdateContext(
            visitor_id=visitor,
            context=VisitorContext(referrer=f"https://ads.example/?m={MAIL}", custom={"n": CARD}),
        )
    )
    updated = await desk.conversations.get_conversation(conv.id)
    assert updated.context.referrer == f"https://ads.example/?m={MAIL_MASKED}"
    assert updated.context.custom["n"] == CARD_MASKED
    published = repr(desk.published(conv.id))
    assert CARD not in published
    assert IBAN not in published


async def test_the_defaults_mask_cards_in_the_form_and_leave_addresses(desk: World) -> None:
    conv = await desk.conversations.start_conversation(
        c.StartConversation(
            visitor_id=await desk.visitor(),
            form={"name": "Ann", "question": f"{CARD} {MAIL} {PHONE}"},
        )
    )
    stored = await desk.conversations.get_conversation(conv.id)
    assert stored.form["question"] == f"{CARD_MASKED} {MAIL} {PHONE}"


async def test_an_offline_form_keeps_the_address_the_answer_is_mailed_to(desk: World) -> None:
    await mask_all(desk)
    conv = await desk.services.offline_messages.leave(
        LeaveOfflineMessage(
            visitor_id=await desk.visitor(),
            client_msg_id="off-1",
            name=f"Ann ORD-123456 {MAIL}",
            email=MAIL,
            text=f"call {PHONE}",
            context=VisitorContext(custom={"account": IBAN}),
        )
    )
    stored = await desk.conversations.get_conversation(conv.id)
    assert stored.form == {"name": f"Ann ***-****** {MAIL_MASKED}", "email": MAIL}
    assert stored.visitor_name == f"Ann ***-****** {MAIL_MASKED}"
    assert stored.context.custom == {"account": IBAN_MASKED}
    assert known_email(stored) == MAIL


async def test_identify_values_are_stored_masked_and_the_same_again_is_no_news(
    desk: World,
) -> None:
    await mask_all(desk)
    conv = await chat_with_alice(desk)
    given = IdentifyVisitor(
        visitor_id=conv.visitor_id,
        name=f"Ann {CARD}",
        email=MAIL,
        extra={"iban": IBAN, "backup": MAIL},
    )
    first = await desk.services.visitor_identify.identify(given)
    assert first.conversations == 1
    stored = await desk.conversations.get_conversation(conv.id)
    assert stored.visitor_name == f"Ann {CARD_MASKED}"
    assert stored.context.custom == {"email": MAIL, "iban": IBAN_MASKED, "backup": MAIL_MASKED}
    again = await desk.services.visitor_identify.identify(given)
    assert (again.changes, again.conversations) == ((), 0)


async def file_name(world: World, file_id: FileId) -> str:
    link = SIGNED_LINK_RE.search(world.services.files.links.visitor_url(file_id))
    assert link is not None
    return (await world.services.files.open(*link.groups())).file.name


async def test_file_names_are_stored_masked(desk: World) -> None:
    session = await desk.sessions.open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
    await desk.agent(ALICE, name="Alice", max_chats=10)
    conv = await desk.start(session.visitor.id, text="hello")
    uploaded = await desk.services.files.upload(
        UploadFile(
            tenant_id=DEFAULT_TENANT,
            visitor_token=session.visitor_token,
            conversation_id=conv.id,
            name=f"card {CARD}.pdf",
            content_type="application/pdf",
            data=b"%PDF-1.4 scan",
        )
    )
    assert uploaded.name == f"card {CARD_MASKED}.pdf"
    assert await file_name(desk, uploaded.id) == f"card {CARD_MASKED}.pdf"

    shared = await desk.agent_shares_file(ALICE, conv.id, name=f"refund-{IBAN}.pdf")
    (ref,) = shared.attachments
    parsed = parse_file_ref(ref)
    assert parsed is not None
    # The message's reference carries the name too: the masked one.
    assert parsed[1] == f"refund-{IBAN_MASKED}.pdf"
    assert await file_name(desk, parsed[0]) == f"refund-{IBAN_MASKED}.pdf"


async def test_wrap_up_notes_end_reasons_and_transfer_notes_are_masked(desk: World) -> None:
    conv = await chat_with_alice(desk)
    await desk.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=conv.id, wrap_up=f"paid {CARD}")
    )
    moved = await chat_with_alice(desk)
    await desk.services.integrator_control.transfer(
        TransferByIntegrator(
            tenant_id=DEFAULT_TENANT, conversation_id=moved.id, queue=SALES, note=f"IBAN {IBAN}"
        )
    )
    await desk.services.integrator_control.end(
        EndByIntegrator(tenant_id=DEFAULT_TENANT, conversation_id=moved.id, reason=f"{CARD}")
    )
    events = [*desk.published(conv.id), *desk.published(moved.id)]
    notes = [e.note for e in events if isinstance(e, WrapUpRecorded)]
    assert notes == [f"paid {CARD_MASKED}", CARD_MASKED]
    (transferred,) = [e for e in events if isinstance(e, Transferred)]
    assert transferred.note == f"IBAN {IBAN_MASKED}"
    for cid in (conv.id, moved.id):
        history = repr(await desk.history.history(ConversationId(cid)))
        assert CARD not in history
        assert IBAN not in history


RICH = Rich(
    card=RichCard(
        title=f"Refund to {IBAN}",
        text=f"card {CARD}",
        image_url="https://shop.example/i.png",
        image_alt=f"statement {IBAN}",
        buttons=(RichButton(label=f"Yes, {CARD}", payload="4111111111111111"),),
    )
)


async def test_rich_texts_are_masked_and_payloads_kept_so_the_answer_works(
    desk: World,
) -> None:
    conv = await chat_with_alice(desk)
    posted = await desk.services.integrator_messages.post(
        PostIntegratorMessage(
            tenant_id=DEFAULT_TENANT,
            conversation_id=conv.id,
            sender=BOT,
            client_msg_id="r-1",
            text="",
            rich=RICH,
        )
    )
    card = posted.rich.card if posted.rich is not None else None
    assert card is not None
    assert (card.title, card.text, card.image_alt) == (
        f"Refund to {IBAN_MASKED}",
        f"card {CARD_MASKED}",
        f"statement {IBAN_MASKED}",
    )
    assert card.image_url == "https://shop.example/i.png"
    (button,) = card.buttons
    # The payload is the integrator's identifier, matched against the answer: kept.
    assert (button.label, button.payload) == (f"Yes, {CARD_MASKED}", "4111111111111111")
    answer = await desk.services.rich_replies.answer(
        AnswerRichMessage(
            visitor_id=conv.visitor_id,
            conversation_id=conv.id,
            client_msg_id="a-1",
            seq=posted.seq,
            payloads=["4111111111111111"],
        )
    )
    assert answer.text == f"Yes, {CARD_MASKED}"


def test_a_field_redactor_without_rules_changes_nothing() -> None:
    nothing = FieldRedactor(None, None)
    context = VisitorContext(page_url=f"https://x.example/?c={CARD}", custom={"a": CARD})
    assert nothing.context(context) is context
    assert nothing.rich(RICH) is RICH
    picker = Rich(
        list_picker=RichListPicker(
            title=f"pick {CARD}", items=(RichListItem(id=CARD, label=IBAN, description=CARD),)
        )
    )
    masked = FieldRedactor(Redactor(RedactionSettings()), None).rich(picker)
    assert masked is not None
    assert masked.list_picker is not None
    (item,) = masked.list_picker.items
    assert (masked.list_picker.title, item.id, item.label, item.description) == (
        f"pick {CARD_MASKED}",
        CARD,
        IBAN_MASKED,
        CARD_MASKED,
    )


@pytest.mark.parametrize("key", ["email", "phone"])
def test_contact_fields_skip_only_the_email_and_phone_rules(key: str) -> None:
    full = Redactor(RedactionSettings(emails=True))
    contact = Redactor(RedactionSettings())
    redact = FieldRedactor(full, contact)
    assert redact.field(key, f"{MAIL} {CARD}", "form") == f"{MAIL} {CARD_MASKED}"
    assert redact.field("other", f"{MAIL} {CARD}", "form") == f"{MAIL_MASKED} {CARD_MASKED}"
