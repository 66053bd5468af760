"""The one base class every Open Notebook API handler derives from.

It owns what must be the same on every response: JSON errors of the form
``{"detail": "..."}`` (never HTML, never a traceback, never a secret), the
security headers, 401 with ``WWW-Authenticate: Bearer`` for missing or bad
credentials, and running store calls off the event loop. Handlers stay thin:
parse, call a store, write JSON.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from http.client import responses
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.ioloop import IOLoop

from ..errors import BadRequest, Conflict, InvalidInput, NotFound, OpenNotebookError
from ..keyring import EncryptionNotConfigured

if TYPE_CHECKING:
    from ..app import OpenNotebookApp

T = TypeVar("T")

AUTH_RESOURCE = "open_notebook"
INTERNAL_ERROR = "Internal server error"


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
    status = {NotFound: 404, Conflict: 409, BadRequest: 400}.get(type(exc))
    if status is not None and isinstance(exc, OpenNotebookError):
        return ApiError(status, exc.detail)
    return None


class OpenNotebookHandler(ExtensionHandlerMixin, APIHandler):
    """Base handler: JSON in, JSON out, errors in one place."""

    auth_resource = AUTH_RESOURCE

    @property
    def ext(self) -> OpenNotebookApp:
        return self.extensionapp  # type: ignore[return-value]

    # -- headers ---------------------------------------------------------------

    def set_default_headers(self) -> None:
        # Runs again after send_error() clears the headers, so anything set here
        # is on error responses too.
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("X-Content-Type-Options", "nosniff")

    def set_cors_headers(self) -> None:
        # Jupyter echoes any Origin back to token-authenticated requests; our
        # routes answer CORS only through the origin policy, never this way.
        return None

    # -- authentication ----------------------------------------------------------

    def _unauthenticated(self) -> ApiError:
        offered = bool(self.identity_provider.get_token(self))
        detail = "Invalid authentication credentials" if offered else "Authentication required"
        return ApiError(401, detail, headers={"WWW-Authenticate": "Bearer"})

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

    @property
    def owner(self) -> str:
        """Whose rows this request may see (see OpenNotebookApp.owner_for)."""
        return self.ext.owner_for(self.current_user)

    # -- errors ----------------------------------------------------------------

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
        else:
            status_code = 500
            self.set_status(500)
            body = {"detail": INTERNAL_ERROR}
        if status_code == 401:
            self.set_header("WWW-Authenticate", "Bearer")
        self.finish(json.dumps(body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        # Tornado's version prints the request (URI with any ?token=) and the
        # error's message; we log the status alone for expected errors and the
        # traceback, but not the request, for unexpected ones.
        if isinstance(value, web.HTTPError):
            return  # jupyter's log_request already logs the status line
        self.log.error(
            "Unhandled error in %s %s", self.request.method, self.request.path,
            exc_info=(typ, value, tb),
        )

    # -- helpers for subclasses --------------------------------------------------

    def read_json(self) -> Any:
        """The request body as JSON, or 400 when it is not JSON."""
        body = self.request.body
        if not body or not body.strip():
            raise ApiError(400, "Request body is empty; expected JSON")
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "Invalid JSON in request body") from None

    def query_int(self, name: str, *, default: int | None = None, minimum: int = 0,
                  maximum: int = 100_000) -> int | None:
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
                422,
                f"{name}: {message}",
                extra={"errors": [{"field": name, "message": message}]},
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
            api_error = api_error_for(e)
            if api_error is None:
                raise
            raise api_error from None

    def send_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data))


class NotFoundHandler(OpenNotebookHandler):
    """Any path under ``open-notebook/api/`` that no route matches: JSON 404."""

    def _not_found(self, *args: Any) -> None:
        raise ApiError(404, "Not Found")

    get = post = put = delete = patch = head = web.authenticated(_not_found)
