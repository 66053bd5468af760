"""Domain errors raised by the stores; the HTTP layer maps each to one status code.

Messages are written for the user and never contain a secret value.
"""

from __future__ import annotations


class OpenNotebookError(Exception):
    """Base class: ``detail`` is safe to show to the client."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(OpenNotebookError):
    """The resource does not exist for this user."""


class Conflict(OpenNotebookError):
    """The request collides with existing data (a duplicate name); ``field`` names the
    field at fault, when there is one, so a form can show the message beside it."""

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


class BadRequest(OpenNotebookError):
    """The request cannot be processed as sent (400)."""


class UpstreamError(OpenNotebookError):
    """A server we had to ask on the client's behalf failed (502): a link we fetch."""


class Forbidden(OpenNotebookError):
    """Authenticated, but this may not be done (e.g. a notebook without a grant)."""


class Unprocessable(OpenNotebookError):
    """Well-formed, but cannot be done with this data (e.g. an undecryptable key)."""


class InvalidInput(OpenNotebookError):
    """Validation failed; ``errors`` lists each field and what is wrong with it."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__(
            "; ".join(
                f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors
            )
        )


class ConfigError(Exception):
    """The extension's configuration cannot work; start-up stops with this message."""
