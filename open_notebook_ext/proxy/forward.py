"""The outbound half of the proxy: one request to the provider, streamed back as it comes.

The connection goes only to the address the SSRF guard vetted (``netguard``:
the URL's host resolved once, every address judged, one pinned; TLS is checked
against the URL's host name). Redirects are never followed (a 3xx is passed back
as is, and the key stays with the host it was stored for). A connect timeout and
a total time limit apply; the body is read as it arrives and handed on chunk by
chunk, waiting for the client to take each one (backpressure), and ``close()``
drops the upstream connection at once (the client went away).

Headers are filtered both ways: hop-by-hop headers (RFC 9110 7.6.1, and those a
``Connection`` header names), cookies, the caller's credentials and forwarding
headers never pass.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import sys
from urllib.parse import parse_qsl, urlencode, urlsplit

from tornado import httputil
from tornado.iostream import IOStream, StreamClosedError
from tornado.tcpclient import TCPClient

from open_notebook_ext.hub.relay import KERNEL_HEADER, NOTEBOOKS_HEADER
from open_notebook_ext.proxy import http1
from open_notebook_ext.proxy.http1 import OnChunk, OnHeaders
from open_notebook_ext.proxy.pool import ConnectionPool
from open_notebook_ext.proxy.table import CALLER_KEY_HEADERS, CALLER_KEY_PARAMS
from open_notebook_ext.security.netguard import FetchError, PinnedResolver, Target

_timeout = asyncio.timeout if sys.version_info >= (3, 11) else None  # type: ignore[attr-defined]

HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Connection",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
    )
)
# Never forwarded to the provider: the caller's credentials and cookies, where the
# request came from, what the proxy sets itself.
_REQUEST_DROP = HOP_BY_HOP | frozenset(
    h.lower()
    for h in (
        *CALLER_KEY_HEADERS,
        "Host",
        "Cookie",
        "Cookie2",
        "Content-Length",
        "Accept-Encoding",
        "Forwarded",
        "X-Forwarded-For",
        "X-Forwarded-Host",
        "X-Forwarded-Proto",
        "X-Forwarded-Port",
        "X-Real-Ip",
        "Origin",
        "Referer",
        "OpenAI-Organization",
        "OpenAI-Project",  # the key's own defaults apply
        "Xi-Api-Key",
        KERNEL_HEADER,  # what a client-mode server tells the service (hub/relay.py)
        NOTEBOOKS_HEADER,
    )
)
# Never passed back to the kernel: cookies, hop-by-hop, what the body re-framing changes.
_RESPONSE_DROP = HOP_BY_HOP | frozenset(
    h.lower()
    for h in (
        "Set-Cookie",
        "Set-Cookie2",
        "Content-Length",
        "Content-Encoding",
        "X-Consumed-Content-Encoding",
        "Alt-Svc",
        "Server",
        "Date",
    )
)
_SAFE_PATH = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@%/-]*")
_ENCODED_SEPARATOR = re.compile(r"%(2[fF]|5[cC]|2[eE]|00)")


def check_path(raw: str) -> str | None:
    """Why ``raw`` (the URL path after the credential id, still percent-encoded) is not
    forwarded, or None. No dot segments, empty segments, encoded separators or dots."""
    if not raw:
        return "no API path after the credential id"
    if not _SAFE_PATH.fullmatch(raw) or _ENCODED_SEPARATOR.search(raw):
        return "the API path holds characters the proxy does not forward"
    if any(seg in ("", ".", "..") for seg in raw.split("/")):
        return "the API path has empty or dot segments"
    return None


def forwarded_query(raw_query: str) -> str:
    """The query string minus any parameter that carries a credential."""
    if not raw_query:
        return ""
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if k.lower() not in CALLER_KEY_PARAMS]
    return urlencode(kept) if len(kept) != len(pairs) else raw_query


def request_headers(
    incoming: httputil.HTTPHeaders,
    key_header: str,
    key_value: str,
    host: str,
    *,
    keep_alive: bool = False,
) -> httputil.HTTPHeaders:
    named = {t.strip().lower() for t in incoming.get("Connection", "").split(",") if t.strip()}
    out = httputil.HTTPHeaders()
    for name, value in incoming.get_all():
        low = name.lower()
        if low in _REQUEST_DROP or low in named or low.startswith(("sec-", "x-forwarded-")):
            continue
        out.add(name, value)
    out[key_header] = key_value
    out["Host"] = host
    out["Accept-Encoding"] = "gzip"
    out["Connection"] = "keep-alive" if keep_alive else "close"
    return out


def response_headers(upstream: httputil.HTTPHeaders) -> list[tuple[str, str]]:
    named = {t.strip().lower() for t in upstream.get("Connection", "").split(",") if t.strip()}
    return [
        (n, v)
        for n, v in upstream.get_all()
        if n.lower() not in _RESPONSE_DROP and n.lower() not in named
    ]


# -- the upstream request -------------------------------------------------------------


class UpstreamFailed(Exception):
    """No answer from the provider (connection, TLS, time limit, malformed answer).
    The message is a fixed phrase: never the host, the address or the error's text."""


class Upstream:
    """One request to a pinned target, on a kept-alive connection from ``pool`` when
    there is one (and back to it once the answer is read, if it may be reused).
    ``close()`` may be called at any time."""

    def __init__(
        self,
        target: Target,
        *,
        connect_timeout: float,
        timeout: float,
        max_header_bytes: int = 64 * 1024,
        pool: ConnectionPool | None = None,
    ) -> None:
        self.target = target
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.max_header_bytes = max_header_bytes
        self.pool = pool
        self.reused = False  # this call went on a kept-alive connection
        self._stream: IOStream | None = None
        self._closed = False
        self._keep = False

    def close(self) -> None:
        self._closed = True
        if self._stream is not None:
            self._stream.close()

    async def send(
        self,
        method: str,
        path_and_query: str,
        headers: httputil.HTTPHeaders,
        body: bytes,
        on_headers: OnHeaders,
        on_chunk: OnChunk,
    ) -> None:
        try:
            call = self._send(method, path_and_query, headers, body, on_headers, on_chunk)
            if _timeout is not None:  # 3.11+: no task of its own, as wait_for makes
                async with _timeout(self.timeout):
                    await call
            else:
                await asyncio.wait_for(call, self.timeout)
        except asyncio.TimeoutError:
            self.close()
            raise UpstreamFailed("the provider did not answer in time") from None
        except StreamClosedError:
            if self._closed:
                return  # closed on purpose: the client went away
            raise UpstreamFailed("the provider closed the connection") from None
        except httputil.HTTPInputError:
            self.close()
            raise UpstreamFailed("the provider's answer was not valid HTTP") from None
        except (OSError, ssl.SSLError) as e:
            self.close()
            if isinstance(e, ssl.SSLError):
                raise UpstreamFailed("TLS error talking to the provider") from None
            raise UpstreamFailed("could not connect to the provider") from None
        finally:
            if self._stream is not None:
                if self._keep and self.pool is not None and not self._closed:
                    self.pool.give(self.target, self._stream)
                else:
                    self._stream.close()
                self._stream = None

    async def _connect(self, *, fresh: bool = False) -> IOStream:
        target = self.target
        if self.pool is not None and not fresh:
            kept = self.pool.take(target)
            if kept is not None:
                self.reused = True
                return kept
        ssl_options = ssl.create_default_context() if target.scheme == "https" else None
        client = TCPClient(resolver=PinnedResolver(target=target))
        try:
            stream = await client.connect(
                target.host, target.port, ssl_options=ssl_options, timeout=self.connect_timeout
            )
        except TimeoutError:
            raise UpstreamFailed("connecting to the provider timed out") from None
        finally:
            client.close()
        stream.set_nodelay(True)
        return stream

    async def _send(
        self,
        method: str,
        path_and_query: str,
        headers: httputil.HTTPHeaders,
        body: bytes,
        on_headers: OnHeaders,
        on_chunk: OnChunk,
    ) -> None:
        target = self.target
        if target.address is None:
            raise FetchError("no checked address")
        if body or method in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))

        # An error in a callback (the client went away) closes the upstream connection
        # rather than reaching Tornado (which would log a traceback).
        def headers_received(code: int, reason: str, upstream: httputil.HTTPHeaders) -> None:
            try:
                on_headers(code, reason, upstream)
            except Exception:
                self.close()

        async def data_received(chunk: bytes) -> None:
            if self._closed:
                raise StreamClosedError()
            try:
                pending = on_chunk(chunk)
                if pending is not None:
                    await pending  # the next piece is read once the client took this one
            except Exception:
                self.close()
            if self._closed:
                raise StreamClosedError()

        retried = False
        while True:
            stream = self._stream = await self._connect(fresh=retried)
            if self._closed:
                return
            answer = http1.Answer()
            try:
                await http1.exchange(
                    stream,
                    method,
                    path_and_query,
                    headers,
                    body,
                    headers_received,
                    data_received,
                    max_header_bytes=self.max_header_bytes,
                    answer=answer,
                )
            except StreamClosedError:
                if not (self.reused and not answer.started and not self._closed):
                    raise
                # A kept-alive connection the provider closed as the call went out (it
                # answered nothing): once more, on a new connection.
                stream.close()
                self.reused, retried = False, True
                continue
            except ValueError:  # a header that cannot be sent (http1.request_bytes)
                self.close()
                raise UpstreamFailed("a header of the request cannot be sent") from None
            break
        self._keep = answer.complete and answer.reusable and not stream.closed()


def host_header(target: Target) -> str:
    """The ``Host`` header for ``target`` (its port unless the scheme's default)."""
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def split_target(url: str) -> str:
    """The path and query of ``url``, as sent on the request line."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
