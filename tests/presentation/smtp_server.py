"""A real SMTP server for the tests: aiosmtpd's SMTP protocol on a loopback port, in the
test's own event loop, keeping what it receives. It can refuse chosen recipients, speak
STARTTLS or TLS from the first byte with a certificate made by ``openssl``, and require a
login."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True, slots=True, kw_only=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes
    tls: bool
    """The mail came over TLS (STARTTLS or from the first byte)."""
    login: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_certificate(directory: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost; it is its own CA file."""
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return Certificate(cert=cert, key=key)


class SmtpSink:
    """The handler aiosmtpd calls, and what it kept."""

    def __init__(self, refuse: Mapping[str, str], *, implicit_tls: bool) -> None:
        self.received: list[Received] = []
        self._refuse = dict(refuse)
        self._implicit_tls = implicit_tls
        self._arrived = asyncio.Condition()
        self.port = 0

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self._refuse:
            return self._refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        async with self._arrived:
            self.received.append(
                Received(
                    mail_from=envelope.mail_from or "",
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    message=message,
                    raw=raw,
                    tls=self._implicit_tls or session.ssl is not None,
                    login=login,
                )
            )
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Once ``count`` mails in all have arrived."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.received) >= count)
        return list(self.received)


def _authenticator(users: Mapping[str, str]) -> Any:
    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            users.get(auth_data.login.decode()) == auth_data.password.decode()
        )
        # handled=False: aiosmtpd answers a failure with its 535 itself.
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return check


@asynccontextmanager
async def smtp_server(
    *,
    refuse: Mapping[str, str] | None = None,
    starttls: Certificate | None = None,
    implicit_tls: Certificate | None = None,
    users: Mapping[str, str] | None = None,
) -> AsyncIterator[SmtpSink]:
    """An SMTP server on 127.0.0.1 (``sink.port``); ``refuse`` maps a recipient to the
    answer that refuses it (``"550 5.1.1 no such user"``); ``users`` requires a login."""
    sink = SmtpSink(refuse or {}, implicit_tls=implicit_tls is not None)
    loop = asyncio.get_running_loop()

    def protocol() -> SMTP:
        return SMTP(
            sink,
            hostname="smtp.test",
            loop=loop,
            tls_context=starttls.server_context() if starttls else None,
            require_starttls=starttls is not None,
            auth_required=users is not None,
            # From the first byte the connection is TLS, which aiosmtpd does not see.
            auth_require_tls=implicit_tls is None,
            authenticator=_authenticator(users) if users is not None else None,
        )

    server = await loop.create_server(
        protocol,
        host="127.0.0.1",
        port=0,
        ssl=implicit_tls.server_context() if implicit_tls else None,
    )
    sink.port = server.sockets[0].getsockname()[1]
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()
