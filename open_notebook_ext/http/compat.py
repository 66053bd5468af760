"""Every private Tornado, Jupyter Server and jupyter_client attribute the package touches.

One small function per attribute, and nowhere else in the package reads or writes one
(``tests/unit/test_compat.py`` checks that, and pins what each attribute means upstream:
a release that renames or repurposes one fails a test there, not a user's request).
Nothing here imports from the package.
"""

from __future__ import annotations

from asyncio import Future
from typing import Any, TypeVar

from jupyter_server.base.handlers import JupyterHandler
from tornado import httputil, web

H = TypeVar("H", bound=JupyterHandler)

# -- Tornado: RequestHandler ------------------------------------------------------


def headers_written(handler: web.RequestHandler) -> bool:
    """Whether the response's status line and headers went out (``_headers_written``)."""
    return bool(handler._headers_written)


def finished(handler: web.RequestHandler) -> bool:
    """Whether ``finish()`` ran, for an answer or an error (``_finished``)."""
    return bool(handler._finished)


def response_header_names(handler: web.RequestHandler) -> list[str]:
    """The names of the headers set on the response so far (``_headers``)."""
    return list(handler._headers)


def prepared_future(handler: web.RequestHandler) -> Future[None] | None:
    """What Tornado waits on, for a ``@stream_request_body`` handler, before it reads the
    body (``_prepared_future``; resolved by Tornado once ``prepare()`` returns)."""
    return getattr(handler, "_prepared_future", None)


def forget_prepared_future(handler: web.RequestHandler) -> None:
    """Tell Tornado the body may already be read: it resolves ``_prepared_future`` after
    ``prepare()`` unless it is None (it would resolve a done future a second time)."""
    handler._prepared_future = None


# -- Tornado: the request ----------------------------------------------------------


def body_future(request: httputil.HTTPServerRequest) -> Future[None] | None:
    """Done when a streamed request body has been read in full (``_body_future``)."""
    return getattr(request, "_body_future", None)


def original_peer(context: Any) -> tuple[Any, Any]:
    """(address, scheme) of the connection itself, before ``xheaders=True`` rewrote the
    request from ``X-Real-Ip`` / ``X-Forwarded-*`` (the connection context's
    ``_orig_remote_ip`` and ``_orig_protocol``); None for what it does not have."""
    return getattr(context, "_orig_remote_ip", None), getattr(context, "_orig_protocol", None)


# -- Jupyter Server ------------------------------------------------------------------


def jupyter_found_no_user(handler: web.RequestHandler) -> bool:
    """True once Jupyter's ``prepare()`` authenticated the request and found nobody
    (``_jupyter_current_user`` is None); False before that, or with a user."""
    return hasattr(handler, "_jupyter_current_user") and handler._jupyter_current_user is None


def allows_unauthenticated(method: Any) -> bool:
    """Whether a handler method carries ``@allow_unauthenticated`` (the marker attribute
    ``__allow_unauthenticated`` it sets)."""
    return bool(getattr(method, "__allow_unauthenticated", False))


def streams_body(cls: type) -> bool:
    """Whether a handler class reads its body as a stream (``@web.stream_request_body``
    sets ``_stream_request_body``; Tornado reads it from the registered class)."""
    return bool(getattr(cls, "_stream_request_body", False))


def untracked(cls: type[H]) -> type[H]:
    """Class decorator: requests to this handler are not activity (``_track_activity``;
    Jupyter's idle culling still sees the server as idle)."""
    cls._track_activity = False  # type: ignore[attr-defined]  # set on JupyterHandler's class body, which mypy does not see through type[H]
    return cls


def has_os_paths(contents_manager: Any) -> bool:
    """Whether the contents manager keeps files on the local disk (the FileContentsManager
    family: it has ``_get_os_path``)."""
    return callable(getattr(contents_manager, "_get_os_path", None))


def os_path(contents_manager: Any, api_path: str) -> str:
    """The local file an API path stands for (``_get_os_path``; raises for a path
    outside the root)."""
    return str(contents_manager._get_os_path(api_path))


def jupyter_token_default(provider: Any, cls: type[Any]) -> str:
    """The token Jupyter's ``IdentityProvider`` would default to, from the class after
    ``cls`` in ``provider``'s MRO (its ``_token_default``, as ``super()`` in ``cls`` would
    call it: the environment, a token file, or a generated one)."""
    return str(super(cls, provider)._token_default())


# -- jupyter_client -------------------------------------------------------------------


def provisioner_available(factory: Any, name: str) -> bool:
    """Whether a kernel provisioner of that name is installed (the factory's
    ``_check_availability``)."""
    return bool(factory._check_availability(name))
