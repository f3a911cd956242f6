"""The single mapping from exceptions to protocol error codes."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from business.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    QueueClosed,
    QueueFull,
    RateLimited,
    TooLarge,
    Unavailable,
)
from presentation.errors import ConnectRefused, error_ack, error_body


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (InvalidInput("bad"), "invalid_input"),
        (TooLarge("long"), "too_large"),
        (NotFound("gone"), "not_found"),
        (Forbidden("not yours"), "forbidden"),
        (InvalidTransition("conversation is ended, cannot become active"), "invalid_input"),
        (Unavailable("db down"), "unavailable"),
        (RateLimited("slow down"), "rate_limited"),
        (QueueFull("support is full"), "queue_full"),
        (QueueClosed("support is closed", opens_at=None), "queue_closed"),
        (DomainError("unmapped domain error"), "internal"),
        (KeyError("boom"), "internal"),
    ],
)
def test_codes(exc: Exception, code: str) -> None:
    assert error_body(exc, context="test")["code"] == code


def test_queue_closed_says_when_it_opens_in_utc_or_leaves_it_out() -> None:
    opens = datetime(2026, 11, 27, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    body = error_body(QueueClosed("closed", opens_at=opens), context="t")
    assert body == {"code": "queue_closed", "message": "closed", "opens_at": "2026-11-27T08:00:00Z"}
    assert "opens_at" not in error_body(QueueClosed("closed", opens_at=None), context="t")


def test_domain_messages_are_passed_on_and_transitions_say_why() -> None:
    assert error_body(NotFound("unknown conversation"), context="t")["message"] == (
        "unknown conversation"
    )
    message = error_body(InvalidTransition("this conversation has ended"), context="t")["message"]
    assert message == "not allowed in the conversation's current state: this conversation has ended"


def test_unexpected_errors_are_logged_with_traceback_and_hidden(
    caplog: pytest.LogCaptureFixture,
) -> None:
    try:
        raise ValueError("password=hunter2")
    except ValueError as exc:
        with caplog.at_level(logging.ERROR):
            ack = error_ack(exc, context="message.send from socket s1")
    assert ack == {
        "ok": False,
        "error": {"code": "internal", "message": "internal error; please retry later"},
    }
    (record,) = caplog.records
    assert record.getMessage() == "message.send from socket s1 failed"
    assert record.exc_info is not None


def test_a_refused_connect_carries_code_and_message_as_connect_error_data() -> None:
    refused = ConnectRefused({"code": "not_found", "message": "unknown tenant 'x'"})
    assert refused.error_args == {
        "message": "unknown tenant 'x'",
        "data": {"code": "not_found", "message": "unknown tenant 'x'"},
    }
