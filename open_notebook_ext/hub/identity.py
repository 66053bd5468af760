"""Who is asking, in service mode: the user JupyterHub names for the request's hub token.

:class:`HubServiceIdentityProvider` replaces Jupyter's token and password login in the
``jupyter open-notebook hub-service`` server (``hub/service.py``). Each request is
identified by the hub token in its ``Authorization`` header (``token <t>`` or
``Bearer <t>``), which jupyterhub's ``HubAuth`` checks against the hub's API
(``GET /hub/api/user``; the answer is cached, ``HubAuth.cache_max_age``). The user must
hold the service's access scope (``access:services!service=<name>``, what
``HubAuth.access_scopes`` holds): a user without it is identified as nobody, and the
provider says why (:meth:`refusal`), so the API answers 403, not 401. Only users are
identified: a service's token (the hub's, another service's) is refused the same way.

There is no other way in: no login form, no cookie, no ``?token=`` in the URL (except
where ``HubAuth`` allows it for websockets), and the Jupyter server's own token
(``JUPYTER_TOKEN``, ``IdentityProvider.token``) is never compared with anything.

The returned user is a :class:`~open_notebook_ext.vault.membership.HubUser`: its
``username`` is the hub username, so rows are owned per hub user
(``OpenNotebookApp.owner_for``); its ``groups`` are the model's ``groups`` (which
``/hub/api/user`` always includes for the token's own user) and ``admin`` says whether
the model's ``scopes`` (the token's) hold :attr:`admin_scope`, the service's custom scope
``custom:<service name>:admin``. Both come from the one answer ``HubAuth`` caches: no
other hub call.
"""

from __future__ import annotations

import os
import re
import weakref
from typing import Any

from jupyter_server.auth.identity import IdentityProvider, User
from jupyterhub.services.auth import HubAuth
from tornado import web
from traitlets import Instance, Unicode, default

from open_notebook_ext.http.errors import ApiError
from open_notebook_ext.vault.membership import HubUser

HUB_UNAVAILABLE = "JupyterHub cannot be reached to check the token; try again shortly"
HUB_RETRY_AFTER = 5
NOT_A_USER = "Only JupyterHub users may use this service (this token is a {kind}'s)"
NO_ACCESS = "This hub token does not grant access to this service ({scopes})"
# JupyterHub's own rule for custom scopes (jupyterhub/scopes.py, _custom_scope_pattern)
CUSTOM_SCOPE = re.compile(r"^custom:[a-z0-9][a-z0-9_\-\*:]+[a-z0-9_\*]$")
DEFAULT_SERVICE_NAME = "open-notebook"


def admin_scope_for(service_name: str) -> str:
    """``custom:<service name>:admin``: the scope that makes a user an admin of the service."""
    return f"custom:{service_name}:admin"


class HubServiceIdentityProvider(IdentityProvider):
    """Identify requests by their JupyterHub token, for the hub-managed service."""

    # The notebooks requests name are in users' servers, not in this server's contents:
    # grants are by path (app.py), and a client-mode server may name a kernel's
    # notebooks (hub/relay.py).
    notebooks_elsewhere = True
    # Replicas of the service share one database: rate limits are counted there
    # (OpenNotebookApp.shared_rate_limits, security/dblimiter.py).
    shared_rate_limits = True

    hub_auth = Instance(
        HubAuth,
        help="""jupyterhub's HubAuth that checks tokens with the hub. It reads its
        settings from the environment a hub-managed service is started with
        (JUPYTERHUB_API_URL, JUPYTERHUB_API_TOKEN, JUPYTERHUB_SERVICE_NAME,
        JUPYTERHUB_OAUTH_ACCESS_SCOPES); configure it as c.HubAuth.*.""",
    )

    admin_scope = Unicode(
        help="""The hub scope whose holders are this service's admins: they manage the
        credentials groups share, the budgets on them and see their usage. Default
        custom:<service name>:admin (JUPYTERHUB_SERVICE_NAME). Declare it in
        c.JupyterHub.custom_scopes and give it to a role; a user's token must carry it
        (a token gets only the scopes its user holds).""",
    ).tag(config=True)

    @default("admin_scope")
    def _admin_scope_default(self) -> str:
        name = os.environ.get("JUPYTERHUB_SERVICE_NAME") or DEFAULT_SERVICE_NAME
        return admin_scope_for(name)

    @default("hub_auth")
    def _hub_auth_default(self) -> HubAuth:
        return HubAuth(parent=self)

    @default("token")
    def _no_server_token(self) -> str:
        # The server's own token is no way in: get_user never compares it.
        self.token_generated = False
        return ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Why a request was identified as nobody although its token was valid.
        self._refused: weakref.WeakKeyDictionary[web.RequestHandler, str] = (
            weakref.WeakKeyDictionary()
        )
        self._identified: weakref.WeakSet[web.RequestHandler] = weakref.WeakSet()
        if self.admin_scope and not CUSTOM_SCOPE.match(self.admin_scope):
            self.log.warning(
                "HubServiceIdentityProvider.admin_scope %r is not a scope JupyterHub can "
                "declare (custom:<lower-case name>:admin): nobody will be an admin; set "
                "c.HubServiceIdentityProvider.admin_scope",
                self.admin_scope,
            )

    def get_token(self, handler: web.RequestHandler) -> str | None:
        """The hub token a request offers (the Authorization header; never a cookie)."""
        return self.hub_auth.get_token(handler, in_cookie=False) or None

    async def get_user(self, handler: web.RequestHandler) -> User | None:
        token = self.get_token(handler)
        if not token:
            return None
        try:
            model = await self.hub_auth.user_for_token(token, sync=False)
        except web.HTTPError as e:  # HubAuth's 500/502: the hub is down or refused us
            if e.status_code < 500:
                raise
            raise ApiError(
                503, HUB_UNAVAILABLE, headers={"Retry-After": str(HUB_RETRY_AFTER)}
            ) from None
        if not model:
            return None  # an unknown, expired or revoked token: a guess (401)
        kind = model.get("kind", "user")
        if kind != "user":
            self._refused[handler] = NOT_A_USER.format(kind=kind)
            return None
        if not self.hub_auth.check_scopes(self.hub_auth.access_scopes, model):
            self._refused[handler] = NO_ACCESS.format(
                scopes=", ".join(sorted(self.hub_auth.access_scopes))
            )
            return None
        self._identified.add(handler)
        name = model["name"]
        groups = tuple(sorted(str(g) for g in model.get("groups") or ()))
        admin = bool(self.admin_scope) and bool(
            self.hub_auth.check_scopes({self.admin_scope}, model)
        )
        return HubUser(username=name, name=name, display_name=name, groups=groups, admin=admin)

    def refusal(self, handler: web.RequestHandler) -> str | None:
        """Why a request with a valid hub token was identified as nobody (a 403), if so."""
        return self._refused.get(handler)

    def is_token_authenticated(self, handler: web.RequestHandler) -> bool:
        # Every identified request came with a token, never a cookie: no XSRF check.
        return handler in self._identified

    def get_handlers(self) -> list[tuple[str, object]]:
        return []  # no login or logout page: the hub does both

    def validate_security(self, app: Any, ssl_options: dict[str, Any] | None = None) -> None:
        # Jupyter would warn that "all authentication is disabled" (no server token):
        # every request is authenticated by the hub instead.
        return None

    @property
    def auth_enabled(self) -> bool:
        return True

    @property
    def login_available(self) -> bool:
        return False
