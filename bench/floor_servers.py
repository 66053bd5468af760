"""Minimal servers for ``bench_floors``: what HTTP costs on this machine without Jupyter.

``python bench/floor_servers.py MODE PORT [UPSTREAM_PORT KEY]``:

* ``constant``: a Tornado ``RequestHandler`` answering a fixed small JSON body;
* ``asyncio``: a forwarder on raw asyncio protocols (kept-alive upstream
  connection, ``Content-Length`` framing only, the key swapped into
  ``Authorization``): the least a Python proxy can do per call, not a usable proxy.
"""

from __future__ import annotations

import asyncio
import sys

BODY = (
    b'{"id":"x","object":"chat.completion","choices":[{"index":0,"message":'
    b'{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}'
)


def _message_end(buf: bytearray) -> tuple[int, int] | None:
    """(end of the head, end of the body) once a whole message is in ``buf``."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = bytes(buf[:head_end]).lower()
    at = head.find(b"content-length:")
    length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
    end = head_end + 4 + length
    return (head_end, end) if len(buf) >= end else None


class _Upstream(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future[bytes] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        found = _message_end(self.buf)
        if found is not None and self.waiter is not None:
            answer = bytes(self.buf[: found[1]])
            del self.buf[: found[1]]
            self.waiter.set_result(answer)
            self.waiter = None


class _Forwarder(asyncio.Protocol):
    def __init__(self, upstream_port: int, key: bytes) -> None:
        self.buf = bytearray()
        self.upstream: _Upstream | None = None
        self.upstream_port = upstream_port
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        found = _message_end(self.buf)
        if found is None:
            return
        head, body = bytes(self.buf[: found[0]]), bytes(self.buf[found[0] + 4 : found[1]])
        del self.buf[: found[1]]
        self.task = asyncio.ensure_future(self._forward(head, body))  # one call at a time

    async def _forward(self, head: bytes, body: bytes) -> None:
        loop = asyncio.get_running_loop()
        if self.upstream is None:
            _, self.upstream = await loop.create_connection(
                _Upstream, "127.0.0.1", self.upstream_port
            )
        lines = head.split(b"\r\n")
        kept = [line for line in lines[1:] if not line.lower().startswith(b"authorization")]
        out = [lines[0], *kept, b"Authorization: Bearer " + self.key]
        waiter: asyncio.Future[bytes] = loop.create_future()
        self.upstream.waiter = waiter
        assert self.upstream.transport is not None
        self.upstream.transport.write(b"\r\n".join(out) + b"\r\n\r\n" + body)
        answer = await waiter
        assert self.transport is not None
        self.transport.write(answer)


async def _serve_asyncio(port: int, upstream_port: int, key: str) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Forwarder(upstream_port, key.encode()), "127.0.0.1", port
    )
    await server.serve_forever()


def _serve_constant(port: int) -> None:
    from tornado import ioloop, web

    class Constant(web.RequestHandler):
        def post(self, path: str) -> None:
            self.set_header("Content-Type", "application/json")
            self.finish(BODY)

    web.Application([(r"/v1/(.*)", Constant)]).listen(port, "127.0.0.1")
    ioloop.IOLoop.current().start()


if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "constant":
        _serve_constant(port)
    else:
        asyncio.run(_serve_asyncio(port, int(sys.argv[3]), sys.argv[4]))
