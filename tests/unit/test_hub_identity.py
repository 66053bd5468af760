"""The service's users: their hub groups and the admin scope, from the hub's one answer.

``HubServiceIdentityProvider`` turns the model ``GET /hub/api/user`` returns for a token
(``HubAuth.user_for_token``, stubbed here) into a ``HubUser``: its ``groups``, and
``admin`` when the token's ``scopes`` hold ``custom:<service>:admin``.
"""

from __future__ import annotations

from typing import Any

import pytest
from jupyterhub.services.auth import HubAuth

from open_notebook_ext.hub.identity import HubServiceIdentityProvider, admin_scope_for
from open_notebook_ext.vault.membership import (
    HubUser,
    group_of,
    group_owner,
    groups_of,
    is_admin,
)

ACCESS = "access:services!service=open-notebook"


class StubHubAuth(HubAuth):
    model: dict[str, Any] | None = None
    calls = 0

    async def user_for_token(self, token, use_cache=True, session_id="", *, sync=True):  # type: ignore[override]
        self.calls += 1
        return self.model


class Handler:
    """What get_user reads of a request: its Authorization header."""

    def __init__(self) -> None:
        self.request = type("R", (), {"headers": {"Authorization": "token t"}})()

    def get_cookie(self, name: str) -> None:
        return None

    def get_argument(self, name: str, default: str = "") -> str:
        return default


def provider(model: dict[str, Any], **kw: Any) -> HubServiceIdentityProvider:
    auth = StubHubAuth(
        api_token="service-token",
        api_url="http://127.0.0.1:9/hub/api",
        access_scopes={ACCESS},
    )
    auth.model = model
    return HubServiceIdentityProvider(hub_auth=auth, **kw)


def user_model(*scopes: str, groups: tuple[str, ...] = ("class1",)) -> dict[str, Any]:
    return {"kind": "user", "name": "alice", "groups": list(groups), "scopes": [ACCESS, *scopes]}


async def test_groups_and_the_admin_scope_come_from_the_hubs_model():
    ip = provider(user_model("custom:open-notebook:admin", groups=("b", "a")))
    user = await ip.get_user(Handler())  # type: ignore[arg-type]
    assert isinstance(user, HubUser)
    assert user.username == "alice" and user.groups == ("a", "b") and user.admin is True
    assert groups_of(user) == ("a", "b") and is_admin(user)
    assert ip.hub_auth.calls == 1  # one answer for both: no other hub call


async def test_without_the_scope_a_user_is_no_admin():
    user = await provider(user_model("custom:other-service:admin")).get_user(Handler())  # type: ignore[arg-type]
    assert isinstance(user, HubUser) and user.admin is False and user.groups == ("class1",)


async def test_a_hub_admin_is_not_the_services_admin():
    # JupyterHub's admin role holds admin:users etc., not the service's custom scope
    model = user_model("admin:users", "admin:servers", "access:services")
    user = await provider(model).get_user(Handler())  # type: ignore[arg-type]
    assert user is not None and not is_admin(user)


def test_the_admin_scope_is_named_from_the_service(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_NAME", "keys")
    assert provider(user_model()).admin_scope == "custom:keys:admin" == admin_scope_for("keys")
    monkeypatch.delenv("JUPYTERHUB_SERVICE_NAME")
    assert provider(user_model()).admin_scope == "custom:open-notebook:admin"
    assert provider(user_model(), admin_scope="custom:x:manage").admin_scope == "custom:x:manage"


async def test_a_configured_admin_scope_is_the_one_checked():
    ip = provider(user_model("custom:x:manage"), admin_scope="custom:x:manage")
    user = await ip.get_user(Handler())  # type: ignore[arg-type]
    assert user is not None and is_admin(user)


@pytest.mark.parametrize("name", ["alice", "group", "groupx", "a.group/b"])
def test_no_username_is_a_groups_owner(name):
    # JupyterHub refuses "/" in usernames; a group's rows are owned by "group/<name>"
    assert group_of(name) is None
    assert group_of(group_owner("class1")) == "class1"
    assert not is_admin(object()) and groups_of(object()) == ()
