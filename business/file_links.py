"""Signed URLs to the engine's files: ``/files/<id>/<name>?exp=<unix>&sig=<hmac>``.

Nobody gets a file by its id alone: the URL carries its expiry and an HMAC-SHA256 of id
and expiry under the engine's secret, so a URL handed to one visitor (or agent) cannot be
turned into another file's, nor kept alive past ``exp``. The name is not signed: it is
only there to be shown (and to tell an image by), the file is served under its own. A
fresh URL is made every time a message is handed out (live, on ``sync``, to an agent),
so the stored message never holds one that expires.

Two lifetimes: the visitor's short one (``for_visitor``: the widget asks again with every
delivery and ``sync``), and the long one (``lasting``) for every output that is read
later and cannot ask again — agents' XMPP clients, the REST API, webhooks and e-mailed
transcripts. Each of those outputs takes an ``AttachmentUrl`` (wired to ``lasting``), so
a stored ``file:<id>`` never leaves the engine as it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, TypeAlias
from urllib.parse import quote

from business.errors import Forbidden
from business.file_model import FileId, parse_file_ref
from business.ports import Clock

FILE_PATH_PREFIX: Final = "/files/"
_SIG_RE = re.compile(r"[A-Za-z0-9_-]{43}")
_EXP_RE = re.compile(r"[0-9]{1,12}")

AttachmentUrl: TypeAlias = Callable[[str], str]
"""Turns a message's stored attachment (``file:<id>`` or an agent's URL) into the link an
output shows: ``FileLinks.lasting`` or ``FileLinks.for_visitor``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FileLinkSettings:
    secret: bytes = b""
    """The HMAC key; empty: no signed URL verifies (a misconfiguration, refused at start)."""
    base_url: str = ""
    """The engine's public URL, which file URLs start with; empty: paths only (the
    widget resolves them against the engine; agents need ``http.public_url``)."""
    visitor_ttl: timedelta = timedelta(minutes=10)
    """How long a URL handed to a visitor works; the widget gets a fresh one with every
    delivery and ``sync``."""
    agent_ttl: timedelta = timedelta(days=7)
    """How long a ``lasting`` URL works (to agents, REST, webhooks, transcripts by
    e-mail): XMPP clients fetch a file when the message is shown, possibly long after it
    arrived (another device, the archive); a webhook's receiver or a mail's reader later
    still."""


class FileLinks:
    def __init__(self, *, settings: FileLinkSettings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock

    def for_visitor(self, attachment: str) -> str:
        """A message attachment as the visitor gets it: a ``file:<id>`` as a signed URL
        on the engine (a path when it does not know its public URL), a URL as it is."""
        parsed = parse_file_ref(attachment)
        if parsed is None:
            return attachment
        return self.visitor_url(*parsed)

    def lasting(self, attachment: str) -> str:
        """A message attachment as everyone but the visitor gets it (agents, the REST
        API, webhooks, transcripts): a ``file:<id>`` as an absolute signed URL valid for
        ``agent_ttl`` (a path when the engine does not know its public URL), a URL as
        it is."""
        parsed = parse_file_ref(attachment)
        if parsed is None:
            return attachment
        file_id, name = parsed
        return self._settings.base_url + self._signed(file_id, name, self._settings.agent_ttl)

    def visitor_url(self, file_id: FileId, name: str = "") -> str:
        """A signed URL for the visitor (what an upload answers), valid ``visitor_ttl``."""
        return self._settings.base_url + self._signed(file_id, name, self._settings.visitor_ttl)

    def check(self, file_id: FileId, exp: str, sig: str) -> None:
        """``Forbidden`` unless ``sig`` is this engine's signature of ``file_id`` and
        ``exp``, and ``exp`` is still to come."""
        if not self._settings.secret or not _EXP_RE.fullmatch(exp) or not _SIG_RE.fullmatch(sig):
            raise Forbidden("this file link is not valid")
        if not hmac.compare_digest(self._signature(file_id, int(exp)), sig):
            raise Forbidden("this file link is not valid")
        if int(exp) < self._clock.now().timestamp():
            raise Forbidden("this file link has expired")

    def _signed(self, file_id: FileId, name: str, ttl: timedelta) -> str:
        exp = int((self._clock.now() + ttl).timestamp())
        path = f"{FILE_PATH_PREFIX}{file_id}" + (f"/{quote(name)}" if name else "")
        return f"{path}?exp={exp}&sig={self._signature(file_id, exp)}"

    def _signature(self, file_id: FileId, exp: int) -> str:
        mac = hmac.new(self._settings.secret, f"{file_id}:{exp}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def derive_file_secret(engine_secret: str) -> bytes:
    """A file-link key from another secret of the engine (the component secret), so that
    every engine process of an installation signs alike without one more secret to set."""
    return hmac.new(engine_secret.encode(), b"chat-engine file links", hashlib.sha256).digest()
