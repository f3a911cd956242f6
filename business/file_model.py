"""Files shared in a conversation: what the engine stores about each one, and the limits
a tenant sets on what visitors may upload (``business.files``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Final, NewType

from business.model import ConversationId, TenantId, VisitorId

FileId = NewType("FileId", str)

FILE_REF_PREFIX: Final = "file:"
"""How a message's ``attachments`` name a file in the engine's own store: ``file:<id>``.
Each edge turns it into a fresh signed URL when it hands the message out
(``business.file_links``); a stored URL would expire with its signature."""

IMAGE_TYPES: Final = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
"""Types a browser may show inline. Never SVG: it is a document that can run scripts."""

DEFAULT_ALLOWED_TYPES: Final = (
    *sorted(IMAGE_TYPES),
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
)
DEFAULT_MAX_BYTES: Final = 10 * 1024 * 1024
MAX_NAME_LENGTH: Final = 200


class FileOwner(enum.StrEnum):
    """Who put the file in the store."""

    VISITOR = "visitor"
    AGENT = "agent"
    """An agent's file, copied from their XMPP server's upload service."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredFile:
    id: FileId
    tenant_id: TenantId
    conversation_id: ConversationId
    visitor_id: VisitorId | None
    """The uploading visitor; None for an agent's file."""
    owner: FileOwner
    name: str
    content_type: str
    size: int
    created_at: datetime

    @property
    def inline(self) -> bool:
        """Whether a browser may show it in the page rather than download it."""
        return self.content_type in IMAGE_TYPES


MAX_RETENTION_DAYS: Final = 36_500


@dataclass(frozen=True, slots=True, kw_only=True)
class FileLimits:
    """What a tenant's visitors may upload: at most ``max_bytes`` per file, of one of
    ``allowed_types`` (exact media types, lower case); and how long the tenant's files
    are kept: ``retention_days`` after their upload (None: for ever), then purged
    (``business.file_retention``)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    allowed_types: tuple[str, ...] = DEFAULT_ALLOWED_TYPES
    retention_days: int | None = None


def file_ref(file: StoredFile) -> str:
    """``file:<id>/<name>``: the name rides along, so that every link made from it ends
    with the file's name (clients show it, and tell an image by it) without a lookup."""
    return f"{FILE_REF_PREFIX}{file.id}/{file.name}"


def ref_file_id(attachment: str) -> FileId | None:
    """The file id of a ``file:<id>[/<name>]`` attachment; None for a URL."""
    parsed = parse_file_ref(attachment)
    return None if parsed is None else parsed[0]


def parse_file_ref(attachment: str) -> tuple[FileId, str] | None:
    """A ``file:<id>[/<name>]`` attachment's id and name (empty without one); None for
    a URL."""
    if not attachment.startswith(FILE_REF_PREFIX):
        return None
    file_id, _, name = attachment[len(FILE_REF_PREFIX) :].partition("/")
    return FileId(file_id), name
