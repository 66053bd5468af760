"""Colab's ``google.colab.userdata``, answered from Open Notebook's credentials.

    >>> from open_notebook_ext import userdata   # was: from google.colab import userdata
    >>> key = userdata.get("Work")

``get`` reads the credential of that name through ``open_notebook_ext.secrets`` (the
notebook must be granted it) and raises what Colab raises, with Colab's messages:
``SecretNotFoundError`` when there is none, ``NotebookAccessError`` when this notebook
was not granted it (as in Colab, that tells the name exists), ``TimeoutException``
when the server cannot be reached, ``ValueError`` for an empty name. One difference:
names may contain spaces here (Colab's cannot, so no Colab notebook asks for one).
The exceptions also derive from the matching ``secrets`` ones, so ``except
secrets.SecretError`` catches them too. Standard library only (it runs in kernels).
"""

from __future__ import annotations

from open_notebook_ext import secrets

__all__ = ["Error", "NotebookAccessError", "SecretNotFoundError", "TimeoutException", "get"]


class Error(Exception):
    """Base class of the errors below but one, as ``google.colab.errors.Error``."""


class NotebookAccessError(secrets.AccessDenied):
    # Colab's derives from Exception directly, not from errors.Error
    def __init__(self, key: str) -> None:
        super().__init__(f"Notebook does not have access to secret {key}")


class SecretNotFoundError(Error, secrets.SecretNotFound):
    def __init__(self, key: str) -> None:
        super().__init__(f"Secret {key} does not exist.")


class TimeoutException(Error, secrets.ServerUnreachable):
    def __init__(self, key: str) -> None:
        super().__init__(
            f"Requesting secret {key} timed out. Secrets can only be fetched when"
            " running from the Colab UI."
        )


def get(key: str) -> str:
    """The API key of the credential called ``key``."""
    if not key or not isinstance(key, str):
        raise ValueError("Please enter a valid secret name")
    try:
        return secrets.get(key)
    except secrets.SecretNotFound:
        raise SecretNotFoundError(key) from None
    except secrets.AccessDenied:
        raise NotebookAccessError(key) from None
    except secrets.ServerUnreachable:
        raise TimeoutException(key) from None
