"""Which URLs a webhook may target (the SSRF guard).

A target is an ``http`` or ``https`` URL with a host and no credentials. Unless the
operator allows private targets (``WebhookSettings.allow_private_targets``), every
address the host resolves to must be public: not loopback, private, link-local,
multicast, reserved, unspecified, shared (carrier-grade NAT) or otherwise not globally
reachable, also when written inside an IPv6 address (IPv4-mapped, NAT64). The rule is
applied when a subscription is created or changed (through ``HostResolver``: every
address must pass) and again by the HTTP transport on each connection it opens (DNS
may have changed since), where ``address_refusal`` is the same rule.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from business.errors import InvalidInput, TargetRefused
from business.webhook_ports import HostResolver

MAX_URL_LENGTH = 2048
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_KINDS = (
    ("is_loopback", "a loopback"),
    ("is_unspecified", "an unspecified"),
    ("is_link_local", "a link-local"),
    ("is_multicast", "a multicast"),
    ("is_reserved", "a reserved"),
    ("is_private", "a private"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    url: str
    host: str
    """Without brackets for an IPv6 literal."""
    port: int


def check_url(url: str) -> Target:
    """``url`` as a webhook target, or ``InvalidInput`` saying what is wrong with it."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"a webhook URL has at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidInput(f"not a URL: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidInput("a webhook URL starts with https:// or http://")
    if not parts.hostname:
        raise InvalidInput("a webhook URL names a host")
    if parts.username is not None or parts.password is not None:
        # They would end up in logs and in the delivery log; deliveries are signed, so
        # the receiver needs no password to know they come from us.
        raise InvalidInput("a webhook URL carries no user name or password")
    if parts.fragment:
        raise InvalidInput("a webhook URL has no #fragment")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        raise InvalidInput("a webhook URL has no spaces or control characters")
    default = 443 if scheme == "https" else 80
    return Target(url=url, host=parts.hostname, port=port or default)


def address_refusal(address: str) -> str | None:
    """Why webhooks may not connect to the IP ``address`` (None: they may)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address inside an IPv6 one reaches that IPv4 address.
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    for attribute, kind in _KINDS:
        if getattr(ip, attribute):
            return f"{ip} is {kind} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


async def check_target(url: str, resolver: HostResolver, *, allow_private: bool) -> str:
    """``url`` checked as a webhook target, as it will be stored: ``InvalidInput`` for a
    malformed one, ``TargetRefused`` when its host resolves to an address that may not
    be reached (any of them: a connection may pick any)."""
    target = check_url(url)
    if allow_private:
        return target.url
    addresses = await resolver.resolve(target.host, target.port)
    if not addresses:
        raise InvalidInput(f"the host {target.host} of the webhook URL cannot be resolved")
    for address in addresses:
        refusal = address_refusal(address)
        if refusal is not None:
            raise TargetRefused(
                f"{target.host} may not be a webhook target: {refusal} (webhooks reach "
                "public addresses only)"
            )
    return target.url
