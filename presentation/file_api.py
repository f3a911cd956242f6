"""Files over HTTP: a visitor's upload, ``POST /visitor-api/v1/files``, and every file's
download by signed URL, ``GET /files/{id}?exp=&sig=``.

The upload is a visitor endpoint like ``presentation.visitor_api``'s event reads: the
same credentials (``Authorization: Bearer <visitor_token>``, ``X-Chat-Tenant``), CORS
for the sites that may use the chat, and one token of the client address's connect
budget per request. The body is ``multipart/form-data`` with a ``conversation_id`` field
and then a ``file`` part; the file is read only up to the tenant's limit.

A download needs no credentials, only a link the engine signed (``business.file_links``),
and is answered so that nothing in it can run on the engine's origin: ``nosniff``, a CSP
that allows nothing and sandboxes, and ``Content-Disposition: attachment`` for anything
but the image types a browser shows as pictures (never SVG).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final
from urllib.parse import quote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage

from business.errors import FileGone, FileTooLarge, FileTypeNotAllowed, Forbidden, InvalidInput
from business.file_model import StoredFile
from business.files import UploadFile
from business.model import ConversationId, TenantId
from business.services import Services
from business.validation import check_storable
from presentation.api.problems import ApiError, problem_response
from presentation.event_refs import VISITOR_API_PREFIX
from presentation.limits import VisitorLimits
from presentation.public_http import cors_headers
from presentation.settings import WebSettings
from presentation.socketio_server import origin_policy
from presentation.visitor_api import (
    IDENTITY_HEADER,
    TENANT_HEADER,
    bearer,
    visitor_preflight,
    visitor_response,
)

logger = logging.getLogger(__name__)

UPLOAD_ROUTE: Final = VISITOR_API_PREFIX + "/files"
DOWNLOAD_ROUTE: Final = "/files/{file_id}"
NAMED_DOWNLOAD_ROUTE: Final = "/files/{file_id}/{name}"
"""The same file; the name (not signed) is only there for clients to show."""
FILE_TOO_LARGE: Final = "file_too_large"
FILE_TYPE_NOT_ALLOWED: Final = "file_type_not_allowed"
FILE_GONE: Final = "file_gone"
GONE_TEXT: Final = (
    "This file is no longer available.\n\n"
    "Files shared in this chat are kept for a limited time, and this one has been deleted.\n"
)
"""What a person who opens a purged file's link reads (a browser tab, an agent's XMPP
client): a sentence, not an error page."""
_MAX_FIELD_BYTES: Final = 256
_CHUNK: Final = 65_536
_DOWNLOAD_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Referrer-Policy": "no-referrer",
    # The widget shows images inside pages of the customers' sites.
    "Cross-Origin-Resource-Policy": "cross-origin",
    # Only the browser that was handed the link; it expires anyway.
    "Cache-Control": "private, max-age=600",
}


class FileEndpoints:
    def __init__(self, *, services: Services, settings: WebSettings, limits: VisitorLimits):
        self._services = services
        self._limits = limits
        self._origins = origin_policy(settings)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(UPLOAD_ROUTE, self.upload)
        router.add_route("OPTIONS", UPLOAD_ROUTE, self.preflight)
        router.add_get(DOWNLOAD_ROUTE, self.download, allow_head=False)
        router.add_get(NAMED_DOWNLOAD_ROUTE, self.download, allow_head=False)

    async def upload(self, request: web.Request) -> web.Response:
        cors = cors_headers(self._origins, request)
        try:
            if cors is None:
                raise Forbidden("pages of this site may not use the chat (cors_allowed_origins)")
            await self._limits.connection(
                self._limits.address(request.remote, request.headers.getall("X-Forwarded-For", ()))
            )
            stored = await self._services.files.upload(await self._read_upload(request))
        except asyncio.CancelledError:
            raise
        except FileTooLarge as error:
            response = problem_response(
                ApiError(FILE_TOO_LARGE, str(error), status=413), context=""
            )
        except FileTypeNotAllowed as error:
            response = problem_response(
                ApiError(FILE_TYPE_NOT_ALLOWED, str(error), status=415), context=""
            )
        except Exception as error:
            response = problem_response(error, context=f"POST {request.path}")
        else:
            response = web.json_response(self._file_to_wire(stored), status=201)
        return visitor_response(response, cors)

    async def preflight(self, request: web.Request) -> web.Response:
        return visitor_preflight(self._origins, request, "POST")

    async def download(self, request: web.Request) -> web.StreamResponse:
        try:
            opened = await self._services.files.open(
                request.match_info["file_id"],
                request.query.get("exp", ""),
                request.query.get("sig", ""),
            )
        except asyncio.CancelledError:
            raise
        except FileGone as error:
            return _gone(request, str(error))
        except Exception as error:
            response = problem_response(error, context=f"GET {request.path}")
            response.headers.update(_DOWNLOAD_HEADERS)
            return response
        file = opened.file
        disposition = "inline" if file.inline else "attachment"
        return web.Response(
            body=opened.data,
            headers={
                **_DOWNLOAD_HEADERS,
                "Content-Type": file.content_type or "application/octet-stream",
                "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(file.name)}",
            },
        )

    def _file_to_wire(self, stored: StoredFile) -> dict[str, object]:
        return {
            "id": stored.id,
            "name": stored.name,
            "type": stored.content_type,
            "size": stored.size,
            "url": self._services.files.links.visitor_url(stored.id, stored.name),
        }

    async def _read_upload(self, request: web.Request) -> UploadFile:
        tenant = check_storable(request.headers.get(TENANT_HEADER, "").strip(), TENANT_HEADER)
        if not tenant or len(tenant) > 64:
            raise InvalidInput(
                f"the {TENANT_HEADER} header must name the tenant (1 to 64 characters)"
            )
        limits = await self._services.files.limits(TenantId(tenant))
        if not request.content_type.startswith("multipart/form-data"):
            raise InvalidInput("send the file as multipart/form-data (conversation_id, file)")
        try:
            return await self._read_parts(request, TenantId(tenant), limits.max_bytes)
        except BadHttpMessage as error:
            # A part's headers past aiohttp's line or header limits.
            raise InvalidInput(
                f"the multipart/form-data body is malformed: {error.message[:200]}"
            ) from None
        except ValueError as error:
            # aiohttp's multipart parser refuses a body it cannot read (no or an empty
            # boundary, broken part headers) with a ValueError: the client's mistake.
            if isinstance(error, UnicodeError):
                raise InvalidInput("the upload's parts must be UTF-8") from None
            raise InvalidInput(f"the multipart/form-data body is malformed: {error}") from None

    async def _read_parts(
        self, request: web.Request, tenant: TenantId, max_bytes: int
    ) -> UploadFile:
        reader = await request.multipart()
        conversation_id = ""
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise InvalidInput("nested multipart bodies are not accepted")
            if part.name == "conversation_id":
                raw = await part.read_chunk(_MAX_FIELD_BYTES)
                conversation_id = check_storable(raw.decode("utf-8", "replace"), "conversation_id")
            elif part.name == "file":
                if not conversation_id:
                    raise InvalidInput("conversation_id must come before the file")
                data = bytearray()
                while chunk := await part.read_chunk(_CHUNK):
                    data += chunk
                    if len(data) > max_bytes:
                        raise FileTooLarge(f"the file is larger than {max_bytes} bytes")
                # The body must close after the file: a client cut off mid-file would
                # otherwise have what arrived stored as the whole file (a body that just
                # stops makes aiohttp raise ValueError here, answered as malformed).
                if await reader.next() is not None:
                    raise InvalidInput("nothing may follow the file part")
                return UploadFile(
                    tenant_id=tenant,
                    visitor_token=bearer(request),
                    identity=request.headers.get(IDENTITY_HEADER, "").strip() or None,
                    conversation_id=ConversationId(conversation_id.strip()),
                    name=part.filename or "file",
                    content_type=part.headers.get("Content-Type", ""),
                    data=bytes(data),
                )
        raise InvalidInput("the upload has no file part")


def _gone(request: web.Request, detail: str) -> web.Response:
    """410 Gone for a purged file: its link was the engine's own and is not wrong, the
    file is deleted (its tenant's retention) and will not come back. Plain text for
    people; a JSON problem (``file_gone``) for programs that ask for JSON."""
    if "json" in request.headers.get("Accept", ""):
        response = problem_response(ApiError(FILE_GONE, detail, status=410), context="")
    else:
        response = web.Response(status=410, text=GONE_TEXT, content_type="text/plain")
    response.headers.update(_DOWNLOAD_HEADERS)
    # A purged file stays purged; but the same URL must not be cached as gone for long
    # if an operator restores the bytes from a backup.
    response.headers["Cache-Control"] = "no-store"
    return response
