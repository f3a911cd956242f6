"""Domain errors. They carry no HTTP, Socket.IO or XMPP codes: each edge maps them."""


class DomainError(Exception):
    """Base of every error a use case raises on purpose; the message is safe to show."""


class InvalidInput(DomainError):
    """The request is malformed or a value is out of range."""


class TooLarge(InvalidInput):
    """A text or payload is longer than the configured limit."""


class NotFound(DomainError):
    """The tenant, conversation, queue or agent does not exist (or is not yours to see)."""


class Forbidden(DomainError):
    """The caller may not touch this conversation."""


class InvalidTransition(DomainError):
    """The conversation's state does not allow this (for example, it has ended)."""


class Unavailable(DomainError):
    """A dependency needed for this request is down; retrying later may succeed."""
