"""The proxy's HTTP/1.1 client (proxy/http1.py) against canned answers from a socket.

Each test serves one raw answer on loopback, sends one request with ``exchange`` and
checks what was handed on, whether the answer was complete and whether the connection
may be reused; malformed framing must fail (``HTTPInputError``) and never be reused.
"""

from __future__ import annotations

import asyncio
import gzip

import pytest
from tornado import httputil
from tornado.iostream import IOStream, StreamClosedError
from tornado.tcpclient import TCPClient

from open_notebook_ext.proxy import http1


class Canned:
    """A server answering each request with ``answer`` (then closing, if ``close``)."""

    def __init__(self, answer: bytes, close: bool = False) -> None:
        self.answer, self.close = answer, close
        self.requests: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await reader.readexactly(length) if length else b""
        self.requests.append(head + body)
        writer.write(self.answer)
        await writer.drain()
        if not self.close:
            await reader.read()  # hold the connection open until the client closes it
        writer.close()


async def run(answer: bytes, *, close: bool = False, method: str = "POST", body: bytes = b"{}"):
    canned = Canned(answer, close)
    server = await asyncio.start_server(canned.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    stream: IOStream = await TCPClient().connect("127.0.0.1", port)
    got: dict[str, object] = {"chunks": []}

    def on_headers(code: int, reason: str, headers: httputil.HTTPHeaders) -> None:
        got.update(code=code, reason=reason, headers=headers)

    async def on_chunk(chunk: bytes) -> None:
        got["chunks"].append(chunk)  # type: ignore[union-attr]

    headers = httputil.HTTPHeaders({"Host": "x", "Content-Length": str(len(body))})
    answer_state = http1.Answer()
    error: Exception | None = None
    try:
        await asyncio.wait_for(
            http1.exchange(
                stream,
                method,
                "/v1/chat/completions",
                headers,
                body,
                on_headers,
                on_chunk,
                max_header_bytes=4096,
                answer=answer_state,
            ),
            5,
        )
    except (httputil.HTTPInputError, StreamClosedError, ValueError) as e:
        error = e
    finally:
        stream.close()
        server.close()
        await server.wait_closed()
    got["body"] = b"".join(got["chunks"])  # type: ignore[arg-type]
    return got, answer_state, error, canned


def serve(answer: bytes, **kw: object):
    return asyncio.run(run(answer, **kw))  # type: ignore[arg-type]


def test_a_body_of_known_length_is_read_and_the_connection_kept():
    got, answer, error, canned = serve(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
        b'{"ok": "y"}'
    )
    assert error is None
    assert got["code"] == 200 and got["body"] == b'{"ok": "y"}'
    assert answer.started and answer.complete and answer.reusable
    # the request went out whole: request line, headers, body
    assert canned.requests == [
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    ]


def test_a_chunked_stream_is_handed_on_piece_by_piece():
    got, answer, error, _ = serve(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"8\r\ndata: a\n\r\n8\r\ndata: b\n\r\n0\r\n\r\n"
    )
    assert error is None
    assert got["body"] == b"data: a\ndata: b\n"
    assert answer.complete and answer.reusable


def test_a_body_without_a_length_ends_with_the_connection_and_is_not_reused():
    got, answer, error, _ = serve(b"HTTP/1.1 200 OK\r\n\r\nall of it", close=True)
    assert error is None
    assert got["body"] == b"all of it"
    assert answer.complete and not answer.reusable


def test_gzip_is_decompressed_and_its_header_consumed():
    packed = gzip.compress(b'{"choices": []}')
    got, answer, error, _ = serve(
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "
        + str(len(packed)).encode()
        + b"\r\n\r\n"
        + packed
    )
    assert error is None
    assert got["body"] == b'{"choices": []}'
    headers = got["headers"]
    assert isinstance(headers, httputil.HTTPHeaders)
    assert "Content-Encoding" not in headers
    assert headers["X-Consumed-Content-Encoding"] == "gzip"
    assert answer.complete and answer.reusable


def test_a_100_continue_is_skipped():
    got, _, error, _ = serve(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
    )
    assert error is None and got["code"] == 201 and got["body"] == b"ok"


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n0\r\n\r\n",
            "both Content-Length and Transfer-Encoding",
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabcd", "unequal Content-Lengths"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\nabc", "non-integer Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc", "a transfer coding"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            "a bad chunk size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n",
            "a chunk not ended by CRLF",
        ),
        (b"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nabc", "a body on a 204"),
        (b"HTTP/1.1 100 Continue\r\nContent-Length: 1\r\n\r\nx", "a body on a 1xx"),
        (b"HTTP/1.1 100 Continue\r\n\r\n" * 11, "too many 1xx"),
        (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "a protocol switch"),
        (b"NOT HTTP\r\n\r\n", "no status line"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nnotgz",
            "bad gzip",
        ),
    ],
)
def test_malformed_framing_fails_and_is_never_reused(answer, why):
    _, state, error, _ = serve(answer, close=True)
    assert isinstance(error, httputil.HTTPInputError), why
    assert not state.complete and not state.reusable, why


def test_an_answer_cut_short_is_not_complete():
    got, state, error, _ = serve(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this", close=True
    )
    assert isinstance(error, StreamClosedError)
    assert got["body"] == b"only this"
    assert state.started and not state.complete and not state.reusable


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ],
)
def test_close_or_http_1_0_is_not_reused(answer):
    got, state, error, _ = serve(answer)
    assert error is None and got["body"] == b"ok"
    assert state.complete and not state.reusable


def test_headers_larger_than_the_limit_are_refused():
    big = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 8000 + b"\r\nContent-Length: 2\r\n\r\nok"
    _, state, error, _ = serve(big, close=True)
    assert isinstance(error, StreamClosedError)  # Tornado closes an unsatisfiable read
    assert not state.started


def test_a_line_break_in_a_header_value_is_refused_without_the_value():
    secret = "sk-line\r\nX-Injected: yes"
    headers = httputil.HTTPHeaders()
    headers["Authorization"] = f"Bearer {secret}"  # (add() would refuse it, quoting it)
    with pytest.raises(ValueError, match="line break") as caught:
        http1.request_bytes("POST", "/v1/x", headers, b"")
    assert "Authorization" in str(caught.value)
    assert "sk-line" not in str(caught.value) and "Injected" not in str(caught.value)
    headers["Authorization"] = "Bearer sk-\u20ac-not-latin-1"
    with pytest.raises(ValueError, match="Latin-1") as caught:
        http1.request_bytes("POST", "/v1/x", headers, b"")
    assert "sk-" not in str(caught.value)
