"""The rate limiter's arithmetic and memory bound, and which address a client has."""

from __future__ import annotations

import dataclasses
import ipaddress
import math

import pytest

from business.errors import RateLimited
from business.model import VisitorId
from presentation import WebSettings
from presentation.limits import OpenSockets, RateLimiter, TokenBucket, client_address


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_the_burst_then_the_rate_and_says_how_long_to_wait() -> None:
    clock = Clock()
    bucket = TokenBucket(burst=2, rate=0.5, clock=clock)
    assert [bucket.take(), bucket.take()] == [0.0, 0.0]
    assert bucket.take() == pytest.approx(2.0)  # one token takes two seconds
    clock.now += 1.5
    assert bucket.take() == pytest.approx(0.5)
    clock.now += 0.5
    assert bucket.take() == 0.0


def test_a_busy_key_never_gets_more_than_burst_plus_rate() -> None:
    # Dropping a bucket while it is in use would hand out a fresh burst: an idle bucket
    # is dropped only once it has refilled, so pruning never changes an answer.
    clock = Clock()
    limiter = RateLimiter(burst=2, rate=0.5, max_keys=10, clock=clock)
    allowed = 0
    for _ in range(1000):  # one attempt every 0.1 s for 100 s
        allowed += limiter.take("visitor") == 0.0
        clock.now += 0.1
    assert allowed <= 2 + 0.5 * 100


def test_the_buckets_stay_bounded_however_many_keys_come() -> None:
    clock = Clock()
    limiter = RateLimiter(burst=5, rate=1.0, max_keys=100, clock=clock)
    for i in range(10_000):
        limiter.take(f"203.0.113.{i}")
        assert len(limiter) <= 100
    # Idle buckets go once they would be full again (burst / rate = 5 s).
    clock.now += 5.0
    limiter.take("one more")
    assert len(limiter) == 1


def test_an_idle_bucket_is_forgotten_only_once_full() -> None:
    clock = Clock()
    limiter = RateLimiter(burst=3, rate=1.0, max_keys=10, clock=clock)
    for _ in range(3):
        assert limiter.take("v") == 0.0
    clock.now += 2.9
    limiter.take("other")  # prunes what has expired
    assert len(limiter) == 2
    assert limiter.take("v") == 0.0
    assert limiter.take("v") == 0.0
    assert limiter.take("v") > 0.0  # 2.9 tokens, not a fresh 3


NO_PROXIES: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


@pytest.mark.parametrize(
    ("peer", "forwarded", "trust", "proxies", "expected"),
    [
        # Off (the default): the peer, whatever the header claims.
        ("198.51.100.7", ["203.0.113.1"], False, (), "198.51.100.7"),
        # On: the right-most hop the proxy appended, not what the client wrote before it.
        ("127.0.0.1", ["203.0.113.66, 203.0.113.1"], True, (), "203.0.113.1"),
        ("127.0.0.1", ["203.0.113.66", "203.0.113.1"], True, (), "203.0.113.1"),
        ("127.0.0.1", [], True, (), "127.0.0.1"),
        # Several proxies: skip the trusted hops from the right.
        ("10.0.0.2", ["203.0.113.66, 203.0.113.1, 10.0.0.9"], True, ("10.0.0.0/8",), "203.0.113.1"),
        # A peer that is not a listed proxy went around them: its header means nothing.
        ("198.51.100.7", ["203.0.113.1"], True, ("10.0.0.0/8",), "198.51.100.7"),
        # Only trusted hops: the left-most is the client.
        ("10.0.0.2", ["10.0.0.3, 10.0.0.9"], True, ("10.0.0.0/8",), "10.0.0.3"),
        # Garbage ends the walk: the last address a trusted proxy vouched for.
        ("127.0.0.1", ["203.0.113.1, not-an-ip"], True, (), "127.0.0.1"),
        # Ports and brackets some proxies add.
        ("127.0.0.1", ["203.0.113.1:51234"], True, (), "203.0.113.1"),
        ("127.0.0.1", ["[2001:db8::1]:443"], True, (), "2001:db8::/64"),
        # An IPv6 client owns a whole /64: counting single addresses would not limit it.
        ("2001:db8:0:0:abcd::1", [], False, (), "2001:db8::/64"),
        ("::ffff:198.51.100.7", [], False, (), "198.51.100.7"),
        (None, ["203.0.113.1"], False, (), "unknown"),
    ],
)
def test_client_address(
    peer: str | None, forwarded: list[str], trust: bool, proxies: tuple[str, ...], expected: str
) -> None:
    networks = tuple(ipaddress.ip_network(p) for p in proxies)
    assert (
        client_address(
            peer, forwarded, trust_forwarded_for=trust, trusted_proxies=networks or NO_PROXIES
        )
        == expected
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sync_rate_per_second", 0.0),
        ("connect_burst", 0),
        ("new_visitor_rate_per_second", -1.0),
        ("conversation_burst", 0),
        ("sync_reply_max_bytes", 100),
        ("max_queued_packets", 0),
        ("output_check_seconds", 0.0),
        ("rate_limit_max_keys", 0),
        ("trusted_proxies", ("10.0.0.0/33",)),
        ("max_sockets_per_visitor", 0),
        ("max_sockets_per_address", 0),
        ("max_connections_per_address", 0),
        ("connect_timeout_seconds", 0.1),
        ("connect_timeout_seconds", 301.0),
        ("http_idle_timeout_seconds", 0.0),
        ("http_idle_timeout_seconds", 86_401.0),
        # inf passed "positive" and switched the limit off; nan passes no comparison.
        ("sync_rate_per_second", math.inf),
        ("event_rate_per_second", math.inf),
        ("conversation_rate_per_second", math.inf),
        ("connect_rate_per_second", math.inf),
        ("new_visitor_rate_per_second", math.inf),
        ("output_check_seconds", math.inf),
        ("event_rate_per_second", math.nan),
        ("output_check_seconds", -math.inf),
    ],
)
def test_bad_limit_settings_are_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"^{field}"):
        WebSettings(**{field: value})  # type: ignore[arg-type]


FLOAT_SETTINGS = [f.name for f in dataclasses.fields(WebSettings) if isinstance(f.default, float)]


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("field", FLOAT_SETTINGS)
def test_no_float_setting_takes_inf_or_nan(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"^{field} must be a finite number"):
        WebSettings(**{field: value})  # type: ignore[arg-type]


def test_the_float_settings_are_all_checked() -> None:
    assert len(FLOAT_SETTINGS) >= 6  # the rates and output_check_seconds


def test_open_sockets_count_exactly_and_forget_closed_keys() -> None:
    sockets = OpenSockets(WebSettings(max_sockets_per_visitor=2, max_sockets_per_address=3))
    for _ in range(3):
        sockets.add_address("192.0.2.1")
    with pytest.raises(RateLimited, match="too many open connections from your network"):
        sockets.add_address("192.0.2.1")
    sockets.add_address("192.0.2.2")  # another address has its own count
    alice = VisitorId("alice")
    sockets.add_visitor(alice)
    sockets.add_visitor(alice)
    with pytest.raises(RateLimited, match="too many open connections for this visitor"):
        sockets.add_visitor(alice)
    assert len(sockets) == 4  # the refusals counted nothing

    sockets.remove_address("192.0.2.1")
    sockets.add_address("192.0.2.1")
    sockets.remove_visitor(alice)
    sockets.add_visitor(alice)
    for address in ["192.0.2.1"] * 3 + ["192.0.2.2"]:
        sockets.remove_address(address)
    sockets.remove_visitor(alice)
    sockets.remove_visitor(alice)
    assert len(sockets) == 0
    # No keys at zero are kept.
    assert not sockets._addresses
    assert not sockets._visitors
