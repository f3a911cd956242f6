"""Domain errors. They carry no HTTP, Socket.IO or XMPP codes: each edge maps them."""

# The names read as what the caller is told (NotFound, Forbidden), which is how every edge
# maps them; an "Error" suffix would add nothing, and the names are public API by now.
# ruff: noqa: N818

from __future__ import annotations

from datetime import datetime


class DomainError(Exception):
    """Base of every error a use case raises on purpose; the message is safe to show."""


class InvalidInput(DomainError):
    """The request is malformed or a value is out of range."""


class TooLarge(InvalidInput):
    """A text or payload is longer than the configured limit."""


class EmailRequired(InvalidInput):
    """An e-mail address is needed and none was given or is known: ask for one."""


class TargetRefused(InvalidInput):
    """A webhook URL's host is, or resolves to, an address webhooks may not reach
    (loopback, private and the like; see ``business.webhook_targets``)."""


class NotFound(DomainError):
    """The tenant, conversation, queue or agent does not exist (or is not yours to see)."""


class UnknownVisitor(NotFound):
    """No visitor has this token (it expired, or the database was reset)."""


class AlreadyExists(InvalidInput):
    """What is to be created exists already (a tenant id that is taken). An
    ``InvalidInput`` for the edges that have no better word for it; the REST API says
    409 ``conflict``."""


class Forbidden(DomainError):
    """The caller may not touch this conversation."""


class Unauthenticated(DomainError):
    """No credentials, or credentials nobody has: a missing, malformed, unknown or revoked
    API key."""


class InvalidTransition(DomainError):
    """The conversation's state does not allow this (for example, it has ended)."""


class QueueFull(DomainError):
    """The queue already holds as many waiting conversations as it may; try later."""


class QueueClosed(DomainError):
    """The queue is outside its opening hours; ``opens_at`` says when it opens next
    (None: it has no opening ahead)."""

    def __init__(self, message: str, *, opens_at: datetime | None) -> None:
        super().__init__(message)
        self.opens_at = opens_at


class RateLimited(DomainError):
    """The caller asked too often; retrying after a moment will succeed."""


class TranscriptLimit(DomainError):
    """A conversation's transcript was sent as often, or to as many addresses, as it may
    be: for good, retrying does not help (it would make the engine a relay for spam)."""


class Unavailable(DomainError):
    """A dependency needed for this request is down; retrying later may succeed."""


class Conflict(Unavailable):
    """What a change was decided on was changed meanwhile (by another process); deciding
    again on the stored state succeeds. Use cases retry it themselves."""


class IdentityRejected(DomainError):
    """A connect's signed identity was refused (``business.identities``): ``code`` is
    ``identity_required``, ``identity_invalid`` or ``identity_disabled``; ``reason``
    says which check failed, for ``identity_invalid`` (``expired``, ``audience`` …)."""

    def __init__(self, message: str, *, code: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class FileTooLarge(TooLarge):
    """An uploaded file is larger than its tenant allows (``business.files``)."""


class FileTypeNotAllowed(InvalidInput):
    """An uploaded file's type is not one its tenant accepts (``business.files``)."""


class FileGone(NotFound):
    """A file the engine once handed out a link to, deleted since (its tenant's
    retention, ``business.file_retention``): the link is right, the file is no more."""
