"""Free local ports (``chat_engine.local_ports``)."""

from __future__ import annotations

import socket

from chat_engine.local_ports import free_port, port_is_free


def test_free_ports_handed_out_one_after_another_are_all_different() -> None:
    # The kernel may hand the same free port to two binds in a row: two servers set up
    # before either listens would share it (found in CI, two ejabberd nodes).
    ports = [free_port() for _ in range(500)]
    assert len(set(ports)) == len(ports)
    assert all(port_is_free("127.0.0.1", port) for port in ports[-5:])


def test_a_free_port_can_be_bound_at_once() -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert not port_is_free("127.0.0.1", port)
