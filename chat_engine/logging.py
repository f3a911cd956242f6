"""Logging set-up: the only place that configures handlers; everything else only logs."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TextIO

_TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Libraries that log every stanza or frame at INFO would drown the engine's own lines; at
# DEBUG the developer asked for everything, so they speak up then.
_QUIET = {
    "slixmpp": logging.WARNING,
    "engineio": logging.WARNING,
    "socketio": logging.WARNING,
    "alembic": logging.WARNING,
}
# One line per SQLite call, even at DEBUG, tells nobody anything.
_SILENT = {"aiosqlite": logging.WARNING}


# C0 and C1 controls (CR, LF, ESC for terminal tricks ...), DEL and the Unicode line and
# paragraph separators; a tab cannot end a line and stays readable.
_CONTROL_RE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPES = {"\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _ESCAPES.get(char) or (
        f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    )


class TextFormatter(logging.Formatter):
    """One record, one line: control characters in the message are escaped (``\\n``,
    ``\\x1b``), so untrusted text (an XMPP error text, a visitor-supplied id) logged as
    an argument can never start a line of its own that looks like another record.

    Fixed here, once, rather than at each call that logs untrusted text: every such call
    would have to remember. A traceback stays multi-line, each of its lines indented, so
    no line in it can pass for a record either (records start with the time).
    """

    def format(self, record: logging.LogRecord) -> str:
        # Not ``Formatter.format``: it would reuse ``record.exc_text`` as another handler
        # cached it, unindented.
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        parts = [_CONTROL_RE.sub(_escape, self.formatMessage(record))]
        if record.exc_info:
            parts.append(_indented(self.formatException(record.exc_info)))
        elif record.exc_text:
            parts.append(_indented(record.exc_text))
        if record.stack_info:
            parts.append(_indented(self.formatStack(record.stack_info)))
        return "\n".join(parts)


def _indented(text: str) -> str:
    return "\n".join("  " + _CONTROL_RE.sub(_escape, line) for line in text.splitlines())


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _OurHandler(logging.StreamHandler[TextIO]):
    """Marks the handler we installed, so configuring again replaces it instead of
    doubling every line (tests and ``dev`` may configure more than once)."""


def configure_logging(
    level: str = "INFO", *, json_lines: bool = False, stream: TextIO | None = None
) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _OurHandler):
            root.removeHandler(handler)
            handler.close()
    handler = _OurHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter(_TEXT_FORMAT))
    root.addHandler(handler)
    numeric = logging.getLevelNamesMapping()[level.upper()]
    root.setLevel(numeric)
    for name, quiet_level in _QUIET.items():
        logging.getLogger(name).setLevel(
            logging.NOTSET if numeric <= logging.DEBUG else quiet_level
        )
    for name, silent_level in _SILENT.items():
        logging.getLogger(name).setLevel(silent_level)
