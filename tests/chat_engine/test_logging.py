from __future__ import annotations

import io
import json
import logging

from chat_engine.logging import configure_logging


def test_json_lines_and_no_doubled_handlers() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json_lines=True, stream=stream)
    configure_logging("info", json_lines=True, stream=stream)  # replaces, never doubles
    logger = logging.getLogger("chat_engine.test")
    logger.info("conversation %s started", "c1")
    logger.debug("not shown at INFO")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("conversation %s failed", "c2")

    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "conversation c1 started"
    assert first["level"] == "INFO"
    assert first["logger"] == "chat_engine.test"
    assert first["time"].endswith("+00:00")
    assert second["level"] == "ERROR"
    assert "ValueError: boom" in second["exc_info"]


def test_text_lines_and_quiet_libraries() -> None:
    stream = io.StringIO()
    configure_logging("WARNING", stream=stream)
    logging.getLogger("chat_engine.test").warning("agent %s is %s", "a@example.com", "ready")
    logging.getLogger("slixmpp.xmlstream").info("RECV: <presence/>")
    assert stream.getvalue().count("\n") == 1
    assert "WARNING chat_engine.test: agent a@example.com is ready" in stream.getvalue()

    configure_logging("DEBUG", stream=stream)
    assert logging.getLogger("slixmpp").getEffectiveLevel() == logging.DEBUG
    assert logging.getLogger("aiosqlite").getEffectiveLevel() == logging.WARNING
