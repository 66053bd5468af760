"""What a hub user may do in service mode: our API, and nothing else of Jupyter's.

The service is a whole Jupyter server (``hub/service.py``): without this authorizer,
any user the hub lets in could start a kernel in the service's process
(``/api/kernels``), or read its files (``/api/contents``, ``/files``), and with them
the encryption key and the database password. Every Jupyter handler asks the
authorizer about its resource (``kernels``, ``contents``, ``sessions``, ``api``, ...);
only Open Notebook's (``open_notebook``, ``http/base.AUTH_RESOURCE``) is allowed.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import User

from open_notebook_ext.http.base import AUTH_RESOURCE


class ServiceAuthorizer(Authorizer):
    """Allow Open Notebook's routes to every identified hub user; refuse all others."""

    def is_authorized(self, handler: Any, user: User, action: str, resource: str) -> bool:
        allowed = resource == AUTH_RESOURCE
        if not allowed:
            self.log.warning(
                "Refused %s %s to %s: only the Open Notebook API is served here",
                action,
                resource,
                user.username,
            )
        return allowed
