"""Minimal real XMPP logins for tests of the Prosody set-up (client and component)."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import Any

import slixmpp


@dataclass(frozen=True, slots=True)
class Login:
    ok: bool
    encrypted: bool


def _no_verify() -> ssl.SSLContext:
    # The dev certificate is self-signed; what these tests check is that TLS is offered.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def _finish(client: Any, result: asyncio.Future[Login], seconds: float) -> Login:
    try:
        return await asyncio.wait_for(result, seconds)
    finally:
        try:
            await asyncio.wait_for(client.disconnect(wait=0), 5)
        except TimeoutError:
            client.abort()


async def client_login(jid: str, password: str, host: str, port: int, seconds: float = 15) -> Login:
    """Log in as a client over STARTTLS; ``ok`` is False when the password is refused."""
    client: Any = slixmpp.ClientXMPP(jid, password)
    client.ssl_context = _no_verify()
    result: asyncio.Future[Login] = asyncio.get_running_loop().create_future()

    def on_start(_: object) -> None:
        encrypted = client.transport.get_extra_info("ssl_object") is not None
        if not result.done():
            result.set_result(Login(ok=True, encrypted=encrypted))

    def on_failure(_: object) -> None:
        if not result.done():
            result.set_result(Login(ok=False, encrypted=True))

    client.add_event_handler("session_start", on_start)
    client.add_event_handler("failed_all_auth", on_failure)
    client.connect(host=host, port=port)
    return await _finish(client, result, seconds)


async def component_login(jid: str, secret: str, host: str, port: int, seconds: float = 15) -> bool:
    """Connect an external component (XEP-0114); True once the handshake succeeded."""
    component: Any = slixmpp.ComponentXMPP(jid, secret, host, port)  # type: ignore[no-untyped-call]
    result: asyncio.Future[Login] = asyncio.get_running_loop().create_future()

    def on_start(_: object) -> None:
        if not result.done():
            result.set_result(Login(ok=True, encrypted=False))

    def on_end(_: object) -> None:
        if not result.done():
            result.set_result(Login(ok=False, encrypted=False))

    component.add_event_handler("session_start", on_start)
    component.add_event_handler("disconnected", on_end)
    component.connect()
    return (await _finish(component, result, seconds)).ok
