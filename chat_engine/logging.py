"""Logging set-up: the only place that configures handlers; everything else only logs."""

from __future__ import annotations

import json
import logging
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
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(_TEXT_FORMAT))
    root.addHandler(handler)
    numeric = logging.getLevelNamesMapping()[level.upper()]
    root.setLevel(numeric)
    for name, quiet_level in _QUIET.items():
        logging.getLogger(name).setLevel(
            logging.NOTSET if numeric <= logging.DEBUG else quiet_level
        )
    for name, silent_level in _SILENT.items():
        logging.getLogger(name).setLevel(silent_level)
