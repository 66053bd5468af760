"""Every row has an owner and every query is scoped to the current user."""

from __future__ import annotations

import pytest

from support.db import rows
from support.leaks import random_api_key


async def test_stock_auth_maps_every_request_to_the_configured_owner(api, ext):
    # Each token request gets a fresh random anonymous identity from Jupyter;
    # they are all the one person who owns this server.
    await api.create_credential(name="a")
    await api.create_credential(name="b")
    assert len((await api.get("credentials")).json) == 2
    owners = {r[0] for r in rows(ext, "SELECT owner FROM on_credentials")}
    assert owners == {ext.owner}


class TestNamedUsers:
    @pytest.fixture
    def jp_server_config(self):
        return {
            "ServerApp": {
                "jpserver_extensions": {"open_notebook_ext": True},
                "identity_provider_class": "support.identities.TokenUsersIdentityProvider",
            }
        }

    async def test_users_never_see_each_others_rows(self, api, ext):
        alice = {"Authorization": "token alice-token"}
        bob = {"Authorization": "token bob-token"}
        r = await api.post(
            "credentials",
            {"name": "shared-name", "provider": "openai", "api_key": random_api_key()},
            headers=alice,
            auth=None,
        )
        assert r.status == 201
        cid = r.json["id"]

        assert (await api.get("credentials", headers=bob, auth=None)).json == []
        assert (await api.get("credentials/by-provider/openai", headers=bob, auth=None)).json == []
        for method, body in (("GET", None), ("PUT", {"name": "stolen"}), ("DELETE", None)):
            r = await api.request(method, f"credentials/{cid}", body, headers=bob, auth=None)
            assert r.status == 404, (method, r)
        status = (await api.get("credentials/status", headers=bob, auth=None)).json
        assert status["counts"]["total"] == 0
        # the same name is free in bob's namespace
        r = await api.post(
            "credentials",
            {"name": "shared-name", "provider": "openai", "api_key": random_api_key()},
            headers=bob,
            auth=None,
        )
        assert r.status == 201
        mine = (await api.get("credentials", headers=alice, auth=None)).json
        assert [c["id"] for c in mine] == [cid] and mine[0]["name"] == "shared-name"
        owners = sorted(r[0] for r in rows(ext, "SELECT owner FROM on_credentials"))
        assert owners == ["alice", "bob"]
        r = await api.get("credentials", headers={"Authorization": "token mallory"}, auth=None)
        assert r.status == 401

    async def test_a_user_named_like_a_groups_owner_owns_nothing(self, api, ext):
        """Rows of a hub group's credentials are owned by "group/<name>" (JupyterHub
        refuses "/" in usernames); a user another identity provider names so is refused
        rather than given the group's rows."""
        alice = {"Authorization": "token alice-token"}
        r = await api.post(
            "credentials",
            {"name": "k", "provider": "openai", "api_key": random_api_key()},
            headers=alice,
            auth=None,
        )
        assert r.status == 201
        ext.db.engine.dispose()
        from sqlalchemy import text

        with ext.db.engine.begin() as conn:  # as if a group owned it
            conn.execute(text("UPDATE on_credentials SET owner = 'group/class1'"))
        named = {"Authorization": "token group-token"}
        for method, path, body in (
            ("GET", "credentials", None),
            ("GET", f"credentials/{r.json['id']}", None),
            ("POST", "credentials", {"name": "x", "provider": "openai", "api_key": "sk-x"}),
        ):
            got = await api.request(method, path, body, headers=named, auth=None)
            assert got.status == 403, (method, path, got)
            assert "cannot own rows" in got.json["detail"]
