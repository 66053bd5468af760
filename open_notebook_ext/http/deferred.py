"""Routes registered before their handlers are imported.

Jupyter asks for an extension's handler classes while it loads extensions, before
it listens. Ours are a stand-in per route (``DeferredHandler``, the route's
``"module:Class"`` in its settings) so that the handler modules, SQLAlchemy and
pydantic are imported with the database opening, after start-up
(``OpenNotebookApp.finish_start``). Tornado makes a handler object per request; the
stand-in's ``__new__`` makes the route's real handler instead, once that start-up
work has finished, waiting for it when a request comes first. From then on the
request is the real handler's, as if it had been registered itself.

Every handler of ours reads its body as a stream (``@web.stream_request_body``,
from ``OpenNotebookHandler``), and so does the stand-in: Tornado decides how to read
a body from the registered class, before the handler exists.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import httputil, web

from open_notebook_ext.http import compat, routes

TARGET = "handler"


@web.stream_request_body
class DeferredHandler(ExtensionHandlerMixin, web.RequestHandler):
    """Stands for one route's handler (``handler="module:Class"`` in its settings)."""

    def __new__(  # type: ignore[misc]  # returns the route's handler, not a DeferredHandler
        cls, application: web.Application, request: httputil.HTTPServerRequest, **kwargs: Any
    ) -> web.RequestHandler:
        target = kwargs.pop(TARGET)
        application.settings[kwargs["name"]].wait_started()
        handler = routes.resolve(target)
        if not compat.streams_body(handler):
            raise TypeError(f"{target} does not stream its body, as DeferredHandler does")
        real: web.RequestHandler = handler(application, request, **kwargs)
        return real


def deferred_routes() -> list[tuple[str, type, dict[str, str]]]:
    """Every route of ``routes.TARGETS``, each led to a stand-in for its handler."""
    return [(pattern, DeferredHandler, {TARGET: target}) for pattern, target in routes.TARGETS]
