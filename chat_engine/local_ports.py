"""Local TCP ports: free or taken, and whether something answers on one."""

from __future__ import annotations

import socket
import threading
from collections import deque


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port`` (a socket in TIME_WAIT does not count)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


_RECENT = 4096
"""How many of the ports handed out last ``free_port`` avoids handing out again."""
_handed_out: deque[int] = deque(maxlen=_RECENT)
_handed_lock = threading.Lock()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the caller should bind it soon), and none of
    the last ports this process handed out: the kernel may give the same free port to
    two binds in a row, and two servers set up one after the other before either binds
    its port would then get the same one (found in CI: two ejabberd nodes with one
    distribution port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with _handed_lock:
        for _ in range(100):
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.bind((host, 0))
                port: int = sock.getsockname()[1]
            if port not in _handed_out:
                break
        _handed_out.append(port)
    return port


def accepts(host: str, port: int) -> bool:
    """True when something accepts a TCP connection on ``host:port`` within 0.5 s."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
