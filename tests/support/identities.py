"""Identity providers and authorizers the tests configure Jupyter with.

In-process servers load them by class path (``support.identities.X``); subprocess
servers need the tests directory on ``PYTHONPATH`` (``servers.pythonpath_env``).
"""

from __future__ import annotations

import os

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import IdentityProvider, User
from traitlets import Unicode


class TokenUsersIdentityProvider(IdentityProvider):
    """A test identity provider that names users, as JupyterHub's does.

    ``Authorization: token alice-token`` is user ``alice``, ``bob-token`` is ``bob``.
    """

    users = {"alice-token": "alice", "bob-token": "bob", "group-token": "group/class1"}

    def get_user(self, handler):  # type: ignore[override]
        m = self.auth_header_pat.match(handler.request.headers.get("Authorization", ""))
        if m and m.group(2) in self.users:
            handler._token_authenticated = True
            return User(self.users[m.group(2)])
        return None


class HeaderDenyAuthorizer(Authorizer):
    """A test authorizer that refuses any request carrying ``X-Test-Deny``."""

    def is_authorized(self, handler, user, action, resource):  # type: ignore[override]
        return "X-Test-Deny" not in handler.request.headers


class DenyOpenNotebookAuthorizer(Authorizer):
    """A test authorizer that refuses resource ``open_notebook`` while ``deny_file``
    exists, allows everything else, and logs who it was asked about."""

    deny_file = Unicode("", config=True, help="While this file exists, open_notebook is denied.")

    def is_authorized(self, handler, user, action, resource):  # type: ignore[override]
        if resource != "open_notebook":
            return True
        denied = bool(self.deny_file) and os.path.exists(self.deny_file)
        self.log.info(
            "authorizer asked: user=%s action=%s resource=%s -> %s",
            user.username,
            action,
            resource,
            "denied" if denied else "allowed",
        )
        return not denied


class HubUserIdentityProvider(IdentityProvider):
    """One named user per server, as a JupyterHub single-user server has.

    The server's own token (or login cookie) authenticates as usual; the user is
    ``user_name`` (``--HubUserIdentityProvider.user_name=alice``). Subprocess servers
    need the tests directory on PYTHONPATH (see ``servers.pythonpath_env``).
    """

    user_name = Unicode("hub-user", config=True, help="The user this server runs for.")

    async def get_user(self, handler):  # type: ignore[override]
        user = super().get_user(handler)
        if hasattr(user, "__await__"):
            user = await user
        return User(self.user_name) if user is not None else None


class HubGroupsIdentityProvider(IdentityProvider):
    """Users as the hub-managed service sees them: named, in hub groups, maybe admins.

    ``Authorization: token <name>-token`` is user ``<name>`` (a :class:`HubUser`, as
    ``hub/identity.py`` returns): alice and bob in group ``class1``, carol in ``others``,
    dave in no group, and ``admin``, who holds the admin scope and is in no group.
    """

    admin_scope = "custom:open-notebook:admin"
    users = {
        "alice": ("class1",),
        "bob": ("class1",),
        "carol": ("others",),
        "dave": (),
        "admin": (),
    }

    def get_user(self, handler):  # type: ignore[override]
        from open_notebook_ext.vault.membership import HubUser

        m = self.auth_header_pat.match(handler.request.headers.get("Authorization", ""))
        name = m.group(2).removesuffix("-token") if m else None
        if name not in self.users:
            return None
        handler._token_authenticated = True
        return HubUser(name, groups=self.users[name], admin=name == "admin")
