"""Downloads an agent's shared file with aiohttp's client (``business.file_ports.FileFetcher``).

Bounded twice: the whole download within ``timeout`` seconds, and the body read in chunks
up to ``max_bytes`` (a ``Content-Length`` over it is not even started). Which URLs are
fetched at all is business's decision (``business.files``: the agent's own server only).
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import unquote, urlsplit

import aiohttp

from business.file_ports import FetchedFile

logger = logging.getLogger(__name__)

_CHUNK = 65_536


class AiohttpFileFetcher:
    def __init__(self, *, timeout: float, verify_tls: bool = True) -> None:
        self._timeout = timeout
        self._verify_tls = verify_tls

    async def fetch(self, url: str, *, max_bytes: int) -> FetchedFile | None:
        try:
            return await asyncio.wait_for(self._fetch(url, max_bytes), self._timeout)
        except (TimeoutError, aiohttp.ClientError, ValueError) as error:
            logger.info("file at %s not fetched: %r", urlsplit(url).netloc, error)
            return None

    async def _fetch(self, url: str, max_bytes: int) -> FetchedFile | None:
        connector = aiohttp.TCPConnector(ssl=self._verify_tls)
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.get(url, allow_redirects=False) as response,
        ):
            if response.status != 200:
                logger.info("file at %s: HTTP %d", urlsplit(url).netloc, response.status)
                return None
            if (response.content_length or 0) > max_bytes:
                return None
            data = bytearray()
            async for chunk in response.content.iter_chunked(_CHUNK):
                data += chunk
                if len(data) > max_bytes:
                    return None
            name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
            return FetchedFile(
                data=bytes(data),
                content_type=response.content_type or "application/octet-stream",
                name=name,
            )
