"""``GET redaction/keys`` (vault/redaction_handlers.py): a user's readable keys for the
output redaction of their client-mode server, answered by the hub service alone.

Users are named as the service names them (``support.identities``); the live path, a
client-mode server's save, is in tests/integration/test_hub_client.py.
"""

from __future__ import annotations

import json

import pytest

from support.leaks import random_api_key


def who(name: str, **headers: str) -> dict[str, object]:
    return {"headers": {"Authorization": f"token {name}-token", **headers}, "auth": None}


async def create(api, user: str, name: str, key: str, access: str = "read") -> None:
    body = {"name": name, "provider": "openai", "api_key": key, "key_access": access}
    r = await api.post("credentials", body, **who(user))
    assert r.status == 201, r


class TestService:
    @pytest.fixture
    def jp_server_config(self):
        return {
            "ServerApp": {
                "jpserver_extensions": {"open_notebook_ext": True},
                "identity_provider_class": "support.identities.HubServiceUsersIdentityProvider",
            }
        }

    async def test_only_the_users_readable_keys_once_per_change(self, api, ext):
        readable, proxy_only, bobs = random_api_key(), random_api_key(), random_api_key()
        await create(api, "alice", "Readable", readable)
        await create(api, "alice", "Proxied", proxy_only, access="proxy")
        await create(api, "bob", "Bobs", bobs)
        r = await api.get("redaction/keys", **who("alice"))
        assert r.status == 200, r
        assert r.json["keys"] == [{"name": "Readable", "key": readable}]
        assert proxy_only not in r.text and bobs not in r.text
        marker = r.json["marker"]
        same = await api.get(f"redaction/keys?marker={marker}", **who("alice"))
        assert same.json == {"marker": marker, "unchanged": True}
        # a key that becomes proxy-only leaves the list (the marker changes)
        cid = next(
            c["id"]
            for c in (await api.get("credentials", **who("alice"))).json
            if c["name"] == "Readable"
        )
        assert (
            await api.put(f"credentials/{cid}", {"key_access": "proxy"}, **who("alice"))
        ).status == 200
        after = await api.get(f"redaction/keys?marker={marker}", **who("alice"))
        assert after.json["marker"] != marker and after.json["keys"] == []
        # each answer with keys is audited, with their number and never a key
        events = [json.loads(line) for line in ext.audit.path.read_text().splitlines()]
        reads = [e for e in events if e.get("action") == "redaction_keys_read"]
        assert [e["owner"] for e in reads] == ["alice", "alice"]
        assert readable not in ext.audit.path.read_text()

    @pytest.mark.parametrize(
        "headers",
        [
            {"Origin": "http://localhost:8888"},
            {"Sec-Fetch-Site": "same-origin"},
            {"X-Open-Notebook-Kernel": "k1"},
            {"X-Open-Notebook-Notebooks": '["a.ipynb"]'},
        ],
    )
    async def test_never_to_a_browser_or_a_kernels_relayed_read(self, api, headers):
        key = random_api_key()
        await create(api, "alice", "Readable", key)
        r = await api.get("redaction/keys", **who("alice", **headers))
        assert r.status == 403, r
        assert key not in r.text

    async def test_a_token_is_needed(self, api):
        r = await api.get("redaction/keys", headers={}, auth=None)
        assert r.status == 401


async def test_outside_service_mode_there_is_no_such_route(api):
    await api.create_credential(name="Readable", api_key=random_api_key())
    r = await api.get("redaction/keys")
    assert r.status == 404
    assert "service mode" in r.json["detail"] and "keys" not in r.json
