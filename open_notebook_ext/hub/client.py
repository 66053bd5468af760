"""Client mode: a user's single-user server whose store is the hub-managed service.

With ``OpenNotebookApp.hub_service_url`` set (``OPEN_NOTEBOOK_HUB_SERVICE_URL``), the
extension in a user's server keeps no store of its own: no database, no encryption key,
no key file, no audit log. Its routes under ``{base_url}open-notebook/api/`` forward each
request to the service (``hub/forward.py``) with this server's hub token
(``JUPYTERHUB_API_TOKEN``, owned by the user), which the service identifies as the user
(``hub/identity.py``). What stays here is what is in memory and per server: Jupyter's
authentication of the request, the origin policy, the kernels' tokens (issued and checked
here; a kernel never holds the hub token) and the body limits.

Start-up refuses a database URL or an encryption key configured for such a server
(:func:`check`): nobody should put them where every user's code runs.

This module imports neither jupyterhub nor SQLAlchemy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from open_notebook_ext.errors import ConfigError
from open_notebook_ext.proxy.pool import ConnectionPool
from open_notebook_ext.services import RequestPolicy
from open_notebook_ext.vault.keyenv import KEY_ENV, KEY_FILE_ENV, KEYS_ENV, KEYS_FILE_ENV

if TYPE_CHECKING:
    from open_notebook_ext.hub.redaction import ServiceKeys
    from open_notebook_ext.kernels.tokens import KernelTokens

HUB_TOKEN_ENV = "JUPYTERHUB_API_TOKEN"  # noqa: S105 - a variable name
# What a client-mode server must not be given (environment variables, then settings).
STORE_ENV = ("OPEN_NOTEBOOK_DB_URL", "OPEN_NOTEBOOK_DB_URL_FILE")
KEY_ENVS = (KEY_ENV, KEY_FILE_ENV, KEYS_ENV, KEYS_FILE_ENV)
STORE_SETTINGS = ("db_url", "encryption_key", "encryption_keys")
# Kept out of kernels in client mode: the server's hub token reads every key of the
# user at the service, past the notebooks' grants (JPY_API_TOKEN: its old name).
KERNEL_STRIP = (HUB_TOKEN_ENV, "JPY_API_TOKEN")
KEEP_ALIVE_SECONDS = 30.0  # an idle connection to the service is kept this long


@dataclass(frozen=True)
class ClientServices:
    """What the forwarding handler needs, published where the stores would be
    (``services.SERVICES_SETTING``): the request policy, the kernels' tokens, and
    where and how to reach the service."""

    requests: RequestPolicy
    kernel_tokens: KernelTokens
    api_url: str  # the service's ``.../open-notebook/api/``
    hub_token: str
    request_timeout: float
    proxy_body_limit: int
    # kept-alive connections to the service (hub/forward.py), this server's own
    pool: ConnectionPool = field(default_factory=lambda: ConnectionPool(KEEP_ALIVE_SECONDS))


def api_url(service_url: str) -> str:
    """The service's API under its base URL (``hub_service_url``)."""
    parts = urlsplit(service_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            "OpenNotebookApp.hub_service_url must be the service's http(s) URL, e.g. "
            f"http://127.0.0.1:10101/services/open-notebook/, not {service_url!r}"
        )
    if parts.query or parts.fragment:
        raise ConfigError("OpenNotebookApp.hub_service_url must not have a query or fragment")
    return service_url.rstrip("/") + "/open-notebook/api/"


def check(configured: Mapping[str, Any], env: Mapping[str, str]) -> str:
    """The hub token to use, or ConfigError when this server also has a store or a key
    configured (``configured``: the ``c.OpenNotebookApp`` settings given explicitly)."""
    given = [name for name in (*STORE_ENV, *KEY_ENVS) if env.get(name)]
    given += [f"OpenNotebookApp.{name}" for name in STORE_SETTINGS if name in configured]
    if given:
        raise ConfigError(
            "client mode (OpenNotebookApp.hub_service_url is set) keeps no database and "
            f"no key in this server, but {', '.join(given)} is configured here: remove it "
            "(the database and the key belong to the hub-managed service alone)"
        )
    token = env.get(HUB_TOKEN_ENV, "")
    if not token:
        raise ConfigError(
            f"client mode needs {HUB_TOKEN_ENV} (set by JupyterHub in the servers it spawns)"
        )
    return token


def prepare(app: Any) -> bool:
    """Whether ``app`` (an OpenNotebookApp, first thing at start-up) runs in client mode;
    if so, checked (before any setting reads a database URL file) and its kernels will
    not get the hub token."""
    if not app.hub_service_url:
        return False
    check(app.config.get("OpenNotebookApp", {}), os.environ)
    api_url(app.hub_service_url)
    app.kernel_env_strip = [*app.kernel_env_strip, *KERNEL_STRIP]
    return True


def start(app: Any) -> ClientServices:
    """Client mode's services for ``app``, once its request policy and kernel tokens
    exist (``prepare`` has checked the configuration)."""
    token = check(app.config.get("OpenNotebookApp", {}), os.environ)
    url = api_url(app.hub_service_url)
    from open_notebook_ext.proxy.config import ProviderProxy

    app.log.info("Open Notebook client mode: the API is forwarded to %s", url)
    return ClientServices(
        requests=app.requests,
        kernel_tokens=app.kernel_tokens,
        api_url=url,
        hub_token=token,
        request_timeout=float(app.hub_service_timeout),
        proxy_body_limit=int(ProviderProxy(parent=app).max_request_bytes),
    )


def redaction_keys(app: Any) -> ServiceKeys:
    """Where the output redaction of ``app`` (client mode) gets the user's keys."""
    from open_notebook_ext.hub.redaction import ServiceKeys

    token = check(app.config.get("OpenNotebookApp", {}), os.environ)
    return ServiceKeys(api_url(app.hub_service_url), token)


def routes() -> list[tuple[str, type]]:
    """Client mode's routes: every API path forwarded (``hub/forward.py``)."""
    from open_notebook_ext.http.routes import API
    from open_notebook_ext.hub.forward import ForwardHandler

    return [(rf"{API}(?:/.*)?", ForwardHandler)]
