"""Shared keys, live (issue 23's acceptance test): a real JupyterHub, the hub-managed
service on PostgreSQL, users' servers in client mode.

The hub declares the service's admin scope (``custom:open-notebook:admin``) and gives it
to ``admin`` alone; alice and bob are in group ``class1``. The admin, with a hub token,
provisions a credential for ``class1`` with a budget of two requests a day per user.
Alice's and Bob's kernels, each in a notebook its user granted the shared credential,
call a fake provider through their own servers with the official ``openai`` SDK (a
notebook Alice did not grant it is refused, by her kernel's client and by the service); Alice's
third call gets ``openai.RateLimitError`` while Bob's calls go on. Neither user's server
environment, kernel environment or home directory holds the shared key, the encryption
key or the database password; Alice cannot read or use Bob's own credential by its id
(GET, secret, proxy); members cannot change the shared credential nor reach the admin
routes; the admin's usage report has each user's count, through the service and through
the admin's own server.

The configuration lines are the operators' guide's (docs/operators/jupyterhub-service.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from integration.test_hub_client import UserServer

from support.db import rows
from support.fake_provider import FakeProvider
from support.hub import (
    DB_PASSWORD,
    ENCRYPTION_KEY,
    SERVICE,
    Hub,
    process_environ,
    service_hub,
    single_user_pid,
)
from support.kernels import Kernel
from support.leaks import bytes_contain, files_under, random_api_key
from support.pg import PostgresCluster

DATABASE = "on_hub_shared"
ADMIN_SCOPE = f"custom:{SERVICE}:admin"
# What the operators' guide tells them to add for shared keys.
SHARED_CONFIG = f"""
c.JupyterHub.custom_scopes = {{
    "{ADMIN_SCOPE}": {{
        "description": "Manage the keys groups share in Open Notebook, their budgets and usage",
    }},
}}
c.JupyterHub.load_roles.append(
    {{"name": "open-notebook-admins", "scopes": ["{ADMIN_SCOPE}"], "users": ["admin"]}}
)
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "access:servers!server",
    "access:services!service={SERVICE}",
    "{ADMIN_SCOPE}",
]
"""
TIMINGS: dict[str, float] = {}

CALLS = """
import json, time
import openai
from openai import OpenAI
from open_notebook_ext import secrets
p = secrets.proxy("Class key")
client = OpenAI(base_url=p.base_url, api_key=p.api_key, max_retries=0)
out = []
for _ in range(%(n)d):
    started = time.monotonic()
    try:
        chat = client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "hi"}])
        out.append(["ok", chat.choices[0].message.content, time.monotonic() - started])
    except openai.RateLimitError as e:
        out.append(["rate-limited", str(e), time.monotonic() - started])
    time.sleep(0.5)  # the proxy records a call just after its answer went out
try:
    secrets.get("Class key")
    out.append(["read", "the key"])
except Exception as e:
    out.append(["refused", type(e).__name__])
print(json.dumps(out))
"""

OTHERS_KEY = """
import json, openai
from openai import OpenAI
from open_notebook_ext import secrets
p = secrets.proxy("Class key")
client = OpenAI(base_url=p.base_url.replace(p.credential_id, %(other)r), api_key=p.api_key,
                max_retries=0)
try:
    client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "x"}])
    print(json.dumps("called"))
except openai.APIStatusError as e:
    print(json.dumps(e.status_code))
"""

# A notebook its user did not grant the shared key: refused by the kernel client, and by
# the service when the kernel calls the proxy URL anyway.
UNGRANTED = """
import json, openai
from openai import OpenAI
from open_notebook_ext import secrets
out = []
try:
    secrets.proxy("Class key")
    out.append("proxy endpoint")
except secrets.AccessDenied:
    out.append("denied")
url, token = secrets._config()
client = OpenAI(base_url=f"{url}{secrets._API}proxy/%(cid)s/", api_key=token, max_retries=0)
try:
    client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "x"}])
    out.append("called")
except openai.APIStatusError as e:
    out.append(e.status_code)
print(json.dumps(out))
"""

ENVIRON = "import os, json; print(json.dumps(dict(os.environ)))"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    provider = FakeProvider(random_api_key(), hold=20.0)
    provider.release_event.set()
    yield provider
    provider.close()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, pg_cluster: PostgresCluster) -> Iterator[Hub]:
    hub = service_hub(
        tmp_path_factory.mktemp("hubs"), pg_cluster, DATABASE, extra_config=SHARED_CONFIG
    )
    hub.user_env = {"OPEN_NOTEBOOK_HUB_SERVICE_URL": hub.service_base}
    config_dir = Path(hub.service_env["JUPYTER_CONFIG_DIR"])
    config_dir.mkdir(parents=True)
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps({"OpenNotebookApp": {"allow_private_targets": True}})
    )
    try:
        yield hub.start()
        assert hub.started_in is not None
        TIMINGS["hub and service start"] = hub.started_in
    finally:
        hub.stop()
        print("\ntest_hub_shared timings (s):", json.dumps(TIMINGS, indent=1))


@pytest.fixture(scope="module")
def users(hub: Hub) -> dict[str, str]:
    tokens = {name: hub.user_token(name) for name in ("alice", "bob", "admin")}
    started = time.monotonic()
    for name in ("alice", "bob", "admin"):
        hub.spawn(name)
    TIMINGS["three servers spawned"] = time.monotonic() - started
    return tokens


def test_a_groups_key_with_per_user_budgets_through_users_servers(hub, users, fake, pg_cluster):
    started = time.monotonic()
    alice = UserServer(hub, "alice", users["alice"])
    bob = UserServer(hub, "bob", users["bob"])
    key = fake.expect_key
    # the admin provisions it at the service, with their own hub token
    r = hub.request(
        "POST",
        "admin/credentials",
        {
            "group": "class1",
            "name": "Class key",
            "provider": "openai",
            "api_key": key,
            "base_url": f"{fake.url}/v1",
        },
        token=users["admin"],
    )
    assert r.status == 201, r.text
    shared_id = r.json["id"]
    assert r.json["key_access"] == "proxy" and key not in r.text
    r = hub.request(
        "PUT",
        "admin/budgets",
        {"credential_id": shared_id, "requests_per_day": 2},
        token=users["admin"],
    )
    assert r.status == 201 and r.json["per_user"] is True, r.text
    # members see it (marked) through their own servers; the admin, in no group, does not
    for server in (alice, bob):
        listed = server.api("GET", "credentials").json
        assert [(c["id"], c["shared"], c["group"]) for c in listed] == [(shared_id, True, "class1")]
        r = server.api("PUT", f"credentials/{shared_id}", {"name": "mine"})
        assert r.status == 403, r.text
        assert server.api("DELETE", f"credentials/{shared_id}").status == 403
        # members' servers carry no admin scope (a server token gets only what its user holds)
        assert server.api("GET", "admin/usage").status == 403
        r = server.api("PUT", "grants", {"credential_id": shared_id, "notebook_path": "llm.ipynb"})
        assert r.status == 201, r.text
    assert hub.request("GET", f"credentials/{shared_id}", token=users["admin"]).status == 404
    assert rows(pg_cluster.url(DATABASE), "SELECT owner FROM on_credentials") == [("group/class1",)]
    # Bob's own credential: Alice cannot read or use it by its id, anywhere
    bobs_key = random_api_key()
    r = bob.api(
        "POST",
        "credentials",
        {"name": "Bob's", "provider": "openai", "api_key": bobs_key, "base_url": f"{fake.url}/v1"},
    )
    assert r.status == 201, r.text
    bobs_id = r.json["id"]
    for path, method in (
        (f"credentials/{bobs_id}", "GET"),
        (f"credentials/{bobs_id}/secret", "POST"),
        (f"proxy/{bobs_id}/chat/completions", "POST"),
        (f"credentials/{bobs_id}/test", "POST"),
    ):
        body = {} if method == "POST" else None
        assert alice.api(method, path, body).status == 404, path
        assert hub.request(method, path, body, token=users["alice"]).status == 404, path
    TIMINGS["provisioning and checks"] = time.monotonic() - started

    kernels = {
        name: Kernel(server, path="llm.ipynb") for name, server in (("alice", alice), ("bob", bob))
    }  # type: ignore[arg-type]
    try:
        t = time.monotonic()
        a = json.loads(kernels["alice"].run(CALLS % {"n": 3}, timeout=120).strip().splitlines()[-1])
        TIMINGS["alice's 3 SDK calls (2 ok, 1 rate-limited), 0.5 s apart"] = time.monotonic() - t
        assert [x[0] for x in a] == ["ok", "ok", "rate-limited", "refused"], a
        assert "each user of group 'class1'" in a[2][1], a
        TIMINGS["one proxied SDK call through server and service"] = a[1][2]
        t = time.monotonic()
        b = json.loads(kernels["bob"].run(CALLS % {"n": 2}, timeout=120).strip().splitlines()[-1])
        TIMINGS["bob's 2 SDK calls"] = time.monotonic() - t
        assert [x[0] for x in b] == ["ok", "ok", "refused"], b
        assert key not in json.dumps(a) + json.dumps(b)
        # Alice's kernel cannot use Bob's own credential through the proxy either
        other = kernels["alice"].run(OTHERS_KEY % {"other": bobs_id}).strip().splitlines()[-1]
        assert json.loads(other) == 404, other
        # a notebook Alice did not grant it cannot use it
        ungranted = Kernel(alice, path="ungranted.ipynb")  # type: ignore[arg-type]
        try:
            out = ungranted.run(UNGRANTED % {"cid": shared_id}).strip().splitlines()[-1]
            assert json.loads(out) == ["denied", 403], out
        finally:
            ungranted.shutdown()
        # neither kernel's environment holds a secret of the service or the key
        for name, kernel in kernels.items():
            env = kernel.run(ENVIRON)
            for what, value in {
                "shared key": key,
                "encryption key": ENCRYPTION_KEY,
                "db password": DB_PASSWORD,
                "hub token": users[name],
            }.items():
                assert value not in env, (name, what)
    finally:
        for kernel in kernels.values():
            kernel.shutdown()
    sent = [s for s in fake.seen if s.path.endswith("chat/completions")]
    assert len(sent) == 4 and all(key in s.headers["authorization"] for s in sent)
    # the admin's report: each user's requests on the group's key (the 429 is not a call)
    report = hub.request("GET", "admin/usage", token=users["admin"])
    assert report.status == 200, report.text
    per_user = {(u["user"], u["credential_id"]): u["requests"] for u in report.json["rows"]}
    assert per_user == {("alice", shared_id): 2, ("bob", shared_id): 2}
    assert key not in report.text
    # the admin's own server (its token given the admin scope by server_token_scopes,
    # which only the admin holds) reaches the admin routes too
    through_server = UserServer(hub, "admin", users["admin"]).api("GET", "admin/usage")
    assert through_server.status == 200 and through_server.json["rows"] == report.json["rows"]
    # each member sees their own usage only
    mine = alice.api("GET", "usage?group_by=credential").json["rows"]
    assert [(u["credential_name"], u["requests"]) for u in mine] == [("Class key", 2)]
    # nothing of the service's secrets, nor the shared key, in the users' servers
    for name in ("alice", "bob"):
        env = process_environ(single_user_pid(hub, name))
        found = files_under(hub.root / "home" / name)
        assert found
        for what, value in {
            "shared key": key,
            "encryption key": ENCRYPTION_KEY,
            "db password": DB_PASSWORD,
        }.items():
            assert value.encode() not in env, (name, what)
            for path in found:
                assert not bytes_contain(path, value), (name, what, path)
    assert key not in hub.log
    TIMINGS["the whole test"] = time.monotonic() - started
