"""Authentication helpers: failed-auth rate limiting, client address, constant-time tokens.

* :class:`AuthFailureLimiter` counts failed authentication attempts per client
  address in a sliding window and blocks an address that reaches the limit
  until the window has passed. Memory is bounded: at most ``max_tracked``
  addresses are remembered (least recently seen dropped first). State is per
  server process.
* :func:`client_address` honours ``X-Real-Ip`` / ``X-Forwarded-For`` only when
  ``ServerApp.trust_xheaders`` is on (behind a reverse proxy you run).
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
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from jupyter_server.auth.identity import PasswordIdentityProvider, User
from traitlets import Int, default

from .secretfile import SecretError, check_length, read_secret_file


def client_address(remote_ip: str | None, headers: Mapping[str, str], trust_xheaders: bool) -> str:
    """The client's address: the proxy's view of it when we trust the proxy."""
    if trust_xheaders:
        candidates = [headers.get("X-Real-Ip", "")]
        xff = headers.get("X-Forwarded-For", "")
        if xff:
            # The last hop was added by our own proxy; earlier ones are client-supplied.
            candidates.insert(0, xff.split(",")[-1])
        for candidate in candidates:
            candidate = candidate.strip()
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                continue
    return remote_ip or "unknown"


@dataclass
class _Entry:
    failures: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0


class AuthFailureLimiter:
    """Per-address failed-authentication counter with a bounded memory."""

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


class ConstantTimeIdentityProvider(PasswordIdentityProvider):
    """Jupyter's token/password identity provider, comparing tokens in constant time.

    jupyter_server compares the offered token with ``==``, whose running time
    depends on how many leading characters match. Use this class with
    ``c.ServerApp.identity_provider_class =
    "open_notebook_ext.auth.ConstantTimeIdentityProvider"`` (the production
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
    def _token_default(self) -> str:
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
        return super()._token_default()

    def _refuse(self, problem: str) -> NoReturn:
        self.log.critical("Refusing to start: %s. Give the server a token of %d or more "
                          "random characters, e.g. `openssl rand -hex 32 > token`.",
                          problem, max(self.min_token_length, 32))
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
            user = await user  # type: ignore[misc]
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
