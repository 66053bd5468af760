"""Authentication helpers: failed-auth rate limiting, client address, constant-time tokens.

* :class:`AuthFailureLimiter` counts failed authentication attempts per client
  address in a sliding window and blocks an address that reaches the limit
  until the window has passed. Memory is bounded: at most ``max_tracked``
  addresses are remembered (least recently seen dropped first). State is per
  server process; ``security/dblimiter.py`` has the one several servers sharing a
  database count together (hub service replicas).
* :func:`client_address` honours ``X-Forwarded-For`` / ``X-Real-Ip`` only when
  the connection comes from a trusted proxy (:class:`TrustedProxies`, nginx's
  ``set_real_ip_from``), walking ``X-Forwarded-For`` right to left past trusted
  proxies as nginx's ``real_ip_recursive`` does. :func:`transport_peer` is the
  connection's real address, before Tornado's ``xheaders`` rewrote it.
* :class:`ConstantTimeIdentityProvider` is Jupyter's password/token identity
  provider with the token compared by ``hmac.compare_digest`` instead of ``==``,
  ``JUPYTER_TOKEN_FILE`` read without its trailing newline, and a token file
  that would give an empty token (authentication disabled) refused.
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import os
import socket
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from jupyter_server.auth.identity import PasswordIdentityProvider, User
from tornado.httputil import HTTPServerRequest
from traitlets import Int, default

from open_notebook_ext.errors import ConfigError
from open_notebook_ext.http import compat
from open_notebook_ext.security.secretfile import SecretError, check_length, read_secret_file

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
UNIX_PEER = "unix:"  # a connection over a Unix socket (ServerApp.sock), as nginx spells it


def _ip(text: str | None) -> IPAddress | None:
    """An address as text, or None; IPv4-mapped IPv6 (``::ffff:a.b.c.d``) read as IPv4."""
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """The peers whose forwarded headers are believed: addresses and networks (CIDR), and
    ``unix:`` for a proxy on a Unix socket, as nginx's ``set_real_ip_from`` takes them."""

    def __init__(self, entries: Iterable[str] = (), source: str = "trusted_proxies") -> None:
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.unix = False
        for entry in entries:
            entry = entry.strip()
            if not entry:
                continue
            if entry == UNIX_PEER:
                self.unix = True
                continue
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigError(
                    f"{source}: {entry!r} is not an IP address or network (CIDR); "
                    "expected e.g. 172.31.240.2, 10.0.0.0/24 or unix:"
                ) from None
            self.networks.append(network)

    def __bool__(self) -> bool:
        return self.unix or bool(self.networks)

    def __contains__(self, peer: object) -> bool:
        if peer == UNIX_PEER:
            return self.unix
        address = peer if isinstance(peer, IPAddress) else _ip(str(peer))
        return address is not None and any(address in n for n in self.networks)

    def __repr__(self) -> str:
        entries = [str(n) for n in self.networks] + ([UNIX_PEER] if self.unix else [])
        return f"TrustedProxies({entries!r})"


def transport_peer(request: HTTPServerRequest) -> tuple[str | None, str]:
    """The connection's own peer address and scheme, whatever the request's headers say.

    With ``ServerApp.trust_xheaders`` Jupyter starts Tornado's HTTP server with
    ``xheaders=True``, which rewrites ``request.remote_ip`` and ``request.protocol`` from
    ``X-Real-Ip`` / ``X-Forwarded-For`` / ``X-Scheme`` / ``X-Forwarded-Proto`` before any
    handler runs, for every client. Tornado keeps the originals on the connection's
    context (``_orig_remote_ip``, ``_orig_protocol``; private, so read through
    ``http.compat`` and pinned by a test there). Without them the address is None:
    nothing forwarded is trusted.
    """
    context = getattr(request.connection, "context", None)
    ip, protocol = compat.original_peer(context)
    if getattr(context, "address_family", None) == getattr(socket, "AF_UNIX", object()):
        return UNIX_PEER, protocol or request.protocol
    if not isinstance(ip, str):
        return None, request.protocol
    return ip, protocol if isinstance(protocol, str) else request.protocol


def client_address(
    peer: str | None, headers: Mapping[str, str], trusted: TrustedProxies | None
) -> str:
    """The client's address: the peer's own, unless the peer is a trusted proxy.

    From a trusted proxy, ``X-Forwarded-For`` is read right to left, each trusted proxy
    skipped, and the first address that is not a trusted proxy is the client (nginx's
    ``real_ip_recursive on``); an entry that is not an address ends the walk at the last
    address that was. Without ``X-Forwarded-For``, ``X-Real-Ip``.
    """
    if not peer:
        return "unknown"
    own = _ip(peer)
    client = str(own) if own is not None else peer
    if not trusted or peer not in trusted:
        return client
    hops = [hop for hop in headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    if not hops:
        real = _ip(headers.get("X-Real-Ip"))
        return str(real) if real is not None else client
    for hop in reversed(hops):
        address = _ip(hop)
        if address is None:
            break
        client = str(address)
        if address not in trusted:
            break
    return client


@dataclass
class _Entry:
    failures: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0


class AuthFailureLimiter:
    """Per-address failed-authentication counter with a bounded memory."""

    # judge() runs on the event loop (no I/O); the database's limiter says True
    blocking = False

    def __init__(
        self,
        limit: int = 10,
        window: float = 60.0,
        max_tracked: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_tracked = max_tracked
        self.clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def retry_after(self, address: str) -> int | None:
        """Seconds until ``address`` may try again, or None when it is not blocked."""
        if self.limit <= 0:
            return None
        with self._lock:
            entry = self._entries.get(address)
            if entry is None:
                return None
            remaining = entry.blocked_until - self.clock()
            return max(1, math.ceil(remaining)) if remaining > 0 else None

    def record_failure(self, address: str) -> bool:
        """Count one failure; True when this failure starts a block (log it once)."""
        if self.limit <= 0:
            return False
        now = self.clock()
        with self._lock:
            entry = self._entries.get(address)
            if entry is None:
                entry = self._entries[address] = _Entry()
                while len(self._entries) > self.max_tracked:
                    self._entries.popitem(last=False)
            else:
                self._entries.move_to_end(address)
            if entry.blocked_until > now:
                return False
            failures = entry.failures
            failures.append(now)
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            if len(failures) >= self.limit:
                entry.blocked_until = now + self.window
                failures.clear()
                return True
            return False

    def judge(self, address: str) -> tuple[int | None, bool]:
        """One wrong token from ``address``: (seconds to wait, when it is blocked and
        the failure is not counted; else None, and whether this failure starts a block)."""
        retry_after = self.retry_after(address)
        if retry_after is not None:
            return retry_after, False
        return None, self.record_failure(address)


class ConstantTimeIdentityProvider(PasswordIdentityProvider):
    """Jupyter's token/password identity provider, comparing tokens in constant time.

    jupyter_server compares the offered token with ``==``, whose running time
    depends on how many leading characters match. Use this class with
    ``c.ServerApp.identity_provider_class =
    "open_notebook_ext.security.identity.ConstantTimeIdentityProvider"`` (the production
    configuration in ``jupyter-config/`` does).

    It fails closed: a ``JUPYTER_TOKEN_FILE`` that is missing, unreadable, empty
    or only whitespace (or a blank ``JUPYTER_TOKEN``) stops the server with one
    message. Jupyter's own provider turns such a file into the empty token,
    which it reads as "authentication disabled", or stops with a traceback.
    """

    min_token_length = Int(
        0,
        config=True,
        help="""Refuse to start unless the token has at least this many characters
        (surrounding whitespace not counted), wherever it comes from: JUPYTER_TOKEN,
        JUPYTER_TOKEN_FILE or IdentityProvider.token. The production configuration sets
        32. A token from the environment or a token file that is empty or only
        whitespace is refused whatever this says.""",
    )

    @default("token")
    def _stripped_token_default(self) -> str:
        # Jupyter keeps the file's trailing newline as part of the token, so a secret
        # written with `echo` or `openssl rand -hex 32 >` never matches: strip it.
        env_token = os.environ.get("JUPYTER_TOKEN", "")
        token_file = os.environ.get("JUPYTER_TOKEN_FILE", "")
        min_length = max(1, self.min_token_length)
        try:
            if env_token:
                self.token_generated = False
                check_length(env_token, "JUPYTER_TOKEN", min_length)
                return env_token  # as Jupyter uses it
            if token_file:
                self.token_generated = False
                return read_secret_file(token_file, "JUPYTER_TOKEN_FILE", min_length=min_length)
        except SecretError as e:
            self._refuse(str(e))
        return compat.jupyter_token_default(self, ConstantTimeIdentityProvider)

    def _refuse(self, problem: str) -> NoReturn:
        self.log.critical(
            "Refusing to start: %s. Give the server a token of %d or more "
            "random characters, e.g. `openssl rand -hex 32 > token`.",
            problem,
            max(self.min_token_length, 32),
        )
        raise SystemExit(1)

    def validate_security(self, app: Any, ssl_options: dict[str, Any] | None = None) -> None:
        token = self.token
        if token and not token.strip():
            self._refuse("the token is only whitespace")
        if self.min_token_length > 0:
            try:
                check_length(token, "the token", self.min_token_length)
            except SecretError as e:
                self._refuse(str(e))
        super().validate_security(app, ssl_options)

    @staticmethod
    def tokens_match(offered: str | None, expected: str | None) -> bool:
        if not offered or not expected:
            return False
        return hmac.compare_digest(offered.encode("utf-8"), expected.encode("utf-8"))

    async def get_user_token(self, handler: Any) -> User | None:
        token = handler.token
        if not token:
            return None
        if not self.tokens_match(self.get_token(handler), token):
            return None
        self.log.debug("Accepting token-authenticated request from %s", handler.request.remote_ip)
        user = self.get_user_cookie(handler)
        if hasattr(user, "__await__"):
            user = await user  # type: ignore[misc]  # get_user_cookie may return an awaitable in some jupyter_server versions
        return user if user is not None else self.generate_anonymous_user(handler)

    def process_login_form(self, handler: Any) -> User | None:
        # Jupyter's version compares the typed token with ``==``; only hand the
        # form to it once we know, in constant time, which branch will match.
        typed = handler.get_argument("password", default="")
        if (
            self.tokens_match(typed, self.token)
            or not self.auth_enabled
            or (self.hashed_password and self.passwd_check(typed))
        ):
            return super().process_login_form(handler)
        return None
