"""Webhooks over HTTP: ``business.webhook_ports.WebhookTransport`` on aiohttp's client, and
``HostResolver`` on the system's resolver.

The SSRF guard sits where the connection is made: every socket the client opens goes
through ``_guarded_socket``, which refuses an address ``business.webhook_targets``
does not allow. That covers names resolved at this moment (DNS may have changed since
the subscription was checked), IP literals and every address happy eyeballs tries,
with no window between a check and the connection. Redirects are not followed, and no
proxy from the environment is used (it would connect on our behalf, past the guard).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import time
from collections.abc import Mapping, Sequence

import aiohttp
from aiohappyeyeballs import AddrInfoType

from business.webhook_ports import HttpResult
from business.webhook_targets import address_refusal

logger = logging.getLogger(__name__)

USER_AGENT = "chat-engine-webhooks/1"
RESPONSE_PREVIEW = 200
"""Characters of a failed attempt's response kept in its error (the log shows why)."""


def _guarded_socket(addr_info: AddrInfoType) -> socket.socket:
    family, type_, proto, _, address = addr_info
    refusal = address_refusal(str(address[0]))
    if refusal is not None:
        raise OSError(errno.EACCES, f"refused: {refusal} (webhooks reach public addresses only)")
    return socket.socket(family=family, type=type_, proto=proto)


class AiohttpWebhookTransport:
    """One client session for every webhook of this process, made on first use (in the
    running loop) and closed by ``close``."""

    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                socket_factory=None if self._allow_private else _guarded_socket,
                limit=0,  # the dispatcher bounds how many are in flight
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"user-agent": USER_AGENT},
            )
        return self._session

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> HttpResult:
        began = time.monotonic()

        def result(status: int | None, error: str | None) -> HttpResult:
            duration = int((time.monotonic() - began) * 1000)
            return HttpResult(status=status, error=error, duration_ms=duration)

        try:
            async with self._client().post(
                url,
                data=body,
                headers=dict(headers),
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                if 200 <= response.status < 300:
                    return result(response.status, None)
                preview = await response.content.read(RESPONSE_PREVIEW * 4)
                text = preview.decode("utf-8", "replace")[:RESPONSE_PREVIEW].strip()
                error = f"HTTP {response.status}" + (f": {text}" if text else "")
                return result(response.status, error)
        except TimeoutError:
            return result(None, f"timed out after {timeout:g} s")
        except aiohttp.ClientConnectorError as error:
            return result(None, f"cannot connect to {error.host}:{error.port}: {error.os_error}")
        except aiohttp.ClientError as error:
            return result(None, f"{type(error).__name__}: {error}")
        except (OSError, ValueError) as error:
            return result(None, f"{type(error).__name__}: {error}")


class SystemHostResolver:
    """``business.webhook_ports.HostResolver`` through the system's resolver, as the
    transport connects (``getaddrinfo``)."""

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError):
            return []
        return list(dict.fromkeys(str(info[4][0]) for info in infos))
