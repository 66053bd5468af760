"""Credentials hub groups share (issue 23, "Shared keys"), through the in-process server.

Users are named as the hub-managed service names them (``HubGroupsIdentityProvider``:
alice and bob in ``class1``, carol in ``others``, dave in none, and ``admin`` with the
admin scope). An admin creates a credential for ``class1``; members see it marked as
shared and use it through the proxy, each within the admin's per-user budget; nobody
reads its key by any route; members cannot change it; non-members get 404s; the admin
sees usage per user. The live test with a real JupyterHub is
tests/integration/test_hub_shared.py.
"""

from __future__ import annotations

import asyncio

import pytest

from support.db import rows
from support.fake_provider import FakeProvider
from support.leaks import random_api_key

CHAT = {"model": "gpt-test", "messages": [{"role": "user", "content": "a secret prompt"}]}


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {
            "jpserver_extensions": {"open_notebook_ext": True},
            "identity_provider_class": "support.identities.HubGroupsIdentityProvider",
        },
        "OpenNotebookApp": {"allow_private_targets": True},
    }


@pytest.fixture
def fake():
    provider = FakeProvider(random_api_key(), hold=10.0)
    provider.release_event.set()
    yield provider
    provider.close()


def who(name: str) -> dict[str, object]:
    return {"headers": {"Authorization": f"token {name}-token"}, "auth": None}


async def shared_credential(api, key: str, **extra: object) -> dict:
    body = {"group": "class1", "name": "Class key", "provider": "openai", "api_key": key}
    r = await api.post("admin/credentials", {**body, **extra}, **who("admin"))
    assert r.status == 201, r
    return r.json


async def test_members_see_a_groups_credential_marked_as_shared(api, ext):
    key = random_api_key()
    own = await api.post(
        "credentials",
        {"name": "Mine", "provider": "openai", "api_key": random_api_key()},
        **who("alice"),
    )
    assert own.status == 201, own
    created = await shared_credential(api, key)
    assert created["shared"] is True and created["group"] == "class1"
    assert created["key_access"] == "proxy" and created["has_api_key"] is True
    assert created["api_key_hint"] == "\u2022\u2022\u2022\u2022" + key[-4:]
    cid = created["id"]
    assert rows(ext, "SELECT owner FROM on_credentials WHERE id = :cid", cid=cid) == [
        ("group/class1",)
    ]
    listed = (await api.get("credentials", **who("alice"))).json
    assert [c["name"] for c in listed] == ["Mine", "Class key"]
    assert "shared" not in listed[0]  # her own credential's JSON is as before
    assert listed[1] == {**created, "model_count": 0}
    by_provider = (await api.get("credentials/by-provider/openai", **who("bob"))).json
    assert [c["id"] for c in by_provider] == [cid]
    # pages count her own credentials first, then the group's
    page = (await api.get("credentials?limit=1&offset=1", **who("alice"))).json
    assert [c["id"] for c in page] == [cid]
    assert (await api.get("credentials?limit=1", **who("alice"))).json[0]["name"] == "Mine"
    got = await api.get(f"credentials/{cid}", **who("bob"))
    assert got.status == 200 and got.json["shared"] is True
    # non-members: not listed, and its id is a 404 like any other user's row
    for name in ("carol", "dave", "admin"):
        assert cid not in [c["id"] for c in (await api.get("credentials", **who(name))).json]
        assert (await api.get(f"credentials/{cid}", **who(name))).status == 404
    assert all(key not in r.text for r in api.replies)


async def test_a_groups_credential_is_proxy_only(api):
    r = await api.post(
        "admin/credentials",
        {
            "group": "class1",
            "name": "R",
            "provider": "openai",
            "api_key": random_api_key(),
            "key_access": "read",
        },
        **who("admin"),
    )
    assert r.status == 422 and r.json["errors"][0]["field"] == "key_access", r
    cid = (await shared_credential(api, random_api_key()))["id"]
    r = await api.put(f"admin/credentials/{cid}", {"key_access": "read"}, **who("admin"))
    assert r.status == 422, r
    r = await api.put(f"admin/credentials/{cid}", {"group": "others"}, **who("admin"))
    assert r.status == 422 and r.json["errors"][0]["field"] == "group", r
    missing = await api.post(
        "admin/credentials", {"name": "N", "provider": "openai"}, **who("admin")
    )
    assert missing.status == 422 and missing.json["errors"][0]["field"] == "group"
    # a user's own POST with a group is refused, not made the user's own credential
    r = await api.post(
        "credentials", {"group": "class1", "name": "X", "provider": "openai"}, **who("alice")
    )
    assert r.status == 422 and "admin" in r.text


async def test_nobody_reads_a_groups_key_by_any_route(api, jp_root_dir):
    key = random_api_key()
    cid = (await shared_credential(api, key))["id"]
    (jp_root_dir / "nb.ipynb").write_text("{}")
    assert (
        await api.put("grants", {"credential_id": cid, "notebook_path": "nb.ipynb"}, **who("alice"))
    ).status == 201
    for name in ("alice", "bob", "carol", "admin"):
        member = name in ("alice", "bob")
        r = await api.post(f"credentials/{cid}/secret", {}, **who(name))
        assert r.status == (403 if member else 404), (name, r)
        if member:
            assert r.json["key_access"] == "proxy" and "proxy-only" in r.json["detail"]
        r = await api.post("secrets/get", {"name": "Class key"}, **who(name))
        assert r.status == (403 if member else 404), (name, r)
        r = await api.post(f"credentials/{cid}/test", {}, **who(name))
        assert r.status == 404, (name, r)
        listed = (await api.get("secrets", **who(name))).json
        shared = [s for s in listed if s["id"] == cid]
        assert shared == ([{**shared[0], "shared": True, "group": "class1"}] if member else [])
        for route in ("credentials/env-status", "credentials/status", "audit", "grants"):
            assert (await api.get(route, **who(name))).status in (200, 403, 404)
    r = await api.get(f"admin/credentials/{cid}", **who("admin"))
    assert r.status == 200 and r.json["has_api_key"] is True
    assert (await api.get("admin/credentials", **who("admin"))).json[0]["id"] == cid
    assert (await api.get("admin/credentials?group=others", **who("admin"))).json == []
    texts = [r.text for r in api.replies]
    assert texts and not [t for t in texts if key in t]


async def test_members_cannot_change_it_and_only_admins_manage_it(api):
    cid = (await shared_credential(api, random_api_key()))["id"]
    for method, body in (("PUT", {"name": "mine now"}), ("DELETE", None)):
        r = await api.request(method, f"credentials/{cid}", body, **who("alice"))
        assert r.status == 403 and "only an admin" in r.json["detail"], (method, r)
        r = await api.request(method, f"credentials/{cid}", body, **who("carol"))
        assert r.status == 404, (method, r)
    for name in ("alice", "carol", "dave"):
        for method, path in (
            ("GET", "admin/credentials"),
            ("POST", "admin/credentials"),
            ("GET", f"admin/credentials/{cid}"),
            ("PUT", f"admin/credentials/{cid}"),
            ("DELETE", f"admin/credentials/{cid}"),
            ("GET", "admin/budgets"),
            ("PUT", "admin/budgets"),
            ("DELETE", "admin/budgets/x"),
            ("GET", "admin/usage"),
        ):
            r = await api.request(
                method, path, {} if method in ("POST", "PUT") else None, **who(name)
            )
            assert r.status == 403, (name, method, path, r)
            assert "custom:open-notebook:admin" in r.json["detail"]
    new_key = random_api_key()
    r = await api.put(
        f"admin/credentials/{cid}", {"name": "Renamed", "api_key": new_key}, **who("admin")
    )
    assert r.status == 200 and r.json["name"] == "Renamed"
    assert r.json["api_key_hint"].endswith(new_key[-4:]) and new_key not in r.text
    gone = await api.delete(f"admin/credentials/{cid}", **who("admin"))
    assert gone.status == 200 and gone.json["group"] == "class1"
    assert (await api.get(f"credentials/{cid}", **who("alice"))).status == 404
    assert (await api.get(f"admin/credentials/{cid}", **who("admin"))).status == 404


async def recorded(api, name: str, count: int) -> None:
    for _ in range(200):
        got = (await api.get("usage?group_by=day", **who(name))).json["rows"]
        if sum(d["requests"] for d in got) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{count} calls of {name} were not recorded")


async def test_per_user_budgets_on_a_groups_credential(api, fake):
    cid = (await shared_credential(api, fake.expect_key, base_url=f"{fake.url}/v1"))["id"]
    r = await api.put(
        "admin/budgets", {"credential_id": cid, "requests_per_day": 2}, **who("admin")
    )
    assert r.status == 201 and r.json["per_user"] is True and r.json["group"] == "class1", r
    budget_id = r.json["id"]
    bad = await api.put(
        "admin/budgets",
        {"credential_id": cid, "requests_per_day": 1, "notebook_path": "a.ipynb"},
        **who("admin"),
    )
    assert bad.status == 422
    mine = await api.put(
        "admin/budgets", {"credential_id": "nope", "requests_per_day": 1}, **who("admin")
    )
    assert mine.status == 404
    call = f"proxy/{cid}/chat/completions"
    for _ in range(2):
        r = await api.post(call, CHAT, **who("alice"))
        assert r.status == 200, r
        await asyncio.sleep(0)
    await recorded(api, "alice", 2)
    over = await api.post(call, CHAT, **who("alice"))
    assert over.status == 429, over
    assert over.json["error"]["type"] and "each user of group 'class1'" in over.json["detail"]
    # bob's day is his own
    r = await api.post(call, CHAT, **who("bob"))
    assert r.status == 200, r
    await recorded(api, "bob", 1)
    # non-members cannot use it at all
    assert (await api.post(call, CHAT, **who("carol"))).status == 404
    # members cannot change, remove or see past the admin's budget
    assert (
        await api.put("budgets", {"credential_id": cid, "requests_per_day": 99}, **who("alice"))
    ).status == 404
    assert (await api.delete(f"budgets/{budget_id}", **who("alice"))).status == 404
    # they see it, read-only, marked as the admin's per-user budget
    seen = (await api.get("budgets", **who("alice"))).json
    assert [(b["id"], b["per_user"], b["group"]) for b in seen] == [(budget_id, True, "class1")]
    assert (await api.get("budgets", **who("carol"))).json == []
    assert (await api.post(call, CHAT, **who("alice"))).status == 429
    # members see their own usage only, with the credential's name
    usage = (await api.get("usage?group_by=credential", **who("alice"))).json["rows"]
    assert [(u["credential_name"], u["requests"]) for u in usage] == [("Class key", 2)]
    # the admin sees it per user and day, with no prompt in it
    report = await api.get("admin/usage", **who("admin"))
    assert report.status == 200
    per_user = {
        (u["user"], u["credential_id"], u["group"]): u["requests"] for u in report.json["rows"]
    }
    assert per_user == {("alice", cid, "class1"): 2, ("bob", cid, "class1"): 1}
    assert "secret prompt" not in report.text and fake.expect_key not in report.text
    assert (await api.get("admin/budgets", **who("admin"))).json[0]["id"] == budget_id
    # the admin lifts the budget: alice goes on
    assert (await api.delete(f"admin/budgets/{budget_id}", **who("admin"))).status == 200
    assert (await api.post(call, CHAT, **who("alice"))).status == 200
    assert all(fake.expect_key not in r.text for r in api.replies)


async def test_members_grant_a_groups_credential_to_their_notebooks(api, jp_root_dir):
    cid = (await shared_credential(api, random_api_key()))["id"]
    (jp_root_dir / "a.ipynb").write_text("{}")
    r = await api.put("grants", {"credential_id": cid, "notebook_path": "a.ipynb"}, **who("bob"))
    assert r.status == 201 and r.json["credential_name"] == "Class key", r
    assert [g["id"] for g in (await api.get("grants", **who("bob"))).json] == [r.json["id"]]
    assert (await api.get("grants", **who("alice"))).json == []  # the grant is bob's
    r = await api.put("grants", {"credential_id": cid, "notebook_path": "a.ipynb"}, **who("carol"))
    assert r.status == 404


async def test_admins_actions_and_members_refusals_are_audited(api, ext, fake):
    import json

    cid = (await shared_credential(api, fake.expect_key, base_url=f"{fake.url}/v1"))["id"]
    r = await api.put(
        "admin/budgets", {"credential_id": cid, "requests_per_day": 0}, **who("admin")
    )
    assert r.status == 201
    assert (await api.post(f"proxy/{cid}/chat/completions", CHAT, **who("alice"))).status == 429
    events = [json.loads(line) for line in ext.audit.path.read_text().splitlines()]
    mine = [
        (e["__schema__"].split("/")[-2], e["action"], e["owner"], e.get("group")) for e in events
    ]
    assert ("credential", "created", "admin", "class1") in mine
    assert ("budget", "set", "admin", "class1") in mine
    assert ("budget", "exceeded", "alice", "class1") in mine
    assert fake.expect_key not in ext.audit.path.read_text()


async def test_deleting_a_groups_credential_takes_its_grants_and_budgets(api, ext, jp_root_dir):
    cid = (await shared_credential(api, random_api_key()))["id"]
    (jp_root_dir / "a.ipynb").write_text("{}")
    grant = {"credential_id": cid, "notebook_path": "a.ipynb"}
    assert (await api.put("grants", grant, **who("alice"))).status == 201
    budget = {"credential_id": cid, "requests_per_day": 5}
    assert (await api.put("admin/budgets", budget, **who("admin"))).status == 201
    assert (await api.delete(f"admin/credentials/{cid}", **who("admin"))).status == 200
    for sql in (
        "SELECT id FROM on_grants WHERE credential_id = :cid",
        "SELECT id FROM on_proxy_budgets WHERE credential_id = :cid",
    ):
        assert rows(ext, sql, cid=cid) == []
    assert (await api.get("grants", **who("alice"))).json == []
