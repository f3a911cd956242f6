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


def test_a_newline_in_an_argument_cannot_forge_a_log_line() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    # An XMPP error text or a visitor-supplied id, crafted to look like a record of its own.
    forged = "x\n2030-01-01 00:00:00,000 INFO    chat_engine.engine: all agents removed\r\x1b[2J"
    logging.getLogger("xmpp_bridge.inbound").warning("error from %s: %s", "c-1", forged)
    logging.getLogger("xmpp_bridge.inbound").warning("separator %s", "\u2028 and \x85")

    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(
        "xmpp_bridge.inbound: error from c-1: "
        "x\\n2030-01-01 00:00:00,000 INFO    chat_engine.engine: all agents removed\\r\\x1b[2J"
    )
    assert lines[1].endswith("separator \\u2028 and \\x85")


def test_a_traceback_stays_multi_line_and_cannot_forge_a_line_either() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        raise ValueError("bad stanza\n2030-01-01 00:00:00,000 INFO    forged: line")
    except ValueError:
        logging.getLogger("chat_engine.test").exception("conversation %s failed", "c-2")

    first, *rest = stream.getvalue().splitlines()
    assert first.endswith("chat_engine.test: conversation c-2 failed")
    assert rest[0] == "  Traceback (most recent call last):"
    assert rest[-2:] == [
        "  ValueError: bad stanza",
        "  2030-01-01 00:00:00,000 INFO    forged: line",
    ]
    assert all(line.startswith("  ") for line in rest)  # records start with the time
