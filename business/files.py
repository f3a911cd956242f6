"""Files both ways: visitors upload into a conversation, agents' files are copied in.

A file's bytes live in the blob store (``business.file_ports.BlobStore``), its metadata in
the ``files`` repository, and it reaches people only through signed URLs
(``business.file_links``). A visitor may attach to a message only files they uploaded to
that conversation; anyone else's is ``Forbidden``, like another visitor's conversation.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from business.access import visitor_conversation
from business.conversation import Conversation
from business.errors import (
    FileGone,
    FileTooLarge,
    FileTypeNotAllowed,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from business.file_config import checked_limits
from business.file_links import FileLinks
from business.file_model import (
    MAX_NAME_LENGTH,
    FileId,
    FileLimits,
    FileOwner,
    StoredFile,
    file_ref,
)
from business.file_ports import BlobStore, FileFetcher
from business.identities import IdentityCheck
from business.identity_ports import IdentityTokenVerifier
from business.model import AgentId, ConversationId, TenantId, VisitorId, new_id
from business.ports import Clock
from business.redaction_policy import RedactionPolicy
from business.sessions import find_visitor
from business.transactions import Transactions

logger = logging.getLogger(__name__)

_FILE_ID_RE = re.compile(r"[0-9a-f]{32}")
# Bidirectional controls too: "invoice\u202egnp.exe" would show as "invoiceexe.png".
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]')


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadFile:
    tenant_id: TenantId
    visitor_token: str | None
    conversation_id: ConversationId
    name: str
    content_type: str
    data: bytes
    identity: str | None = None
    """The signed identity token (``X-Chat-Identity``): an identified visitor's token
    alone is nobody's (``business.sessions.find_visitor``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenedFile:
    file: StoredFile
    data: bytes


class FileService:
    def __init__(
        self,
        *,
        transactions: Transactions,
        blobs: BlobStore,
        links: FileLinks,
        clock: Clock,
        fetcher: FileFetcher | None = None,
        identity_verifier: IdentityTokenVerifier | None = None,
        redaction: RedactionPolicy | None = None,
    ) -> None:
        self._tx = transactions
        self._redaction = redaction or RedactionPolicy()
        self._identities = IdentityCheck(
            transactions=transactions, clock=clock, verifier=identity_verifier
        )
        self._blobs = blobs
        self._clock = clock
        self._fetcher = fetcher
        self.links = links
        """Edges sign attachments with it (``for_visitor``, ``lasting``)."""

    async def limits(self, tenant_id: TenantId) -> FileLimits:
        async with self._tx.read() as tx:
            return await tx.files.limits(tenant_id) or FileLimits()

    async def set_limits(self, tenant_id: TenantId, limits: FileLimits) -> FileLimits:
        """Replace the tenant's limits; ``NotFound`` for an unknown tenant."""
        checked = checked_limits(limits)
        async with self._tx() as tx:
            if await tx.tenants.get(tenant_id) is None:
                raise NotFound(f"unknown tenant {tenant_id!r}")
            await tx.files.put_limits(tenant_id, checked)
            await tx.commit()
        return checked

    async def upload(self, cmd: UploadFile) -> StoredFile:
        """Store a visitor's file in one of their conversations (open or not). The
        caller proves who they are as for ``business.visitor_events``; the file must
        fit the tenant's limits (``FileTooLarge``, ``FileTypeNotAllowed``)."""
        token = cmd.visitor_token
        content_type = cmd.content_type.split(";", 1)[0].strip().lower()
        verified = await self._identities.for_bearer(cmd.tenant_id, token, cmd.identity)
        async with self._tx.read() as tx:
            _, visitor = await find_visitor(
                tx, cmd.tenant_id, token, identity=verified, now=self._clock.now()
            )
            if visitor is None:
                raise Unauthenticated("unknown visitor token")
            await visitor_conversation(tx, visitor.id, cmd.conversation_id, for_update=False)
            limits = await tx.files.limits(cmd.tenant_id) or FileLimits()
            # Agents see the name in the link; the visitor chose it (``scan_1234….pdf``).
            name = await self._redaction.redact(
                tx, cmd.tenant_id, safe_name(cmd.name), cmd.conversation_id
            )
        check_file(len(cmd.data), content_type, limits)
        stored = StoredFile(
            id=FileId(new_id()),
            tenant_id=cmd.tenant_id,
            conversation_id=cmd.conversation_id,
            visitor_id=visitor.id,
            owner=FileOwner.VISITOR,
            name=name,
            content_type=content_type,
            size=len(cmd.data),
            created_at=self._clock.now(),
        )
        await self._store(stored, cmd.data)
        logger.info(
            "conversation %s: visitor uploaded file %s (%s, %d bytes)",
            stored.conversation_id,
            stored.id,
            stored.content_type,
            stored.size,
        )
        return stored

    async def visitor_attachments(
        self, visitor_id: VisitorId, conversation_id: ConversationId, file_ids: Sequence[str]
    ) -> tuple[str, ...]:
        """The attachments of a visitor's message: ``file:<id>`` for each of ``file_ids``,
        each a file this visitor uploaded to this conversation (else ``Forbidden``)."""
        if len(file_ids) > 10:
            raise InvalidInput("at most 10 attachments per message")
        refs: list[str] = []
        async with self._tx.read() as tx:
            for file_id in file_ids:
                found = (
                    await tx.files.get(FileId(file_id)) if _FILE_ID_RE.fullmatch(file_id) else None
                )
                if (
                    found is None
                    or found.visitor_id != visitor_id
                    or found.conversation_id != conversation_id
                ):
                    raise Forbidden(f"file {file_id!r} is not one you uploaded to this chat")
                refs.append(file_ref(found))
        return tuple(dict.fromkeys(refs))

    async def open(self, file_id: str, exp: str, sig: str) -> OpenedFile:
        """The file a signed URL names; ``Forbidden`` for a bad or expired signature (also
        before looking the id up: an unsigned request learns nothing)."""
        self.links.check(FileId(file_id), exp, sig)
        async with self._tx.read() as tx:
            found = await tx.files.get(FileId(file_id))
        data = None if found is None else await self._blobs.get(found.id)
        if found is None or data is None:
            # The signature is the engine's own: the file was there when the link was
            # made, and has been purged since (its tenant's retention).
            raise FileGone(
                "this file is no longer available: it was deleted after the time files are kept"
            )
        return OpenedFile(file=found, data=data)

    async def copy_agent_files(
        self,
        conversation_id: ConversationId,
        urls: Sequence[str],
        *,
        agent_id: AgentId,
        agent_address: str,
        client_msg_id: str | None = None,
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """An agent's files by URL, split into those passed on as they are and those
        copied into the store (as ``file:<id>``): ``SendAgentMessage``'s ``attachments``
        and ``copied``. ``agent_address`` is the agent's XMPP address; ``client_msg_id``:
        their message's, which, stored already (a resent stanza), is answered as that
        message: its files are not fetched and kept again."""
        if urls and client_msg_id is not None:
            async with self._tx.read() as tx:
                key = (conversation_id, client_msg_id)
                stored = (await tx.events.find_messages([key])).get(key)
            if stored is not None and stored.sender.id == agent_id:
                return tuple(urls), ()
        domain = agent_address.rpartition("@")[2].partition("/")[0]
        kept: list[str] = []
        copied: list[str] = []
        for url in urls:
            got = await self.import_agent_file(
                conversation_id, url, agent_id=agent_id, agent_domain=domain
            )
            (kept if got == url else copied).append(got)
        return tuple(kept), tuple(copied)

    async def import_agent_file(
        self, conversation_id: ConversationId, url: str, *, agent_id: AgentId, agent_domain: str
    ) -> str:
        """An agent's file by URL as the visitor will get it: copied into the store
        (``file:<id>``) so access stays authenticated, or the URL itself if it cannot be
        fetched within the tenant's size limit. Only URLs on the agent's own server
        (``agent_domain`` or a name under it: its XEP-0363 upload service) are fetched:
        the engine must not become a way to reach any address it can. Only for an
        agent who may write to the open conversation (its own, offered to them, or a
        member): the copy is made before the message is checked, and nobody else's
        file may be fetched and kept in somebody's conversation."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower() if parts.scheme in ("http", "https") else ""
        domain = agent_domain.lower()
        if self._fetcher is None or not host or not (host == domain or host.endswith("." + domain)):
            return url
        async with self._tx.read() as tx:
            conv = await tx.conversations.get(conversation_id, for_update=False)
            if conv is None or not _may_share(conv, agent_id):
                return url
            limits = await tx.files.limits(conv.tenant_id) or FileLimits()
        fetched = await self._fetcher.fetch(url, max_bytes=limits.max_bytes)
        if fetched is None:
            logger.info("conversation %s: agent's file not copied, sent as a link", conv.id)
            return url
        async with self._tx.read() as tx:
            name = await self._redaction.redact(
                tx, conv.tenant_id, safe_name(fetched.name), conv.id
            )
        stored = StoredFile(
            id=FileId(new_id()),
            tenant_id=conv.tenant_id,
            conversation_id=conv.id,
            visitor_id=None,
            owner=FileOwner.AGENT,
            name=name,
            content_type=fetched.content_type.split(";", 1)[0].strip().lower(),
            size=len(fetched.data),
            created_at=self._clock.now(),
        )
        await self._store(stored, fetched.data)
        logger.info("conversation %s: agent's file copied as %s", conv.id, stored.id)
        return file_ref(stored)

    async def _store(self, stored: StoredFile, data: bytes) -> None:
        # Bytes first: metadata without bytes would be a file that 404s forever; bytes
        # without metadata are unreachable garbage at worst.
        await self._blobs.put(stored.id, data)
        async with self._tx() as tx:
            await tx.files.add(stored)
            await tx.commit()


def _may_share(conv: Conversation, agent_id: AgentId) -> bool:
    """Whether the agent's file may be copied into ``conv``: it is open and theirs, or
    offered to them, or they are in it (the message itself is checked afterwards)."""
    return conv.is_open and (
        conv.agent_id == agent_id
        or conv.offered_to == agent_id
        or conv.member(agent_id) is not None
    )


def check_file(size: int, content_type: str, limits: FileLimits) -> None:
    if size == 0:
        raise InvalidInput("the file is empty")
    if size > limits.max_bytes:
        raise FileTooLarge(f"the file is larger than {limits.max_bytes} bytes")
    if content_type not in limits.allowed_types:
        raise FileTypeNotAllowed(f"files of type {content_type or 'unknown'!r} are not accepted")


def safe_name(name: str) -> str:
    """A file name fit for a ``Content-Disposition`` header and a link: no path, no
    control characters (bidirectional ones included) or quotes, at most
    ``MAX_NAME_LENGTH`` characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE_NAME.sub("_", base).strip().strip(".")
    try:
        cleaned.encode("utf-8")
    except UnicodeEncodeError:
        cleaned = cleaned.encode("utf-8", "replace").decode("utf-8")
    return cleaned[:MAX_NAME_LENGTH] or "file"
