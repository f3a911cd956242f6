"""Rate limits at the visitor edge: per client address and per visitor.

Every limit is a token bucket: ``burst`` requests at once, then ``rate`` per second.
Buckets live in a ``TTLCache`` keyed by address or visitor id. A bucket's time to live is
renewed on every use and equals the time it takes to refill completely, so a bucket is
forgotten only when a fresh one would answer exactly the same: pruning never hands out a
new burst. ``max_keys`` caps each table, so memory stays bounded whatever arrives.

Per visitor, not per socket: a visitor who reconnects or opens more tabs shares one
budget, so reconnecting never refills it. With several engine processes each keeps its
own buckets (a visitor's tabs may land on different processes), which at worst
multiplies a budget by the number of processes; with ``http.redis_url`` set, the
per-address limits and conversation changes are kept in Redis instead, shared by every
process (``presentation.shared_limits``).

Not a rate but a count: ``OpenSockets`` caps the sockets one visitor and one client
address hold open at a time. Each socket may make the server hold up to
``max_queued_packets`` unsent packets (``presentation.output_bound``), so this is what
bounds the output memory of a client that opens many and never reads.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Final

from cachetools import TTLCache

from business.errors import RateLimited
from business.model import VisitorId
from presentation.settings import WebSettings
from presentation.shared_limits import SharedBuckets

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

UNKNOWN_ADDRESS: Final = "unknown"
# A home or mobile IPv6 connection owns a whole /64: single addresses would be free to
# rotate through, so the prefix is what gets a budget.
_IPV6_PREFIX: Final = 64


class TokenBucket:
    """Allows ``burst`` events at once and ``rate`` per second after that."""

    __slots__ = ("_capacity", "_clock", "_rate", "_tokens", "_updated")

    def __init__(self, *, burst: int, rate: float, clock: Clock = time.monotonic) -> None:
        self._capacity = float(burst)
        self._rate = rate
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()

    def take(self) -> float:
        """0.0 if a token was taken; otherwise the seconds until one will be there."""
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
        if self._tokens < 1.0:
            return (1.0 - self._tokens) / self._rate
        self._tokens -= 1.0
        return 0.0


class RateLimiter:
    """Token buckets by key, at most ``max_keys`` of them (least recently used go first)."""

    def __init__(
        self, *, burst: int, rate: float, max_keys: int, clock: Clock = time.monotonic
    ) -> None:
        self._burst = burst
        self._rate = rate
        self._clock = clock
        self._buckets: TTLCache[str, TokenBucket] = TTLCache(
            maxsize=max_keys, ttl=burst / rate, timer=clock
        )

    def __len__(self) -> int:
        return len(self._buckets)

    @property
    def burst(self) -> int:
        return self._burst

    @property
    def rate(self) -> float:
        return self._rate

    def take(self, key: str) -> float:
        """0.0 if ``key`` may go ahead; otherwise the seconds to wait."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(burst=self._burst, rate=self._rate, clock=self._clock)
        wait = bucket.take()
        # Stored again on every use: that renews its time to live (see the module doc).
        self._buckets[key] = bucket
        return wait


def _wait_text(seconds: float) -> str:
    whole = max(1, math.ceil(seconds))
    return f"{whole} second{'s' if whole != 1 else ''}"


class VisitorLimits:
    """The limits the ``/visitor`` namespace applies; each check raises ``RateLimited``
    with a message that says how long to wait and what to do then."""

    def __init__(
        self,
        settings: WebSettings,
        *,
        clock: Clock = time.monotonic,
        shared: SharedBuckets | None = None,
    ) -> None:
        """``shared``: where the limits every process must count together are kept
        (Redis); each process's own buckets stand in while it does not answer."""
        s = settings
        self._shared = shared
        keys = s.rate_limit_max_keys

        def limiter(burst: int, rate: float) -> RateLimiter:
            return RateLimiter(burst=burst, rate=rate, max_keys=keys, clock=clock)

        self._settings = settings
        self._connects = limiter(s.connect_burst, s.connect_rate_per_second)
        self._new_visitors = limiter(s.new_visitor_burst, s.new_visitor_rate_per_second)
        self._events = limiter(s.event_burst, s.event_rate_per_second)
        self._syncs = limiter(s.sync_burst, s.sync_rate_per_second)
        self._conversations = limiter(s.conversation_burst, s.conversation_rate_per_second)
        self._widget_reads = limiter(s.widget_read_burst, s.widget_read_rate_per_second)
        self._proxies = tuple(ipaddress.ip_network(p, strict=False) for p in s.trusted_proxies)
        self._warned_forwarded_for = False

    def remembered(self) -> dict[str, int]:
        """How many keys each limit holds now (each at most ``rate_limit_max_keys``)."""
        return {
            "connects": len(self._connects),
            "new_visitors": len(self._new_visitors),
            "events": len(self._events),
            "syncs": len(self._syncs),
            "conversations": len(self._conversations),
            "widget_reads": len(self._widget_reads),
        }

    def address(self, peer: str | None, forwarded_for: Sequence[str]) -> str:
        """The client address the per-address limits count (see ``client_address``)."""
        trust = self._settings.trust_forwarded_for
        if forwarded_for and not trust and not self._warned_forwarded_for:
            self._warned_forwarded_for = True
            logger.warning(
                "visitors connect with X-Forwarded-For but trust_forwarded_for is off: every "
                "visitor behind that proxy shares the per-address limits of %s; turn "
                "trust_forwarded_for on if the proxy is yours",
                peer,
            )
        return client_address(
            peer, forwarded_for, trust_forwarded_for=trust, trusted_proxies=self._proxies
        )

    async def _take(self, name: str, limiter: RateLimiter, key: str) -> float:
        if self._shared is not None:
            wait = await self._shared.take(name, key, burst=limiter.burst, rate=limiter.rate)
            if wait is not None:
                return wait
        return limiter.take(key)

    async def connection(self, address: str) -> None:
        if wait := await self._take("connect", self._connects, address):
            raise RateLimited(
                f"too many connections from your network; wait {_wait_text(wait)} and reconnect"
            )

    async def widget_read(self, address: str) -> None:
        """The widget's public reads (configuration, availability): a budget of their
        own, so page views do not use up the address's connects."""
        if wait := await self._take("widget", self._widget_reads, address):
            raise RateLimited(
                f"too many widget requests from your network; wait {_wait_text(wait)} "
                "and reload the page"
            )

    async def new_visitor(self, address: str) -> None:
        if wait := await self._take("new-visitor", self._new_visitors, address):
            raise RateLimited(
                "too many new visitors from your network; wait "
                f"{_wait_text(wait)} and reconnect (a returning visitor who sends their "
                "visitor_token is not limited by this)"
            )

    def event(self, visitor_id: VisitorId) -> None:
        if wait := self._events.take(visitor_id):
            raise RateLimited(
                f"too many requests from this visitor; wait {_wait_text(wait)} and retry"
            )

    def sync(self, visitor_id: VisitorId) -> None:
        if wait := self._syncs.take(visitor_id):
            raise RateLimited(
                f"too many sync requests; wait {_wait_text(wait)}, then sync again from "
                "the last seq you rendered"
            )

    async def conversation_change(self, visitor_id: VisitorId) -> None:
        """``conversation.start`` and ``conversation.end``: each may cost an agent a chat."""
        if wait := await self._take("conversation", self._conversations, visitor_id):
            raise RateLimited(
                f"conversations started or ended too often; wait {_wait_text(wait)} and retry"
            )


class OpenSockets:
    """How many sockets each client address and each visitor holds open in this process,
    within ``max_sockets_per_address`` and ``max_sockets_per_visitor``.

    Every ``add_*`` that returns must be matched by exactly one ``remove_*`` of the same
    key; one that raises ``RateLimited`` counted nothing. Keys at zero are dropped, so the
    tables hold only the keys of open sockets.
    """

    def __init__(self, settings: WebSettings) -> None:
        self._max_per_address = settings.max_sockets_per_address
        self._max_per_visitor = settings.max_sockets_per_visitor
        self._addresses: Counter[str] = Counter()
        self._visitors: Counter[str] = Counter()

    def __len__(self) -> int:
        """Sockets counted (each under its address)."""
        return self._addresses.total()

    def add_address(self, address: str) -> None:
        if self._addresses[address] >= self._max_per_address:
            raise RateLimited(
                "too many open connections from your network; close some chat windows "
                "or wait a while, then reconnect"
            )
        self._addresses[address] += 1

    def add_visitor(self, visitor_id: VisitorId) -> None:
        if self._visitors[visitor_id] >= self._max_per_visitor:
            raise RateLimited(
                "too many open connections for this visitor; close other chat tabs or "
                "windows, then reconnect"
            )
        self._visitors[visitor_id] += 1

    def remove_address(self, address: str) -> None:
        _decrement(self._addresses, address)

    def remove_visitor(self, visitor_id: VisitorId) -> None:
        _decrement(self._visitors, visitor_id)


def _decrement(counts: Counter[str], key: str) -> None:
    left = counts[key] - 1
    if left > 0:
        counts[key] = left
    elif left == 0:
        del counts[key]
    else:  # a bug: each count is removed once, by the one who added it
        logger.error("the open socket count of %r went below zero", key)


def client_address(
    peer: str | None,
    forwarded_for: Sequence[str],
    *,
    trust_forwarded_for: bool,
    trusted_proxies: Sequence[Network],
) -> str:
    """The address a client's per-address limits are counted under.

    The peer address, unless ``trust_forwarded_for`` is on and the peer is one of the
    ``trusted_proxies`` (any peer, when none are listed). Then the ``X-Forwarded-For``
    hops (every header, in order) are walked from the right, where our own proxies
    appended what they saw, skipping trusted proxies: the first other hop is the client.
    Everything left of it was written by the client and may be forged. A hop that is not
    an address ends the walk at the last address a trusted proxy vouched for.
    IPv6 addresses count by their /64 prefix.
    """
    if peer is None:
        return UNKNOWN_ADDRESS
    peer_ip = _ip(peer)
    if peer_ip is None:
        return peer[:100]
    if not trust_forwarded_for or (trusted_proxies and not _within(peer_ip, trusted_proxies)):
        return _key(peer_ip)
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    client = peer_ip
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            break
        client = ip
        if not _within(ip, trusted_proxies):
            break
    return _key(client)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("["):  # [v6] or [v6]:port
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _within(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: Sequence[Network]) -> bool:
    return any(ip in network for network in networks)


def _key(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, _IPV6_PREFIX), strict=False))
    return str(ip)
