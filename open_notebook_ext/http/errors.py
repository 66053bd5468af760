"""The API's HTTP errors: ``ApiError`` (a status and a ``detail`` shown as is), the
status each domain error of ``open_notebook_ext.errors`` stands for, and how a database
that cannot be reached is told from a bug."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import exc as sa_exc
from tornado import web

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
from open_notebook_ext.vault.keyring import EncryptionNotConfigured

INTERNAL_ERROR = "Internal server error"
DATABASE_UNAVAILABLE = "Database unavailable"
DATABASE_RETRY_AFTER = 5
_SQLITE_UNAVAILABLE = ("locked", "busy", "unable to open", "disk I/O")


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


def field_error(field: str, message: str) -> ApiError:
    """The 422 for one bad field (``field`` "" for the body as a whole): the same body
    as a model's validation errors, ``{"detail": "<field>: <message>", "errors": [...]}``."""
    invalid = InvalidInput([{"field": field, "message": message}])
    return ApiError(422, invalid.detail, extra={"errors": invalid.errors})


def api_error_for(exc: Exception) -> ApiError | None:
    """The HTTP error a domain error stands for, or None if it is not one of ours."""
    if isinstance(exc, InvalidInput):
        return ApiError(422, exc.detail, extra={"errors": list(exc.errors)})
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
