"""A port for a server that others dial before it listens.

A client that keeps reconnecting to a port nobody listens on yet can end up
holding it: on Linux a loopback connect may pick the destination port as its
own source port (TCP simultaneous open connects the socket to itself), and
any outgoing connection may take an ephemeral port as its source. A port
below the ephemeral range is never handed out as a source port, so a server
that binds it later finds it free.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _ephemeral_low() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def port_to_dial_early() -> int:
    """A free loopback port below the ephemeral range."""
    low = max(2048, _ephemeral_low() - 12_000)
    high = _ephemeral_low() - 1
    for _ in range(100):
        port = random.randint(low, high)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")
