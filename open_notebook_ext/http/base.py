"""The one base class every Open Notebook API handler derives from.

With its mixins (``cors.OriginMixin``, ``auth.AuthMixin``, ``body.BodyMixin``) and
``errors``, it owns what must be the same on every response, errors included:

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

import functools
import json
from collections.abc import Callable
from http.client import responses
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from jupyter_server.auth.decorator import authorized
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.ioloop import IOLoop

# Re-exported: handlers and the app import these from here.
from open_notebook_ext.http import compat
from open_notebook_ext.http.auth import AuthMixin
from open_notebook_ext.http.body import UNAUTHENTICATED_DRAIN_BYTES, BodyMixin
from open_notebook_ext.http.cors import ORIGIN_NOT_ALLOWED as ORIGIN_NOT_ALLOWED
from open_notebook_ext.http.errors import (
    DATABASE_RETRY_AFTER,
    DATABASE_UNAVAILABLE,
    INTERNAL_ERROR,
    ApiError,
    api_error_for,
    database_unavailable,
    describe_database_error,
    field_error,
)
from open_notebook_ext.security.origin import SAFE_METHODS
from open_notebook_ext.services import SERVICES_SETTING, Services
from open_notebook_ext.vault.membership import groups_of

if TYPE_CHECKING:
    from open_notebook_ext.app import OpenNotebookApp

T = TypeVar("T")

AUTH_RESOURCE = "open_notebook"


@web.stream_request_body
class OpenNotebookHandler(ExtensionHandlerMixin, AuthMixin, BodyMixin):
    """Base handler: origin policy, auth, JSON in and out, errors in one place."""

    auth_resource = AUTH_RESOURCE

    @property
    def services(self) -> Services:
        """The stores and long-lived objects of this server (services.py)."""
        services: Services = self.settings[SERVICES_SETTING]  # app.py puts it there
        return services

    @property
    def ext(self) -> OpenNotebookApp:
        return self.extensionapp  # type: ignore[return-value]  # jupyter_server types extensionapp as ExtensionApp; ours is always OpenNotebookApp

    # -- request flow --------------------------------------------------------------

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

    async def _prepare(self) -> None:
        method = self.request.method or "GET"
        if method == "OPTIONS":
            # Read the (empty) body first, as for an error from here: a handler finished
            # before its body was read has Tornado close the connection, and the client's
            # next request on it (a preflight is followed by the real one) is reset.
            await self._drain_body()
            prepared = compat.prepared_future(self)
            if prepared is not None and prepared.done():
                compat.forget_prepared_future(self)  # Tornado would resolve it a second time
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
            await self.judge_failure()
            raise self._unauthenticated()

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

    # -- audit -------------------------------------------------------------------

    def audit(self, kind: str, **data: Any) -> None:
        """Record an audit event about this request (who, from where, what)."""
        user = self.current_user
        self.services.audit.emit(
            kind,
            user=getattr(user, "username", None),
            owner=self.owner,
            client=self.client_address,
            **data,
        )

    @property
    def owner(self) -> str:
        """Whose rows this request may see (see OpenNotebookApp.owner_for)."""
        return self.ext.owner_for(self.current_user)

    @property
    def groups(self) -> tuple[str, ...]:
        """The hub groups of this request's user, whose shared credentials they may use
        (service mode; none elsewhere: ``vault/membership.py``)."""
        return groups_of(self.current_user)

    # -- errors ----------------------------------------------------------------

    def compute_etag(self) -> str | None:
        # Responses are Cache-Control: no-store; hashing every body (5 MB for a
        # list of 10,000 credentials) for an ETag no cache keeps is wasted work.
        return None

    def finish(self, *args: Any, **kwargs: Any) -> Any:
        if not compat.headers_written(self):
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
            raise field_error(name, message)
        return value

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a (blocking) store call in the extension's thread pool.

        Domain errors come back as the matching HTTP error.
        """
        try:
            return await IOLoop.current().run_in_executor(
                self.services.executor, functools.partial(fn, *args, **kwargs)
            )
        except Exception as e:
            raise self._api_error(e) from None

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A read-only store call: inline on SQLite, where WAL readers never wait for a
        lock and a query takes well under a millisecond (the hop to a worker thread
        costs more than the query); in the thread pool on other databases."""
        if not self.services.inline_reads:
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
        self.send_json_bytes(dump_json(data), status)

    def send_json_bytes(self, body: bytes, status: int = 200) -> None:
        """A body that is JSON already (a store made it: ``CredentialStore.list_json``)."""
        self.set_status(status)
        self.finish(body)


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
