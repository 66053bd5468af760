"""One HTTP/1.1 exchange on an open connection to a provider: the request in one write,
the answer read as it comes.

This is the client half of Tornado's ``HTTP1Connection`` that the proxy needs, without
its per-request objects (a connection object, a delegate chain, futures for each
phase): on a kept-alive connection those cost about half a millisecond of a proxied
call (``make bench``). The framing rules are Tornado's own, through the same helpers
(``parse_response_start_line``, ``HTTPHeaders.parse``, ``parse_int``,
``parse_hex_int``, ``is_transfer_encoding_chunked``, ``GzipDecompressor``), and as
strict: both ``Content-Length`` and ``Transfer-Encoding``, unequal repeated lengths, a
transfer coding other than ``chunked``, a malformed chunk, a body on a 1xx or 204, or
too many 1xx answers is an ``HTTPInputError`` and the connection is not reused. A
body without a length is read until the provider closes the connection.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from tornado import httputil
from tornado.http1connection import is_transfer_encoding_chunked, parse_hex_int, parse_int
from tornado.iostream import IOStream, StreamClosedError
from tornado.util import GzipDecompressor

from open_notebook_ext.proxy.pool import reusable

CHUNK = 64 * 1024  # the largest piece handed on at once
MAX_1XX = 10
_HEAD_END = b"\r?\n\r?\n"
_SPLIT_LENGTHS = re.compile(r",[ \t]*")

OnHeaders = Callable[[int, str, httputil.HTTPHeaders], None]
OnChunk = Callable[[bytes], Awaitable[None] | None]


@dataclass
class Answer:
    """How an exchange went: whether the answer's headers came, whether its body was
    read to the end, and whether the connection may carry another call."""

    started: bool = False
    complete: bool = False
    reusable: bool = False


def request_bytes(
    method: str, path_and_query: str, headers: httputil.HTTPHeaders, body: bytes
) -> bytes:
    """The request line, headers and body, as sent. A header that cannot be sent (a line
    break, a character outside Latin-1) is refused without quoting its value."""
    lines = [f"{method} {path_and_query} HTTP/1.1"]
    for name, value in headers.get_all():
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name:
            raise ValueError(f"a line break in the value of header {name.strip()[:64]!r}")
        lines.append(f"{name}: {value}")
    try:
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin1")
    except UnicodeEncodeError:
        raise ValueError("a header holds a character outside Latin-1") from None
    return head + body if body else head


async def exchange(
    stream: IOStream,
    method: str,
    path_and_query: str,
    headers: httputil.HTTPHeaders,
    body: bytes,
    on_headers: OnHeaders,
    on_chunk: OnChunk,
    *,
    max_header_bytes: int,
    answer: Answer,
) -> None:
    """Send one request on ``stream`` and hand its answer to the callbacks (``on_chunk``
    awaited before the next read: backpressure). ``answer`` says how far it got, also
    when this raises (``StreamClosedError``, ``HTTPInputError``)."""
    stream.write(request_bytes(method, path_and_query, headers, body))
    for _ in range(MAX_1XX + 1):
        raw = await stream.read_until_regex(_HEAD_END, max_bytes=max_header_bytes)
        text = raw.decode("latin1").lstrip("\r\n")
        eol = text.find("\n")
        start = httputil.parse_response_start_line(text[:eol].rstrip("\r"))
        parsed = httputil.HTTPHeaders.parse(text[eol:])
        code = start.code
        if 100 <= code < 200:
            if "Content-Length" in parsed or "Transfer-Encoding" in parsed:
                raise httputil.HTTPInputError(f"Response code {code} cannot have body")
            if code == 101:
                raise httputil.HTTPInputError("The provider switched protocols")
            continue  # 100 Continue, 103 Early Hints: the answer follows
        break
    else:
        raise httputil.HTTPInputError("Too many 1xx responses")
    reader = _body_reader(method, code, parsed)
    decompressor = None
    if parsed.get("Content-Encoding", "").lower() == "gzip":
        decompressor = GzipDecompressor()
        parsed.add("X-Consumed-Content-Encoding", parsed["Content-Encoding"])
        del parsed["Content-Encoding"]
    answer.started = True
    keep = reusable(start.version, parsed, code) and reader.length_known
    on_headers(code, start.reason, parsed)
    async for piece in reader.read(stream):
        if decompressor is None:
            await _hand_on(on_chunk, piece)
            continue
        while piece:
            try:
                plain = decompressor.decompress(piece, CHUNK)
            except Exception as e:  # zlib.error
                raise httputil.HTTPInputError(f"invalid gzip data: {type(e).__name__}") from None
            if plain:
                await _hand_on(on_chunk, plain)
            tail = decompressor.unconsumed_tail
            if not plain and len(tail) >= len(piece):
                raise httputil.HTTPInputError("gzip data that makes no progress")
            piece = tail
    if decompressor is not None:
        try:
            decompressor.flush()
        except Exception as e:
            raise httputil.HTTPInputError(f"invalid gzip data: {type(e).__name__}") from None
    answer.complete = True
    answer.reusable = keep


async def _hand_on(on_chunk: OnChunk, data: bytes) -> None:
    pending = on_chunk(data)
    if pending is not None:
        await pending


class _Body:
    """How the body of an answer is framed, and its pieces as they are read."""

    def __init__(self, length: int | None, chunked: bool) -> None:
        self.length = length
        self.chunked = chunked
        self.length_known = chunked or length is not None

    async def read(self, stream: IOStream) -> AsyncIterator[bytes]:
        if self.chunked:
            async for piece in _chunked(stream):
                yield piece
        elif self.length is not None:
            left = self.length
            while left > 0:
                piece = await stream.read_bytes(min(CHUNK, left), partial=True)
                left -= len(piece)
                yield piece
        else:
            while True:
                try:
                    piece = await stream.read_bytes(CHUNK, partial=True)
                except StreamClosedError:
                    return  # the provider closed: that was the end of the body
                yield piece


def _body_reader(method: str, code: int, headers: httputil.HTTPHeaders) -> _Body:
    length: int | None = None
    if "Content-Length" in headers:
        value = headers["Content-Length"]
        if "," in value:
            pieces = _SPLIT_LENGTHS.split(value)
            if any(p != pieces[0] for p in pieces):
                raise httputil.HTTPInputError("Multiple unequal Content-Lengths")
            value = headers["Content-Length"] = pieces[0]
        try:
            length = parse_int(value)
        except ValueError:
            raise httputil.HTTPInputError("Only integer Content-Length is allowed") from None
    chunked = is_transfer_encoding_chunked(headers)
    if method == "HEAD" or code == 304:
        return _Body(0, False)
    if code == 204:
        if chunked or length not in (None, 0):
            raise httputil.HTTPInputError("Response with code 204 should not have body")
        return _Body(0, False)
    return _Body(length, chunked)


async def _chunked(stream: IOStream) -> AsyncIterator[bytes]:
    while True:
        size_line = await stream.read_until(b"\r\n", max_bytes=64)
        try:
            size = parse_hex_int(size_line[:-2].decode("latin1"))
        except ValueError:
            raise httputil.HTTPInputError("invalid chunk size") from None
        if size == 0:
            if await stream.read_bytes(2) != b"\r\n":
                raise httputil.HTTPInputError("improperly terminated chunked answer")
            return
        while size:
            piece = await stream.read_bytes(min(size, CHUNK), partial=True)
            size -= len(piece)
            yield piece
        if await stream.read_bytes(2) != b"\r\n":
            raise httputil.HTTPInputError("improperly terminated chunk")
