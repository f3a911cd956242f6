"""A transcript (``business.transcripts``) as an HTML document for an e-mail.

Everything that comes from people — names, messages, the tenant's name — is escaped
(``html.escape``, quotes included), so a message that contains markup shows as the text
that was typed, in every mail client. Styles are inline (mail clients drop style
sheets); line breaks in messages are kept by ``white-space: pre-wrap``, not by markup.
Attachments become links only when they are ``http(s)`` URLs, like in the widget.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from html import escape

from business.transcripts import EDITED, TIME_FORMAT, LineKind, Transcript, TranscriptLine

_PAGE = (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
    "<title>{title}</title>\n</head>\n"
    '<body style="margin:0;padding:16px;background:#f5f5f7;'
    'font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1d1d1f">\n'
    '<div style="max-width:640px;margin:0 auto;background:#ffffff;border-radius:8px;'
    'padding:20px">\n'
    '<p style="margin:0 0 12px">{intro}</p>\n'
    '<p style="margin:0 0 16px;color:#6e6e73;font-size:13px">{when}</p>\n'
    '<table role="presentation" style="border-collapse:collapse;width:100%">\n'
    "{rows}</table>\n</div>\n</body>\n</html>\n"
)
_MESSAGE = (
    "<tr>"
    '<td style="vertical-align:top;padding:6px 8px 6px 0;color:#6e6e73;font-size:12px;'
    'white-space:nowrap">{at}</td>'
    '<td style="vertical-align:top;padding:6px 0">'
    "<strong>{name}</strong>{edited}<br>"
    '<span style="white-space:pre-wrap">{text}</span>{files}</td>'
    "</tr>\n"
)
_NOTICE = (
    "<tr>"
    '<td style="vertical-align:top;padding:6px 8px 6px 0;color:#6e6e73;font-size:12px;'
    'white-space:nowrap">{at}</td>'
    '<td style="vertical-align:top;padding:6px 0;color:#6e6e73;font-style:italic">{text}</td>'
    "</tr>\n"
)


def transcript_to_html(transcript: Transcript, *, title: str, intro: str, tz: tzinfo) -> str:
    """The whole document: ``intro`` over when it started and ended, then one row per
    line, times in ``tz``."""
    when = _when(transcript.started_at, tz)
    if transcript.ended_at is not None:
        when += " to " + _when(transcript.ended_at, tz)
    return _PAGE.format(
        title=escape(title),
        intro=escape(intro),
        when=escape(when),
        rows="".join(_row(line, tz) for line in transcript.lines),
    )


def _row(line: TranscriptLine, tz: tzinfo) -> str:
    at = escape(_when(line.at, tz))
    if line.kind is not LineKind.MESSAGE:
        return _NOTICE.format(at=at, text=escape(line.text))
    edited = f' <span style="color:#6e6e73">{escape(EDITED)}</span>' if line.edited else ""
    return _MESSAGE.format(
        at=at,
        name=escape(line.sender_name or ""),
        edited=edited,
        text=escape(line.text),
        files="".join(_attachment(url) for url in line.attachments),
    )


def _attachment(url: str) -> str:
    if url.lower().startswith(("https://", "http://")):
        link = escape(url, quote=True)
        return f'<br><a href="{link}">{link}</a>'
    return f"<br>{escape(url)}"


def _when(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime(TIME_FORMAT)
