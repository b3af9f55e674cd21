# SPDX-License-Identifier: MIT
"""Free loopback ports.

free_port() asks the kernel for an unused port (bind to port 0) and releases it, so another
process could take it before the caller binds it; servers started by the harness retry with new
ports when their bind fails. refusing_port() keeps a socket bound but not listening, so that a
connection to that port is refused for as long as the context lasts and nobody else can take it.
"""
import contextlib
import socket

LOOPBACK = '127.0.0.1'


def free_port(host=LOOPBACK):
    """Return a TCP port on host that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_ports(n, host=LOOPBACK):
    """Return n distinct free ports (all held while choosing, so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind((host, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@contextlib.contextmanager
def refusing_port(host=LOOPBACK):
    """Yield a port on which connections are refused (bound, never listening)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        yield s.getsockname()[1]
    finally:
        s.close()


def wait_for_port(port, host=LOOPBACK, timeout=10.0, alive=None):
    """Wait until host:port accepts a TCP connection. Return True, or False on timeout.

    alive: optional callable; when it returns False the wait ends early (the server died).
    """
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            return False
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return True
        except OSError:
            time.sleep(0.02)
    return False
