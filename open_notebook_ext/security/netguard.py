"""Outbound HTTP to user-supplied URLs, safe against SSRF.

Two layers, each usable on its own, over ``addresses.blocked_reason`` (which
addresses are refused, and why):

* :func:`check_url` validates a URL (http/https, a host, no user info), resolves
  the host **once**, judges every address it resolves to and returns a
  :class:`Target` pinned to one vetted address.
* :func:`fetch` makes the request: it connects only to the pinned address (Host
  header and TLS server name stay the URL's host, so certificates are checked
  against the name), follows redirects itself (each hop checked again), and
  enforces a total time limit and a size limit on the (decompressed) body.

DNS rebinding cannot slip a different address in between check and connect,
because the connection never resolves the name again.

Error messages say what is wrong without repeating the URL, its host or its
scheme: they reach API clients (a link source's 400/502, a connection test's
message), and a URL pasted by mistake may hold something private.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from tornado.httpclient import HTTPClientError, HTTPRequest, HTTPResponse
from tornado.netutil import Resolver
from tornado.simple_httpclient import HTTPTimeoutError, SimpleAsyncHTTPClient

from open_notebook_ext.security.addresses import IPAddress, blocked_reason

_MAX_URL = 2048


class URLRefused(ValueError):
    """The URL is malformed or points at an address we do not connect to."""


class FetchError(Exception):
    """The request could not be completed (DNS, connection, time, size, HTTP status)."""


class ResponseTooLarge(FetchError):
    pass


# -- URLs ------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A checked URL and the one address a connection to it may use."""

    url: str
    scheme: str
    host: str  # as in the URL (lower case, IPv6 without brackets)
    port: int
    address: str | None  # the pinned IP; None only when resolution was not required
    addresses: tuple[str, ...] = field(default=())


Resolve = Callable[[str, int], Sequence[str]]


def system_resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (blocking; run it in a thread)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or URLRefused saying what is wrong."""
    if not isinstance(url, str) or not url.strip():
        raise URLRefused("URL is empty")
    url = url.strip()
    if len(url) > _MAX_URL:
        raise URLRefused(f"URL is longer than {_MAX_URL} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch == "\\" for ch in url):
        raise URLRefused("URL contains whitespace, control characters or backslashes")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise URLRefused("Invalid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise URLRefused("Invalid URL scheme: only http and https are allowed")
    if "@" in parts.netloc:
        raise URLRefused("URLs with a user name or password are not accepted")
    host = parts.hostname
    if not host:
        raise URLRefused("Invalid URL: hostname could not be determined.")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise URLRefused("Invalid URL: bad port") from None
    return scheme, host, port


def check_url(
    url: str,
    *,
    allow_private: bool,
    require_resolution: bool = True,
    resolve: Resolve | None = None,
) -> Target:
    """Validate ``url``, resolve its host once and judge every address.

    Raises :class:`URLRefused` for a bad URL or any refused address, and
    :class:`FetchError` when the host cannot be resolved and
    ``require_resolution`` (with it off, an unresolvable host is accepted with
    ``address=None``, as Open Notebook does when it stores a URL).
    Blocking (DNS): call it from a thread, or use :func:`acheck_url`.
    """
    scheme, host, port = parse_url(url)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = list((resolve or system_resolve)(host, port))
        except (OSError, UnicodeError) as e:
            if require_resolution:
                raise FetchError("Could not resolve the URL's host") from e
            addresses = []
        if not addresses and require_resolution:
            raise FetchError("Could not resolve the URL's host")
    for address in addresses:
        reason = blocked_reason(address, allow_private=allow_private)
        if reason is not None:
            # what a setting would allow says which setting
            hint = (
                " (set OpenNotebookApp.allow_private_targets = True to allow it, e.g. "
                "for Ollama on this machine)"
                if reason in ("a loopback address", "a private address")
                else ""
            )
            if literal is not None:
                raise URLRefused(f"The URL's host is {reason}, which is not allowed{hint}")
            raise URLRefused(f"The URL's host resolves to {reason}, which is not allowed{hint}")
    pinned = next((a for a in addresses if ":" not in a), addresses[0] if addresses else None)
    return Target(url.strip(), scheme, host, port, pinned, tuple(addresses))


async def acheck_url(
    url: str,
    *,
    allow_private: bool,
    require_resolution: bool = True,
    timeout: float = 10.0,
    resolve: Resolve | None = None,
) -> Target:
    """:func:`check_url` in a thread, with a time limit on DNS resolution."""
    parse_url(url)  # cheap errors first, without a thread
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(
                check_url,
                url,
                allow_private=allow_private,
                require_resolution=require_resolution,
                resolve=resolve,
            ),
            timeout,
        )
    except asyncio.TimeoutError:
        if require_resolution:
            raise FetchError("Resolving the URL's host timed out") from None
        scheme, host, port = parse_url(url)
        return Target(url.strip(), scheme, host, port, None)


# -- requests ----------------------------------------------------------------------


class PinnedResolver(Resolver):
    """Answers every lookup for the target's host with the pinned address only."""

    def initialize(self, target: Target) -> None:
        self.target = target

    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        address = self.target.address
        if host.strip("[]").lower() != self.target.host or address is None:
            raise OSError("connection to an unchecked host refused")
        if ":" in address:
            return [(socket.AF_INET6, (address, port, 0, 0))]
        return [(socket.AF_INET, (address, port))]


@dataclass
class FetchResult:
    url: str  # the final URL, after redirects
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


async def fetch(
    url: str,
    *,
    allow_private: bool,
    max_bytes: int,
    timeout: float,
    max_redirects: int = 5,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    resolve: Resolve | None = None,
    user_agent: str = "open_notebook_ext",
) -> FetchResult:
    """Request ``url`` through the guard; every redirect hop is checked again.

    ``timeout`` bounds the whole exchange (DNS, connect, redirects, body);
    ``max_bytes`` bounds the body after decompression. Any status is returned
    (callers decide what a 4xx means); transport problems raise FetchError,
    refused addresses URLRefused.
    """
    deadline = time.monotonic() + timeout
    current = url
    for _hop in range(max_redirects + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError("The request timed out")
        target = await acheck_url(
            current, allow_private=allow_private, timeout=remaining, resolve=resolve
        )
        response, data = await _request_pinned(
            target,
            method=method,
            headers=headers,
            body=body,
            max_bytes=max_bytes,
            timeout=max(deadline - time.monotonic(), 0.001),
            user_agent=user_agent,
        )
        location = response.headers.get("Location")
        if response.code in (301, 302, 303, 307, 308) and location:
            current = urljoin(target.url, location)
            if response.code == 303 or (response.code in (301, 302) and method == "POST"):
                method, body = "GET", None
            continue
        return FetchResult(target.url, response.code, dict(response.headers), data)
    raise FetchError(f"Too many redirects (more than {max_redirects})")


async def _request_pinned(
    target: Target,
    *,
    method: str,
    headers: dict[str, str] | None,
    body: bytes | None,
    max_bytes: int,
    timeout: float,
    user_agent: str,
) -> tuple[HTTPResponse, bytes]:
    received = bytearray()
    too_large = False

    def collect(chunk: bytes) -> None:
        nonlocal too_large
        if len(received) + len(chunk) > max_bytes:
            too_large = True
            raise ResponseTooLarge(f"The response is larger than {max_bytes} bytes")
        received.extend(chunk)

    # The size limit is ours (collect() counts the decompressed bytes as they
    # arrive); Tornado's own limit would only close the stream without saying why.
    client = SimpleAsyncHTTPClient(
        force_instance=True,
        resolver=PinnedResolver(target=target),
        max_body_size=1 << 50,
        max_clients=1,
    )
    request = HTTPRequest(
        target.url,
        method=method,
        headers={"User-Agent": user_agent, **(headers or {})},
        body=body,
        follow_redirects=False,
        connect_timeout=timeout,
        request_timeout=timeout,
        streaming_callback=collect,
        decompress_response=True,
        validate_cert=True,
        allow_nonstandard_methods=True,
    )
    try:
        # raise_error=False still raises transport errors (HTTP 599).
        response = await client.fetch(request, raise_error=False)
    except Exception as e:
        if too_large or isinstance(e, ResponseTooLarge):
            raise ResponseTooLarge(f"The response is larger than {max_bytes} bytes") from None
        if isinstance(e, HTTPTimeoutError):
            raise FetchError("The request timed out") from None
        if isinstance(e, (OSError, HTTPClientError)):
            raise FetchError(f"The request failed: {_describe(e)}") from None
        raise
    finally:
        client.close()
    if too_large:
        raise ResponseTooLarge(f"The response is larger than {max_bytes} bytes")
    return response, bytes(received)


def _describe(error: BaseException) -> str:
    """A fixed phrase for a transport error (never the error's own text, which may
    quote the host or address)."""
    if isinstance(error, HTTPClientError) and error.code == 599:
        text = (error.message or "").lower()
        if "timeout" in text or "timed out" in text:
            return "timed out"
        return "connection closed" if "closed" in text else "connection failed"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):
        return "timed out"
    import ssl

    if isinstance(error, ssl.SSLError):
        return "TLS error"
    return type(error).__name__
