"""The texts of where a visitor writes from and who they are: the offer's header, the
channel, ``!info`` and ``!history`` (``xmpp_bridge.texts`` has the rest; the same rules
hold for a translation)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from business.identity_model import VisitorIdentity
from business.model import Channel
from business.visitor_profile import PastConversation, VisitorInfo
from xmpp_bridge import texts_visit
from xmpp_bridge.texts import offer_page, said_by, shorten


def offer_header(
    visitor: str, queue: str, waited: str, *, new: bool = True, channel: str | None = None
) -> str:
    """``channel``: the provider of an API channel conversation ("" if none); None for
    the widget's, which say nothing of it."""
    what = "New chat from" if new else "The chat with"
    where = f"queue {queue}, waited {waited}"
    if channel is None:
        return f"{what} {visitor} ({where})"
    return f"{what} {visitor} {channel_name(channel or None, where)}"


def offline_offer_header(visitor: str, queue: str, left_at: datetime, email: str | None) -> str:
    """An offline message's offer: the visitor left it while nobody was online and waits
    for the answer by e-mail and in the widget on their next visit."""
    when = left_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    mail = f", e-mail {email}" if email else ""
    return (
        f"Offline message from {visitor}, left at {when}{mail} (queue {queue}). "
        "They are probably gone: your answer reaches them by e-mail and in the chat on "
        "their next visit."
    )


def channel_name(provider: str | None, details: str = "") -> str:
    """A conversation of the API channel, as the agents read it: the service by the
    integrator's label, and that it comes through the API (their answers go there);
    ``details`` go in its parentheses."""
    if provider:
        return f"via {provider} (API channel{', ' + details if details else ''})"
    return f"via the API channel ({details})" if details else "via the API channel"


API_IDENTITY = "the address the integration gave (not verified by the engine)"
"""An API channel visitor's identity: the integrator's bridge names the address."""


def visitor_info(info: VisitorInfo) -> str:
    ctx = info.context
    identity = API_IDENTITY if info.channel is Channel.API else "anonymous (not verified)"
    if info.verified is not None:
        identity = verified_identity(info.verified)
    lines = [f"Visitor: {info.name}", f"Identity: {identity}"]
    if info.verified is not None:
        lines += [
            f"{name} (verified): {shorten(value)}" for name, value in info.verified.extra.items()
        ]
    if info.channel is Channel.API:
        address = f": {shorten(info.external_id)}" if info.external_id else ""
        lines.append(f"Channel: {channel_name(info.provider)}{address}")
    lines += [f"{name}: {shorten(value)}" for name, value in info.form.items() if name != "name"]
    if ctx.page_title or ctx.page_url:
        lines.append(offer_page(ctx.page_title, ctx.page_url))
    if ctx.referrer:
        lines.append(f"Came from: {shorten(ctx.referrer)}")
    lines += [f"{name}: {shorten(value)}" for name, value in ctx.custom.items()]
    lines += texts_visit.visit_lines(ctx, info.started_by)
    earlier = "none" if not info.earlier else str(info.earlier)
    lines.append(f"Earlier chats: {earlier} (!history shows them)")
    return "\n".join(lines)


def verified_identity(identity: VisitorIdentity) -> str:
    """The identity the site signed: its ``sub``, and the name and e-mail it gave. A
    provisional one (an outbound thread named the ``sub``; no token has verified it) is
    not shown as verified: nobody has signed in as it yet."""
    if identity.provisional:
        return f"{shorten(identity.sub)}, not yet verified (named by an outbound thread)"
    said = ", ".join(shorten(part) for part in (identity.name, identity.email) if part)
    return f"verified {shorten(identity.sub)}" + (f" ({said})" if said else "")


def visitor_history(
    past: Sequence[PastConversation], attachment_url: Callable[[str], str] = str
) -> str:
    """``attachment_url``: how files show (``FileLinks.lasting``); never cut short."""
    if not past:
        return "No earlier chats with this visitor."
    lines = [f"Earlier chats with this visitor ({len(past)}, newest first):"]
    for conv in past:
        agent = conv.agent or "no agent"
        lines.append("")
        lines.append(
            f"{conv.started_at:%Y-%m-%d %H:%M} UTC, queue {conv.queue}, {agent}, {conv.outcome}"
        )
        for line in conv.lines:
            said = f"[note from {line.who}] " if line.note else said_by(line.who, line.kind)
            files = [attachment_url(a) for a in line.attachments]
            shown = " ".join([shorten(line.text), *files] if line.text.strip() else files)
            lines.append(f"  {said}{shown}")
    return "\n".join(lines)
