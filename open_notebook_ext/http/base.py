"""The one base class every Open Notebook API handler derives from.

It owns what must be the same on every response, errors included:

* the origin policy (``origin.OriginPolicy``): CORS headers are set in
  ``set_default_headers``, which Tornado calls again after ``send_error``
  clears the headers, so 401, 403, 404, 413, 422, 429 and 500 answers carry
  them too; preflights are answered here; writes from a disallowed origin are
  refused before anything else happens;
* authentication when the headers arrive, before any body is read: 401 with
  ``WWW-Authenticate: Bearer`` for missing or bad credentials, 403 for refused
  ones; a token in the URL of a request another site's page made is ignored;
* failed-authentication rate limiting: a wrong token from a blocked address is
  429 with ``Retry-After`` (a valid token always passes);
* the client address: forwarded headers believed only from trusted proxies;
* a request body cap, enforced while the body streams in (413), and a time
  limit for the body (408);
* request JSON parsed with a depth limit and Unicode text only (``jsontext``);
* JSON errors ``{"detail": "..."}`` (never HTML, a traceback or a secret) and
  the security headers; a database that cannot be reached is 503 ``Database
  unavailable`` with one log line, not a traceback;
* running store calls off the event loop.

Handlers stay thin: parse, call a store, write JSON.

Jupyter's own CORS settings (``ServerApp.allow_origin``, ``allow_origin_pat``,
``allow_credentials``, CORS headers in ``tornado_settings['headers']``) do not
apply to these routes; ``OpenNotebookApp.allowed_origins`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import sqlite3
from collections.abc import Callable
from http.client import responses
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from sqlalchemy import exc as sa_exc
from tornado import web
from tornado.ioloop import IOLoop

from open_notebook_ext.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    OpenNotebookError,
    Unprocessable,
    UpstreamError,
)
from open_notebook_ext.http import jsontext
from open_notebook_ext.security.identity import (
    AuthFailureLimiter,
    TrustedProxies,
    client_address,
    transport_peer,
)
from open_notebook_ext.security.origin import SAFE_METHODS, OriginPolicy, own_origin
from open_notebook_ext.vault.keyring import EncryptionNotConfigured

if TYPE_CHECKING:
    from open_notebook_ext.app import OpenNotebookApp

T = TypeVar("T")

AUTH_RESOURCE = "open_notebook"
INTERNAL_ERROR = "Internal server error"
DATABASE_UNAVAILABLE = "Database unavailable"
DATABASE_RETRY_AFTER = 5
_SQLITE_UNAVAILABLE = ("locked", "busy", "unable to open", "disk I/O")
ORIGIN_NOT_ALLOWED = "Origin not allowed"
TOO_MANY_FAILURES = "Too many failed authentication attempts"
# Settings keys under which the extension app publishes its policy objects.
POLICY_SETTING = "open_notebook_origin_policy"
LIMITER_SETTING = "open_notebook_auth_limiter"
BODY_LIMIT_SETTING = "open_notebook_max_body_bytes"
BODY_TIMEOUT_SETTING = "open_notebook_body_timeout"
TRUSTED_PROXIES_SETTING = "open_notebook_trusted_proxies"
DEFAULT_BODY_TIMEOUT = 60.0
# A refused request's body is read (so the connection stays usable) only when it is
# small and arrives soon; a request without valid credentials gets less patience.
DRAIN_TIMEOUT = 5.0
UNAUTHENTICATED_DRAIN_BYTES = 64 * 1024
WWW_AUTHENTICATE = {"WWW-Authenticate": "Bearer"}
_HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


class ApiError(web.HTTPError):
    """An HTTP error whose ``detail`` is shown to the client as is.

    No ``log_message`` is passed on: Tornado would log it, and details may echo
    what the client sent.
    """

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(status_code)
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra or {}


def api_error_for(exc: Exception) -> ApiError | None:
    """The HTTP error a domain error stands for, or None if it is not one of ours."""
    if isinstance(exc, InvalidInput):
        return ApiError(422, exc.detail, extra={"errors": exc.errors})
    if isinstance(exc, EncryptionNotConfigured):
        return ApiError(400, str(exc))
    if isinstance(exc, Conflict) and exc.field:
        return ApiError(
            409, exc.detail, extra={"errors": [{"field": exc.field, "message": exc.detail}]}
        )
    status = {
        NotFound: 404,
        Conflict: 409,
        BadRequest: 400,
        Forbidden: 403,
        Unprocessable: 422,
        UpstreamError: 502,
    }.get(type(exc))
    if status is not None and isinstance(exc, OpenNotebookError):
        return ApiError(status, exc.detail)
    return None


def database_unavailable(exc: Exception) -> bool:
    """The database could not be reached or gave up (not a bug in the request or in us):
    a lost or refused connection, a pool timeout, SQLite busy past its timeout."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free
        return True
    if not isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return False
    orig = getattr(exc, "orig", None)
    if isinstance(orig, sqlite3.Error):
        return any(word in str(orig) for word in _SQLITE_UNAVAILABLE)
    # psycopg names server errors by SQLSTATE: class 08 is connection exceptions, 57P0x
    # a server shutting down; errors raised before any server answered have none.
    sqlstate = getattr(orig, "sqlstate", None) or ""
    return sqlstate == "" or sqlstate.startswith(("08", "57P"))


def describe_database_error(exc: Exception) -> str:
    """One line for the log: the driver's error class and the first line of its message
    (drivers do not quote passwords; no SQL, no parameters)."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [""])[0]
    return f"{type(orig).__name__}: {first}"[:300]


@web.stream_request_body
class OpenNotebookHandler(ExtensionHandlerMixin, APIHandler):
    """Base handler: origin policy, auth, JSON in and out, errors in one place."""

    auth_resource = AUTH_RESOURCE
    # False on routes that must never be readable cross-origin (the secret endpoints)
    cors_enabled = True
    _body: bytearray
    _body_limit: int

    @property
    def ext(self) -> OpenNotebookApp:
        return self.extensionapp  # type: ignore[return-value]  # jupyter_server types extensionapp as ExtensionApp; ours is always OpenNotebookApp

    # -- origin policy -----------------------------------------------------------

    @property
    def origin_policy(self) -> OriginPolicy:
        return self.settings.get(POLICY_SETTING) or OriginPolicy()

    @property
    def trust_xheaders(self) -> bool:
        serverapp = self.settings.get("serverapp")
        return bool(getattr(serverapp, "trust_xheaders", False))

    @functools.cached_property
    def trusted_proxies(self) -> TrustedProxies | None:
        """Peers whose forwarded headers count: ``OpenNotebookApp.trusted_proxies``, and
        only while ``ServerApp.trust_xheaders`` is on (None otherwise)."""
        if not self.trust_xheaders:
            return None
        return self.settings.get(TRUSTED_PROXIES_SETTING) or TrustedProxies()

    @functools.cached_property
    def forwarded_headers_trusted(self) -> bool:
        """Whether X-Forwarded-* / X-Real-Ip of this request are believed: the connection
        comes from a trusted proxy (anyone else who reaches Jupyter, a kernel for one,
        could write anything there)."""
        trusted = self.trusted_proxies
        return trusted is not None and transport_peer(self.request)[0] in trusted

    def origin_verdict(self) -> str:
        """none | same | allowed | disallowed (computed once per request)."""
        verdict = getattr(self, "_origin_verdict", None)
        if verdict is None:
            own = own_origin(
                transport_peer(self.request)[1],
                self.request.headers.get("Host"),
                self.request.headers,
                self.forwarded_headers_trusted,
            )
            verdict = self.origin_policy.verdict(self.request.headers.get("Origin"), own)
            self._origin_verdict = verdict
        return verdict

    def set_default_headers(self) -> None:
        # Runs on construction and again after send_error() clears the headers,
        # so everything set here is on error responses too.
        super().set_default_headers()
        for name in list(self._headers):
            if name.lower().startswith("access-control-"):
                # e.g. from tornado_settings["headers"]: only our policy answers CORS here
                self.clear_header(name)
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("X-Content-Type-Options", "nosniff")
        origin = self.request.headers.get("Origin")
        if origin is None:
            return
        if not self.cors_enabled:
            self.set_header("Vary", "Origin")
            return
        policy = self.origin_policy
        if not policy.wildcard:
            self.set_header("Vary", "Origin")
        for name, value in policy.response_headers(origin, self.origin_verdict()).items():
            self.set_header(name, value)

    def set_cors_headers(self) -> None:
        # Jupyter echoes any Origin back to token-authenticated requests; our
        # routes answer CORS only through the origin policy.
        return None

    def check_origin(self, origin_to_satisfy_tornado: str = "") -> bool:
        # Disallowed-origin writes were refused in prepare(); reads go on to
        # auth as usual and simply carry no CORS headers, so the browser
        # withholds the response from the foreign page.
        return self.origin_verdict() != "disallowed" or self.request.method in SAFE_METHODS

    def allowed_methods(self) -> list[str]:
        cls = type(self)
        return [
            m
            for m in _HTTP_METHODS
            if getattr(cls, m.lower()) is not getattr(web.RequestHandler, m.lower())
        ]

    def _answer_options(self) -> None:
        """Preflight (and plain OPTIONS): no authentication needed."""
        methods = self.allowed_methods()
        is_preflight = (
            "Origin" in self.request.headers
            and "Access-Control-Request-Method" in self.request.headers
        )
        if is_preflight:
            verdict = self.origin_verdict()
            if verdict == "disallowed" or not self.cors_enabled:
                raise ApiError(403, ORIGIN_NOT_ALLOWED)
            if verdict == "allowed":
                preflight = self.origin_policy.preflight_headers([*methods, "OPTIONS"])
                for name, value in preflight.items():
                    self.set_header(name, value)
        self.set_header("Allow", ", ".join([*methods, "OPTIONS"]))
        self.set_status(204)
        self.finish()

    # -- request flow --------------------------------------------------------------

    @functools.cached_property
    def client_address(self) -> str:
        """The client's address (forwarded headers believed only from trusted proxies)."""
        return client_address(
            transport_peer(self.request)[0], self.request.headers, self.trusted_proxies
        )

    @property
    def auth_limiter(self) -> AuthFailureLimiter | None:
        return self.settings.get(LIMITER_SETTING)

    def request_body_limit(self) -> int:
        """Largest body this request may send (a handler may allow more, e.g. uploads)."""
        return int(self.settings.get(BODY_LIMIT_SETTING, 1024 * 1024))

    def request_body_timeout(self) -> float:
        """Seconds this request's body may take to arrive (0: no limit)."""
        return float(self.settings.get(BODY_TIMEOUT_SETTING, DEFAULT_BODY_TIMEOUT))

    async def prepare(self) -> None:  # type: ignore[override]  # Tornado declares prepare as returning Awaitable | None; ours is a coroutine
        self._body = bytearray()
        self._body_limit = self.request_body_limit()
        self._start_body_clock()
        try:
            await self._prepare()
        except Exception as e:
            status = getattr(e, "status_code", 0)
            # Without valid credentials only a small body is waited for (401, 429).
            await self._drain_body(UNAUTHENTICATED_DRAIN_BYTES if status in (401, 429) else None)
            raise

    def _declares_body(self) -> bool:
        declared = self.request.headers.get("Content-Length", "")
        return "Transfer-Encoding" in self.request.headers or (
            declared.isdigit() and int(declared) > 0
        )

    def _start_body_clock(self) -> None:
        """408 when the body has not arrived within request_body_timeout() seconds.

        Tornado gives a streamed body all the time in the world (Jupyter sets no
        body_timeout), so a client could hold a connection open forever by sending
        it a byte at a time. The clock stops when the body is complete.
        """
        timeout = self.request_body_timeout()
        body = getattr(self.request, "_body_future", None)
        if not timeout > 0 or body is None or body.done() or not self._declares_body():
            return
        loop = IOLoop.current()
        handle = loop.call_later(timeout, self._body_too_slow, timeout)
        body.add_done_callback(lambda _: loop.remove_timeout(handle))

    def _body_too_slow(self, timeout: float) -> None:
        body = getattr(self.request, "_body_future", None)
        if self._finished or body is None or body.done():
            return
        self.log.info(
            "Request body from %s not received within %gs: answered 408",
            self.client_address,
            timeout,
        )
        error = ApiError(408, f"Request body not received within {timeout:g} seconds")
        self.send_error(408, exc_info=(type(error), error, None))  # the connection then closes

    async def _drain_body(self, limit: int | None = None) -> None:
        """Read a small declared body before answering an error from prepare().

        With a streamed body, Tornado closes the connection when a handler
        finishes before the body was read; a keep-alive client (requests, a
        browser) would then see its next request on that connection reset. Bodies
        over ``limit`` (the request's body limit unless less is given) or of unknown
        length are not waited for, nor is a body that takes over DRAIN_TIMEOUT
        seconds: then the answer comes at once and the connection is closed.
        """
        declared = self.request.headers.get("Content-Length", "")
        if not declared and "Transfer-Encoding" not in self.request.headers:
            declared = "0"  # no body at all (a GET): finish reading it, or the connection closes
        limit = self._body_limit if limit is None else min(limit, self._body_limit)
        future = getattr(self, "_prepared_future", None)
        if (
            not declared.isdigit()
            or not 0 <= int(declared) <= limit
            or future is None
            or future.done()
        ):
            return
        future.set_result(None)  # let Tornado read the body while we wait
        with contextlib.suppress(Exception):
            body = self.request._body_future
            await asyncio.wait_for(asyncio.shield(body), DRAIN_TIMEOUT)

    async def _prepare(self) -> None:
        method = self.request.method or "GET"
        if method == "OPTIONS":
            # Read the (empty) body first, as for an error from here: a handler finished
            # before its body was read has Tornado close the connection, and the client's
            # next request on it (a preflight is followed by the real one) is reset.
            await self._drain_body()
            if self._prepared_future is not None and self._prepared_future.done():
                self._prepared_future = None  # Tornado would resolve it a second time
            self._answer_options()
            return
        bad = getattr(self, "_undecodable_path_argument", None)
        if bad is not None:
            raise ApiError(400, f"{bad}: invalid UTF-8 in the URL")
        if self.origin_verdict() == "disallowed" and method not in SAFE_METHODS:
            raise ApiError(403, ORIGIN_NOT_ALLOWED)
        declared = self.request.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self._body_limit:
            raise self._too_large()
        # Jupyter's request log line shows remote_ip: make it the address we believe.
        self.request.remote_ip = self.client_address
        self._ignore_cross_site_query_token()
        await super().prepare()
        if self.current_user is None and not self._method_allows_anonymous():
            # Now, while the body is still unread: a request without valid credentials
            # is answered at once, whatever body it announced.
            raise self._unauthenticated()

    def _ignore_cross_site_query_token(self) -> None:
        """A ``?token=`` on a request another site's page made is not the user's.

        An ``<img src=".../providers?token=x">`` on any web page would otherwise be a
        failed guess from the user's own address, and ten of them a lock-out. Such a
        request cannot carry an Authorization header (that needs a CORS preflight, which
        other origins fail), so its only credential is the URL's: it is dropped, the
        request is unauthenticated and counts as nothing. Browsers name the requesting
        site in ``Sec-Fetch-Site`` and, for CORS and form requests, ``Origin``.
        """
        if "token" not in self.request.query_arguments:
            return
        verdict = self.origin_verdict()
        site = (self.request.headers.get("Sec-Fetch-Site") or "").strip().lower()
        if verdict == "disallowed" or (
            verdict != "allowed" and site not in ("", "same-origin", "none")
        ):
            self.request.query_arguments.pop("token", None)
            self.request.arguments.pop("token", None)

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        """Tornado answers bad UTF-8 with a 400 that quotes the bytes sent, and for path
        arguments before prepare(), so a request body is left unread and the connection
        reset. Here the answer names the argument only, and for a path argument comes
        from prepare(), which reads a small body first."""
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            if not hasattr(self, "_body"):  # a path argument: prepare() has not run yet
                self._undecodable_path_argument = name or "path"
                return ""
            raise ApiError(400, f"{name or 'argument'}: invalid UTF-8") from None

    def _too_large(self) -> ApiError:
        return ApiError(413, f"Request body too large (limit {self._body_limit} bytes)")

    def data_received(self, chunk: bytes) -> None:
        if self._finished:
            return
        if len(self._body) + len(chunk) > self._body_limit:
            # A body without (or lying about) Content-Length: answer now; Tornado
            # closes the connection after the response instead of reading on.
            error = self._too_large()
            self.send_error(413, exc_info=(type(error), error, None))
            return
        self._body.extend(chunk)

    # -- authentication ----------------------------------------------------------

    def _unauthenticated(self) -> ApiError:
        if self.identity_provider.get_token(self):
            return self.wrong_token("Invalid authentication credentials")
        return ApiError(401, "Authentication required", headers=WWW_AUTHENTICATE)

    def wrong_token(self, detail: str) -> ApiError:
        """The answer to a token that did not match: a guess.

        401, counted against the client's address; while the address is blocked, 429
        with ``Retry-After`` and not counted again. Only guesses are ever refused this
        way: a valid token is accepted from a blocked address too, so no one (a web
        page, another process on the same host) can lock the user out. Computed once
        per request, however often it is asked.
        """
        answer: ApiError | None = getattr(self, "_wrong_token_answer", None)
        if answer is not None:
            return answer
        limiter, address = self.auth_limiter, self.client_address
        retry_after = limiter.retry_after(address) if limiter is not None else None
        if retry_after is not None:
            answer = ApiError(429, TOO_MANY_FAILURES, headers={"Retry-After": str(retry_after)})
        else:
            self.audit_auth("failure")
            if limiter is not None and limiter.record_failure(address):
                # Logged once per block; never with the offered token.
                self.log.warning(
                    "Blocking %s for %ss after %s failed authentication attempts",
                    address,
                    int(limiter.window),
                    limiter.limit,
                )
                self.audit_auth("blocked", retry_after=int(limiter.window))
            answer = ApiError(401, detail, headers=WWW_AUTHENTICATE)
        self._wrong_token_answer = answer
        return answer

    def get_login_url(self) -> str:
        # tornado's @web.authenticated asks for the login page when nobody is
        # logged in; an API answers 401 instead of redirecting.
        raise self._unauthenticated()

    def check_xsrf_cookie(self) -> None:
        # Jupyter checks XSRF before authentication, which would answer a write
        # without credentials with 403; missing credentials are a 401.
        if hasattr(self, "_jupyter_current_user") and self._jupyter_current_user is None:
            if not self._method_allows_anonymous():
                raise self._unauthenticated()
            return None
        return super().check_xsrf_cookie()

    def _method_allows_anonymous(self) -> bool:
        method = getattr(self, (self.request.method or "get").lower(), None)
        return bool(getattr(method, "__allow_unauthenticated", False))

    # -- audit -------------------------------------------------------------------

    def audit(self, kind: str, **data: Any) -> None:
        """Record an audit event about this request (who, from where, what)."""
        user = self.current_user
        self.ext.audit.emit(
            kind,
            user=getattr(user, "username", None),
            owner=self.owner,
            client=self.client_address,
            **data,
        )

    def audit_auth(self, action: str, **data: Any) -> None:
        audit = getattr(getattr(self, "extensionapp", None), "audit", None)
        if audit is not None:
            audit.emit(
                "auth",
                action=action,
                client=self.client_address,
                method=self.request.method,
                path=self.request.path,
                **data,
            )

    @property
    def owner(self) -> str:
        """Whose rows this request may see (see OpenNotebookApp.owner_for)."""
        return self.ext.owner_for(self.current_user)

    # -- errors ----------------------------------------------------------------

    def compute_etag(self) -> str | None:
        # Responses are Cache-Control: no-store; hashing every body (5 MB for a
        # list of 10,000 credentials) for an ETag no cache keeps is wasted work.
        return None

    def finish(self, *args: Any, **kwargs: Any) -> Any:
        if not self._headers_written:
            # W3C Server Timing: the time this server spent on the request, as
            # browsers' developer tools show it (and bench/ reads it).
            self.set_header("Server-Timing", f"app;dur={self.request.request_time() * 1e3:.2f}")
        return super().finish(*args, **kwargs)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        body: dict[str, Any]
        if isinstance(exc, ApiError):
            body = {"detail": exc.detail, **exc.extra}
            for name, value in exc.headers.items():
                self.set_header(name, value)
        elif isinstance(exc, web.HTTPError):
            detail = responses.get(status_code, "Error")
            if exc.log_message:
                try:
                    detail = exc.log_message % exc.args if exc.args else exc.log_message
                except (TypeError, ValueError):
                    detail = exc.log_message
            body = {"detail": detail}
        elif exc is None and status_code < 500:
            body = {"detail": responses.get(status_code, "Error")}
        else:
            status_code = 500
            self.set_status(500)
            body = {"detail": INTERNAL_ERROR}
        if status_code == 401:
            self.set_header("WWW-Authenticate", "Bearer")
        elif status_code == 405:  # RFC 9110: a 405 names the methods the resource supports
            self.set_header("Allow", ", ".join([*self.allowed_methods(), "OPTIONS"]))
        self.finish(json.dumps(body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        # Tornado's version prints the request (URI with any ?token=) and the
        # error's message; we log nothing for expected errors (jupyter's
        # log_request logs the status line) and the traceback, without the
        # request, for unexpected ones.
        if isinstance(value, web.HTTPError):
            return
        self.log.error(
            "Unhandled error in %s %s",
            self.request.method,
            self.request.path,
            exc_info=(typ, value, tb),
        )

    # -- helpers for subclasses --------------------------------------------------

    @property
    def body(self) -> bytes:
        return bytes(self._body)

    def read_json(self) -> Any:
        """The request body as JSON, or 400 when it is not JSON this server takes (see
        ``jsontext``: too deep, lone surrogates, NaN)."""
        body = self.body
        if not body.strip():
            raise ApiError(400, "Request body is empty; expected JSON")
        try:
            return jsontext.loads(body)
        except jsontext.UnacceptableJSON as e:
            reason = "" if str(e) == jsontext.NOT_JSON else f": {e}"
            raise ApiError(400, f"Invalid JSON in request body{reason}") from None

    def query_int(
        self, name: str, *, default: int | None = None, minimum: int = 0, maximum: int = 100_000
    ) -> int | None:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or not minimum <= value <= maximum:
            message = f"must be an integer between {minimum} and {maximum}"
            raise ApiError(
                422, f"{name}: {message}", extra={"errors": [{"field": name, "message": message}]}
            )
        return value

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a (blocking) store call in the extension's thread pool.

        Domain errors come back as the matching HTTP error.
        """
        try:
            return await IOLoop.current().run_in_executor(
                self.ext.executor, functools.partial(fn, *args, **kwargs)
            )
        except Exception as e:
            raise self._api_error(e) from None

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A read-only store call: inline on SQLite, where WAL readers never wait for a
        lock and a query takes well under a millisecond (the hop to a worker thread
        costs more than the query); in the thread pool on other databases."""
        if not self.ext.inline_reads:
            return await self.call(fn, *args, **kwargs)
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            raise self._api_error(e) from None

    def _api_error(self, exc: Exception) -> Exception:
        """The HTTP error for an exception from a store call (``exc`` itself if unexpected)."""
        api_error = api_error_for(exc)
        if api_error is not None:
            return api_error
        if database_unavailable(exc):
            self.log.warning(
                "Database unavailable (%s %s): %s",
                self.request.method,
                self.request.path,
                describe_database_error(exc),
            )
            return ApiError(
                503, DATABASE_UNAVAILABLE, headers={"Retry-After": str(DATABASE_RETRY_AFTER)}
            )
        return exc

    def send_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(dump_json(data))


def dump_json(data: Any) -> bytes:
    """JSON bytes: orjson (a list of 10,000 credentials in milliseconds, not tens of them);
    the standard library for what orjson refuses (integers past 64 bits)."""
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:
        return json.dumps(data).encode()


class NotFoundHandler(OpenNotebookHandler):
    """Any path under ``open-notebook/api/`` that no route matches: JSON 404."""

    def _not_found(self, *args: Any) -> None:
        raise ApiError(404, "Not Found")

    # One decoration per method: @authorized remembers the action of its first call.
    get = web.authenticated(authorized(_not_found))
    post = web.authenticated(authorized(_not_found))
    put = web.authenticated(authorized(_not_found))
    delete = web.authenticated(authorized(_not_found))
    patch = web.authenticated(authorized(_not_found))
