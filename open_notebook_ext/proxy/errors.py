"""The proxy's own error bodies, in every provider SDK's shape at once.

An answer the proxy gives itself (401, 403, 429, 502, ...) carries ``detail`` as every
route does, and what OpenAI's, Anthropic's and Google's SDKs read, so they raise their
usual error classes with our message.
"""

from __future__ import annotations

from typing import Any

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    502: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
}
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def provider_error(status: int, message: str) -> dict[str, Any]:
    """An error body every SDK reads: ours (``detail``), OpenAI's (``error.message``,
    ``type``, ``code``), Anthropic's (``type: error``, ``error.type``) and Google's
    (``error.code``, ``error.status``) at once."""
    kind = _ERROR_TYPES.get(status, "api_error")
    return {
        "detail": message,
        "type": "error",
        "error": {
            "message": message,
            "type": kind,
            "code": kind,
            "param": None,
            "status": _GOOGLE_STATUS.get(status, "UNKNOWN"),
        },
    }
