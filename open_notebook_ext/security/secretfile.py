"""Secrets from files (Docker and Kubernetes secrets): one way to read them, one way to fail.

A secret file that is configured but missing, unreadable, not UTF-8 text, empty
or only whitespace is an error, never an empty secret. That matters most for
the Jupyter token: Jupyter reads an empty token as "authentication disabled".
Messages name the variable and the path, never the value (nor its length).
"""

from __future__ import annotations

from pathlib import Path


class SecretError(ValueError):
    """A configured secret cannot be used; the message says why without showing it."""


def check_length(value: str, what: str, min_length: int = 1) -> str:
    """``value`` without surrounding whitespace; SecretError when that is too short."""
    text = value.strip()
    if not text:
        raise SecretError(f"{what} is empty" if not value else f"{what} holds only whitespace")
    if len(text) < min_length:
        raise SecretError(f"{what} is shorter than {min_length} characters")
    return text


def read_secret_file(path: str, what: str, *, min_length: int = 1) -> str:
    """The file's text without surrounding whitespace (a trailing newline included).

    ``what`` names the setting that points at the file (``JUPYTER_TOKEN_FILE``).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise SecretError(f"{what} names {path!r}, which cannot be read: {reason}") from None
    except UnicodeDecodeError:
        raise SecretError(f"{what} names {path!r}, which is not UTF-8 text") from None
    # "... names '/run/secrets/x', which is empty" (or "which is shorter than ...")
    return check_length(text, f"{what} names {path!r}, which", min_length)
