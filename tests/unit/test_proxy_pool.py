"""The proxy's kept-alive provider connections (proxy/pool.py): which answers leave a
connection reusable, and what the pool hands out again."""

from __future__ import annotations

import asyncio
import socket

import pytest
from tornado import httputil
from tornado.iostream import IOStream

from open_notebook_ext.proxy.pool import ConnectionPool, reusable
from open_notebook_ext.security.netguard import Target


def headers(**values: str) -> httputil.HTTPHeaders:
    h = httputil.HTTPHeaders()
    for name, value in values.items():
        h[name.replace("_", "-")] = value
    return h


@pytest.mark.parametrize(
    ("version", "hdrs", "code", "expected"),
    [
        ("HTTP/1.1", {"Content_Length": "2"}, 200, True),
        ("HTTP/1.1", {"Transfer_Encoding": "chunked"}, 200, True),
        ("HTTP/1.1", {}, 204, True),
        ("HTTP/1.1", {"Content_Length": "2", "Connection": "close"}, 200, False),
        ("HTTP/1.1", {"Content_Length": "2", "Connection": "Keep-Alive, Close"}, 200, False),
        ("HTTP/1.1", {}, 200, False),  # read until the provider closes
        ("HTTP/1.0", {"Content_Length": "2", "Connection": "keep-alive"}, 200, False),
        ("HTTP/1.1", {"Content_Length": "0"}, 101, False),
    ],
)
def test_which_answers_leave_the_connection_reusable(version, hdrs, code, expected):
    assert reusable(version, headers(**hdrs), code) is expected


def target(address: str = "127.0.0.1", host: str = "provider.test") -> Target:
    return Target(f"https://{host}/v1", "https", host, 443, address)


def test_the_pool_hands_a_connection_back_only_for_the_same_target():
    async def run() -> None:
        pairs = [socket.socketpair() for _ in range(3)]
        streams = [IOStream(a) for a, _ in pairs]
        pool = ConnectionPool(idle_seconds=30)
        pool.give(target(), streams[0])
        assert pool.take(target(address="127.0.0.2")) is None  # another checked address
        assert pool.take(target(host="other.test")) is None  # another host name
        assert pool.take(target()) is streams[0]
        assert pool.take(target()) is None  # taken: not handed out twice
        # the provider closed it, or sent something, while idle: dropped when taken
        pool.give(target(), streams[1])
        pairs[1][1].close()
        pool.give(target(), streams[2])
        pairs[2][1].sendall(b"HTTP/1.1 200 OK\r\n")
        assert pool.take(target()) is None and pool.take(target()) is None
        assert streams[1].closed() and streams[2].closed() and len(pool) == 0
        for a, b in pairs:
            a.close()
            b.close()

    asyncio.run(run())


def test_idle_connections_expire_and_the_pool_is_bounded():
    async def run() -> None:
        pairs = [socket.socketpair() for _ in range(4)]
        streams = [IOStream(a) for a, _ in pairs]
        pool = ConnectionPool(idle_seconds=30, per_target=2, total=3)
        for stream in streams[:3]:
            pool.give(target(), stream)
        assert len(pool) == 2 and streams[0].closed()  # per target: the oldest goes
        pool.give(target(address="127.0.0.9"), streams[3])
        assert len(pool) == 3
        expired = ConnectionPool(idle_seconds=0.05)
        a, b = socket.socketpair()
        old = IOStream(a)
        expired.give(target(), old)
        await asyncio.sleep(0.1)
        assert expired.take(target()) is None and old.closed()
        pool.close()
        assert len(pool) == 0 and all(s.closed() for s in streams)
        b.close()
        for x, y in pairs:
            x.close()
            y.close()

    asyncio.run(run())
