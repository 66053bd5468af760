"""Read API keys from notebook code: ``from open_notebook_ext import secrets``.

    >>> from open_notebook_ext import secrets
    >>> key = secrets.get("Work")                    # by credential name
    >>> key = secrets.get("Work", provider="openai") # when the name is used twice
    >>> secrets.list()                               # names, providers, hints; no keys
    >>> key = await secrets.aget("Work")             # from async code
    >>> secrets.env("Work")                          # OPENAI_API_KEY etc. set (secrets_env.py)
    >>> with secrets.env("Work"): ...                # ... and restored after the block
    >>> p = secrets.proxy("Work")                    # use the key without holding it
    >>> client = OpenAI(base_url=p.base_url, api_key=p.api_key)

In a kernel started by a Jupyter server running open_notebook_ext this needs no
configuration: the server gives each kernel its URL (``OPEN_NOTEBOOK_URL``) and
a token of its own, which can read only the credentials granted to the kernel's
notebook. Python kernels get the token from ``open_notebook_ext.kernel_launch``
inside the kernel process only (not in its environment), so a subprocess of the
kernel (``!python script.py``) has no token: read the key in the notebook and
pass it on, or give the subprocess ``OPEN_NOTEBOOK_KERNEL_TOKEN`` yourself.
Other kernels get ``OPEN_NOTEBOOK_KERNEL_TOKEN`` in their environment. Elsewhere
set ``OPEN_NOTEBOOK_URL`` (the server's base URL) and ``OPEN_NOTEBOOK_TOKEN``
(or ``JUPYTER_TOKEN``).

Standard library only: this module imports nothing of the server.
"""

from __future__ import annotations

import asyncio
import builtins
import http.client
import json
import linecache
import os
import threading
from typing import Any
from urllib.parse import quote, urlsplit

__all__ = [
    "AccessDenied",
    "AuthenticationFailed",
    "DecryptionFailed",
    "ProxyEndpoint",
    "ProxyOnly",
    "SecretError",
    "SecretNotFound",
    "ServerUnreachable",
    "aget",
    "alist",
    "env",
    "get",
    "list",
    "proxy",
]

_API = "open-notebook/api/"
_TIMEOUT = 10.0
# How long get() waits while the JupyterLab page asks whether this notebook may read
# the key (the server holds the call only while a page is open, at most its
# grant_prompt_timeout); sent as "Prefer: wait=N" (RFC 7240).
PROMPT_WAIT = 300.0


class SecretError(Exception):
    """Base class; the message never contains a key or token."""

    def _render_traceback_(self) -> builtins.list[str]:
        """How IPython shows it: the message first, then the lines of the caller's code
        that led here; no frames from inside this module."""
        lines = [f"{type(self).__name__}: {self}"]
        tb = self.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_filename != __file__ and not code.co_filename.startswith("<frozen"):
                source = linecache.getline(code.co_filename, tb.tb_lineno).strip()
                lines.append(
                    f"  line {tb.tb_lineno}: {source}"
                    if source
                    else f"  line {tb.tb_lineno} of {code.co_filename}"
                )
            tb = tb.tb_next
        return lines


class SecretNotFound(SecretError):
    """No credential with that name (or id) for this user."""


class AccessDenied(SecretError):
    """This notebook was not granted the credential (grant it in the Credentials panel)."""


class ProxyOnly(AccessDenied):
    """The credential's key is never handed out (``key_access: proxy``): use ``proxy()``."""


class DecryptionFailed(SecretError):
    """The stored key cannot be decrypted with the server's encryption key."""


class AuthenticationFailed(SecretError):
    """The token was refused (revoked kernel token, wrong server token)."""


class ServerUnreachable(SecretError):
    """The server could not be reached, or nothing tells where it is."""


_local = threading.local()

# This kernel's token, set by open_notebook_ext.kernel_launch (it is not in the
# kernel's environment); kept across importlib.reload of this module.
_kernel_token: str | None = globals().get("_kernel_token")


def _config() -> tuple[str, str]:
    url = os.environ.get("OPEN_NOTEBOOK_URL", "").strip()
    token = (
        _kernel_token
        or os.environ.get("OPEN_NOTEBOOK_KERNEL_TOKEN")
        or os.environ.get("OPEN_NOTEBOOK_TOKEN")
        or os.environ.get("JUPYTER_TOKEN")
        or ""
    ).strip()
    if not url:
        raise ServerUnreachable(
            "OPEN_NOTEBOOK_URL is not set: run this in a kernel started by a Jupyter server "
            "with open_notebook_ext, or set OPEN_NOTEBOOK_URL and OPEN_NOTEBOOK_TOKEN"
        )
    if not token:
        raise AuthenticationFailed(
            "no token: a kernel's token stays in the kernel process, so its subprocesses "
            "have none (read the key in the notebook and pass it on); elsewhere set "
            "OPEN_NOTEBOOK_TOKEN"
        )
    return (url if url.endswith("/") else url + "/"), token


def _connection(url: str) -> tuple[http.client.HTTPConnection, str]:
    """A kept-alive connection per thread and server (loopback round trips stay ~1 ms)."""
    parts = urlsplit(url)
    key = (parts.scheme, parts.netloc)
    cache = getattr(_local, "connections", None)
    if cache is None:
        cache = _local.connections = {}
    conn = cache.get(key)
    if conn is None:
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.hostname or "127.0.0.1", parts.port, timeout=_TIMEOUT)
        cache[key] = conn
    return conn, parts.path or "/"


def _request(method: str, path: str, body: Any = None, wait: float | None = None) -> Any:
    url, token = _config()
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    if wait:
        headers["Prefer"] = f"wait={int(wait)}"
    for attempt in (1, 2):
        conn, base = _connection(url)
        try:
            conn.request(method, base + _API + path, body=data, headers=headers)
            if wait and conn.sock is not None:
                conn.sock.settimeout(_TIMEOUT + wait)  # the page may take its time
            try:
                response = conn.getresponse()
                payload = response.read()
            finally:
                if conn.sock is not None:
                    conn.sock.settimeout(_TIMEOUT)
            break
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            if attempt == 2:
                raise ServerUnreachable(
                    f"cannot reach the Open Notebook API at {url}: {type(e).__name__}"
                ) from None
    try:
        result = json.loads(payload) if payload else None
    except ValueError:
        result = None
    if 200 <= response.status < 300:
        return result
    detail = result.get("detail") if isinstance(result, dict) else None
    detail = str(detail or f"HTTP {response.status}")
    if response.status == 404:
        raise SecretNotFound(detail)
    if response.status == 403:
        if isinstance(result, dict) and result.get("key_access") == "proxy":
            raise ProxyOnly(detail)
        raise AccessDenied(detail)
    if response.status == 401:
        raise AuthenticationFailed(detail)
    if response.status == 422:
        raise DecryptionFailed(detail)
    if response.status == 409:
        raise SecretError(detail)
    raise SecretError(f"the Open Notebook API answered {response.status}: {detail}")


def get(name: str, provider: str | None = None) -> str:
    """The API key of the credential called ``name`` (optionally of ``provider``)."""
    body: dict[str, Any] = {"name": name}
    if provider:
        body["provider"] = provider
    try:
        secret = _request("POST", "secrets/get", body, wait=PROMPT_WAIT)
    except SecretNotFound as e:
        error: SecretError = SecretNotFound(f"no credential called {name!r}: {e}")
    except SecretError as e:
        error = e
    else:
        key = secret.get("api_key") if isinstance(secret, dict) else None
        if not key:
            raise SecretNotFound(f"credential {name!r} has no API key")
        return key
    # raised here, not deep in _request (IPython shows it via _render_traceback_)
    raise error.with_traceback(None) from None


def get_by_id(credential_id: str) -> str:
    """The API key of the credential with this id."""
    secret = _request("POST", f"credentials/{quote(credential_id, safe='')}/secret", {})
    return secret["api_key"]


def list() -> builtins.list[dict[str, Any]]:
    """Metadata of your credentials and whether this notebook may read each (no keys)."""
    return _request("GET", "secrets")


class ProxyEndpoint:
    """Where an SDK sends a credential's calls so that the server adds the key.

    ``base_url`` is this credential's proxy URL, ``api_key`` this kernel's own token
    (never the provider's key: the proxy puts that in), ``provider`` the credential's
    provider. The token is not shown by ``repr()``.
    """

    __slots__ = ("api_key", "base_url", "credential_id", "name", "provider")

    def __init__(
        self, *, base_url: str, api_key: str, provider: str, name: str, credential_id: str
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.provider = provider
        self.name = name
        self.credential_id = credential_id

    def __repr__(self) -> str:
        return (
            f"ProxyEndpoint(name={self.name!r}, provider={self.provider!r}, "
            f"base_url={self.base_url!r})"
        )


def proxy(name: str, provider: str | None = None) -> ProxyEndpoint:
    """The proxy endpoint of the credential called ``name`` (optionally of ``provider``),
    for an SDK: ``OpenAI(base_url=p.base_url, api_key=p.api_key)``,
    ``Anthropic(base_url=p.base_url, api_key=p.api_key)``,
    ``AzureOpenAI(azure_endpoint=p.base_url, api_key=p.api_key, api_version=...)``.

    Works for ``key_access`` "read" and "proxy" alike, and for a credential your hub
    group shares (service mode; your own of the same name comes first). Raises SecretNotFound,
    AccessDenied (this notebook was not granted the credential) or SecretError (a name
    used by several providers, and none given).
    """
    url, token = _config()
    wanted = provider.strip().lower() if provider else None
    found = [
        c
        for c in list()
        if c.get("name") == name.strip() and (wanted is None or c.get("provider") == wanted)
    ]
    if not found:
        raise SecretNotFound("Credential not found")
    # your own credential before one your hub group shares under the same name (as the
    # server looks them up): adding a shared key never breaks a notebook
    found = [c for c in found if not c.get("shared")] or found
    if len(found) > 1:
        providers = ", ".join(sorted(str(c.get("provider")) for c in found))
        raise SecretError(f"Several credentials have this name ({providers}); give a provider")
    credential = found[0]
    if not credential.get("granted", False):
        raise AccessDenied(
            f"This notebook has no access to credential {credential['name']!r}. Grant it in "
            "the Credentials panel (Notebooks with access)."
        )
    return ProxyEndpoint(
        base_url=f"{url}{_API}proxy/{quote(credential['id'], safe=':')}/",
        api_key=token,
        provider=credential["provider"],
        name=credential["name"],
        credential_id=credential["id"],
    )


async def aget(name: str, provider: str | None = None) -> str:
    return await asyncio.to_thread(get, name, provider)


async def alist() -> builtins.list[dict[str, Any]]:
    return await asyncio.to_thread(list)


def env(*names: str, provider: str | None = None) -> Any:
    """Set the environment variables libraries read (``OPENAI_API_KEY``, ...) for these
    granted credentials (all granted ones without a name); a context manager that
    restores the previous values. See ``open_notebook_ext.secrets_env``."""
    import sys

    from .secrets_env import set_env

    return set_env(sys.modules[__name__], names, provider)
