"""Kept-alive connections to providers, reused by later calls to the same checked target.

A connection is reused only for the same scheme, host name, port and pinned address
(the SSRF guard still checks every call's URL and picks its address: an address that
changed gets a new connection), and only when its previous answer said it may be
(HTTP/1.1 without ``Connection: close``, a body of known length or chunked, read
to its end). An idle connection is dropped after ``idle_seconds``; one the provider
closed, or sent anything on, while idle is dropped when next taken (polled, as
urllib3 does). Connections belong to the server's event loop: take and give there.
"""

from __future__ import annotations

import select
import time
from collections import OrderedDict

from tornado import httputil
from tornado.iostream import IOStream

from open_notebook_ext.security.netguard import Target

PoolKey = tuple[str, str, int, str]  # scheme, host, port, pinned address


def pool_key(target: Target) -> PoolKey | None:
    if target.address is None:
        return None
    return (target.scheme, target.host, target.port, target.address)


def reusable(version: str, headers: httputil.HTTPHeaders, code: int) -> bool:
    """Whether an answer (read to its end) leaves its connection open for another call."""
    if version != "HTTP/1.1" or code < 200 or code == 101:
        return False
    tokens = {t.strip().lower() for t in headers.get("Connection", "").split(",")}
    if "close" in tokens:
        return False
    chunked = headers.get("Transfer-Encoding", "").lower() == "chunked"
    return chunked or "Content-Length" in headers or code in (204, 304)


def _quiet(stream: IOStream) -> bool:
    """Open, and nothing to read: neither data nor the provider's close."""
    if stream.closed():
        return False
    try:
        poller = select.poll()
        poller.register(stream.fileno(), select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


class ConnectionPool:
    """Idle provider connections by target: at most ``per_target`` each, ``total`` in all."""

    def __init__(self, idle_seconds: float, per_target: int = 8, total: int = 64) -> None:
        self.idle_seconds = idle_seconds
        self.per_target = per_target
        self.total = total
        self._idle: OrderedDict[PoolKey, list[tuple[float, IOStream]]] = OrderedDict()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def take(self, target: Target) -> IOStream | None:
        """An idle connection to ``target`` that is still usable, or None."""
        key = pool_key(target)
        stack = self._idle.get(key) if key is not None else None
        if key is None or stack is None:
            return None
        now = time.monotonic()
        found = None
        while stack and found is None:
            since, stream = stack.pop()
            self._count -= 1
            if now - since <= self.idle_seconds and _quiet(stream):
                found = stream
            else:
                stream.close()
        if not stack:
            del self._idle[key]
        return found

    def give(self, target: Target, stream: IOStream) -> None:
        """Keep ``stream`` (its answer read to the end) for the next call to ``target``."""
        key = pool_key(target)
        if key is None or self.idle_seconds <= 0 or stream.closed():
            stream.close()
            return
        self._expire()
        stack = self._idle.setdefault(key, [])
        self._idle.move_to_end(key)
        if len(stack) >= self.per_target:
            stack.pop(0)[1].close()
            self._count -= 1
        while self._count >= self.total and self._idle:
            self._drop_oldest()
        stack = self._idle.setdefault(key, [])
        stack.append((time.monotonic(), stream))
        self._count += 1

    def _expire(self) -> None:
        horizon = time.monotonic() - self.idle_seconds
        for key in list(self._idle):
            stack = self._idle[key]
            while stack and stack[0][0] < horizon:
                stack.pop(0)[1].close()
                self._count -= 1
            if not stack:
                del self._idle[key]

    def _drop_oldest(self) -> None:
        key = next(iter(self._idle))
        stack = self._idle[key]
        stack.pop(0)[1].close()
        self._count -= 1
        if not stack:
            del self._idle[key]

    def close(self) -> None:
        for stack in self._idle.values():
            for _, stream in stack:
                stream.close()
        self._idle.clear()
        self._count = 0
