"""Client mode, live: the hub spawns users' servers with ``OPEN_NOTEBOOK_HUB_SERVICE_URL``
set, and their Open Notebook API (the panel's, the kernels') goes to the hub-managed
service, whose PostgreSQL database alone holds the rows and whose process alone holds
the key and the database password.

Alice creates and lists a credential through her own server (her hub token, as the
panel would with her cookie); it lands in the service's database owned by alice; Bob's
server does not show it; a kernel in Alice's server reads it with ``secrets.get`` only
once her notebook is granted it, and calls a fake provider with the openai SDK through
``secrets.proxy`` (streamed too); Carol, without the service's access scope, gets the
service's 403 through her server. Neither Alice's server's environment nor her home
directory holds the key or the password, and her kernels do not get the server's hub
token.

One hub for the module (``support/hub.py``), spawning three servers.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from integration.test_proxy_sdk import OPENAI_STREAM

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
from support.servers import BIN, Response, clean_env, free_port, root_flags

DATABASE = "on_hub_client"
# What the operators' guide tells them to add (docs/operators/jupyterhub-service.md).
CLIENT_CONFIG = f"""
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "access:servers!server",
    "access:services!service={SERVICE}",
]
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, pg_cluster: PostgresCluster) -> Iterator[Hub]:
    hub = service_hub(
        tmp_path_factory.mktemp("hubc"), pg_cluster, DATABASE, extra_config=CLIENT_CONFIG
    )
    hub.user_env = {"OPEN_NOTEBOOK_HUB_SERVICE_URL": hub.service_base}
    # the fake provider listens on loopback, which the service's proxy refuses by default
    config_dir = Path(hub.service_env["JUPYTER_CONFIG_DIR"])
    config_dir.mkdir(parents=True)
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps({"OpenNotebookApp": {"allow_private_targets": True}})
    )
    try:
        yield hub.start()
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def users(hub: Hub) -> dict[str, str]:
    """Hub tokens of alice, bob and carol, each with a running server."""
    tokens = {}
    for name in ("alice", "bob", "carol"):
        tokens[name] = hub.user_token(name)
        hub.spawn(name)
    return tokens


class UserServer:
    """A user's single-user server through the hub's proxy, as support.kernels drives
    a ServerProcess (``request``, ``env``)."""

    def __init__(self, hub: Hub, name: str, token: str) -> None:
        self.hub, self.name, self.token = hub, name, token
        home = hub.root / "home" / name
        self.env = {"JUPYTER_RUNTIME_DIR": str(home / ".local/share/jupyter/runtime")}

    def request(self, method: str, path: str, body: Any = None, **kw: Any) -> Response:
        kw.setdefault("token", self.token)
        return self.hub.request(method, path, body, base=self.hub.user_url(self.name), **kw)

    def api(self, method: str, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request(method, f"open-notebook/api/{path}", body, **kw)


def test_credentials_go_to_the_service_per_user(hub, users, pg_cluster):
    alice = UserServer(hub, "alice", users["alice"])
    bob = UserServer(hub, "bob", users["bob"])
    key = random_api_key()
    r = alice.api("POST", "credentials", {"name": "Work", "provider": "openai", "api_key": key})
    assert r.status == 201, r.text
    assert key not in r.text and r.json["has_api_key"] is True
    a_id = r.json["id"]
    assert [c["id"] for c in alice.api("GET", "credentials").json] == [a_id]
    # the row is the service's, owned by alice, the key encrypted
    owners = rows(pg_cluster.url(DATABASE), "SELECT id, owner FROM on_credentials")
    assert [tuple(o) for o in owners] == [(a_id, "alice")]
    assert key not in pg_cluster.dump(DATABASE)
    # the service itself, asked with alice's own token, shows the same row
    direct = hub.request("GET", "credentials", token=users["alice"])
    assert [c["id"] for c in direct.json] == [a_id]
    # Bob's server shows Bob's rows only; Alice's id is a 404, as one that exists nowhere
    assert bob.api("GET", "credentials").json == []
    r = bob.api("GET", f"credentials/{a_id}")
    assert r.status == 404 and r.headers["Content-Type"].startswith("application/json")
    assert bob.api("POST", f"credentials/{a_id}/secret", {}).status == 404
    # Alice reads her own key with a token (not from a browser page, as locally)
    secret = alice.api("POST", f"credentials/{a_id}/secret", {})
    assert secret.status == 200 and secret.json["api_key"] == key
    browser = alice.api("POST", f"credentials/{a_id}/secret", {}, headers={"Origin": hub.url})
    assert browser.status == 403 and "browser" in browser.json["detail"]
    assert key not in browser.text


def test_errors_stay_json_through_the_user_server(hub, users):
    alice = UserServer(hub, "alice", users["alice"])
    r = alice.api("POST", "credentials", {"name": "", "provider": "openai"})
    assert r.status == 422, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert alice.api("GET", "no-such-route").status == 404
    # no hub token at all: the user's server refuses it before the service is asked
    r = alice.api("GET", "credentials", token=None)
    assert r.status == 401, (r.status, r.text[:300])
    assert r.headers["Content-Type"].startswith("application/json")


def test_a_server_without_the_access_scope_gets_the_services_403(hub, users):
    """Carol holds no access:services!service=open-notebook: her server's token does not
    get it either (server_token_scopes are cut down to what the user holds)."""
    carol = UserServer(hub, "carol", users["carol"])
    r = carol.api("GET", "credentials")
    assert r.status == 403, r.text
    assert "does not grant access to this service" in r.json["detail"]


def test_a_kernel_reads_a_granted_key_through_its_server(hub, users):
    alice = UserServer(hub, "alice", users["alice"])
    key = random_api_key()
    r = alice.api("POST", "credentials", {"name": "Kernel", "provider": "openai", "api_key": key})
    assert r.status == 201, r.text
    cred_id = r.json["id"]
    kernel = Kernel(alice, path="analysis.ipynb")  # type: ignore[arg-type]
    try:
        code = (
            "import os\n"
            "from open_notebook_ext import secrets\n"
            "print(sorted(k for k in os.environ if 'API_TOKEN' in k))\n"
            "try:\n"
            "    print('got', secrets.get('Kernel'))\n"
            "except Exception as e:\n"
            "    print('refused', type(e).__name__, e)\n"
        )
        before = kernel.run(code)
        # the server's hub token reads every key past the grants: kernels never get it
        assert before.splitlines()[0] == "[]", before
        assert "refused" in before and key not in before, before
        grant = alice.api(
            "PUT", "grants", {"credential_id": cred_id, "notebook_path": "analysis.ipynb"}
        )
        assert grant.status == 201, grant.text
        after = kernel.run(code)
        assert f"got {key}" in after, after
        # another notebook of Alice's is not granted it
        other = Kernel(alice, path="other.ipynb")  # type: ignore[arg-type]
        try:
            assert "refused" in other.run(code)
        finally:
            other.shutdown()
    finally:
        kernel.shutdown()


PROXY_CALL = """
import json
from openai import OpenAI
from open_notebook_ext import secrets
p = secrets.proxy("OA")
client = OpenAI(base_url=p.base_url, api_key=p.api_key, max_retries=0)
chat = client.chat.completions.create(model="gpt-test",
                                      messages=[{"role": "user", "content": "hi"}])
print(json.dumps({"chat": chat.choices[0].message.content, "base_url": p.base_url,
                  "key": p.api_key}))
"""


def test_a_kernel_calls_the_provider_through_its_server_and_the_service(hub, users):
    """secrets.proxy: the kernel's SDK calls Alice's server, which relays to the service,
    which adds the key; the provider sees the key, never the kernel's or the hub token."""
    alice = UserServer(hub, "alice", users["alice"])
    key = random_api_key()
    fake = FakeProvider(key, hold=20.0)
    try:
        r = alice.api(
            "POST",
            "credentials",
            {
                "name": "OA",
                "provider": "openai",
                "api_key": key,
                "base_url": f"{fake.url}/v1",
                "key_access": "proxy",
            },
        )
        assert r.status == 201, r.text
        grant = {"credential_id": r.json["id"], "notebook_path": "llm.ipynb"}
        assert alice.api("PUT", "grants", grant).status == 201
        kernel = Kernel(alice, path="llm.ipynb")  # type: ignore[arg-type]
        try:
            out = json.loads(kernel.run(PROXY_CALL).strip().splitlines()[-1])
            # streamed through both servers: the kernel has the first event before the
            # provider sends the rest (it waits for /release, which the kernel calls then)
            streamed = json.loads(kernel.run(OPENAI_STREAM % {"fake": fake.url}))
            assert streamed == {"text": "one two three", "usage": 3}
            assert fake.seen[-1].released is True and fake.wait_done(fake.seen[-1]) is True
        finally:
            kernel.shutdown()
        assert out["chat"], out
        # the kernel calls its own server (its URL, past the hub's proxy)
        assert "/user/alice/open-notebook/api/proxy/" in out["base_url"], out
        assert out["key"] != key
        sent = [s for s in fake.seen if s.path.endswith("chat/completions")]
        assert len(sent) == 2
        headers = json.dumps(sent[0].headers)
        assert key in sent[0].headers["authorization"]
        assert out["key"] not in headers and users["alice"] not in headers
        assert "x-open-notebook" not in headers.lower()
        # a notebook without the grant is refused the proxy (by the service)
        other = Kernel(alice, path="nogrant.ipynb")  # type: ignore[arg-type]
        try:
            with pytest.raises(AssertionError, match="no access to credential 'OA'"):
                other.run(PROXY_CALL)
        finally:
            other.shutdown()
    finally:
        fake.release_event.set()
        fake.close()


def test_alices_server_holds_neither_the_key_nor_the_password(hub, users):
    pid = single_user_pid(hub, "alice")
    env = process_environ(pid)
    assert b"OPEN_NOTEBOOK_HUB_SERVICE_URL=" in env  # it is in client mode
    home = Path(hub.root / "home" / "alice")
    found = files_under(home)
    assert found, "the search looks at something"
    assert not [p for p in found if p.name in ("encryption.key", "open_notebook.db")]
    for what, value in {"encryption key": ENCRYPTION_KEY, "db password": DB_PASSWORD}.items():
        assert value.encode() not in env, what
        for path in found:
            assert not bytes_contain(path, value), f"{what} in {path}"


def test_a_client_mode_server_refuses_a_key_or_a_database(tmp_path):
    """Nobody should give a user's server the store's secrets: start-up stops (exit 1)."""
    env = clean_env(tmp_path)
    env.update(
        OPEN_NOTEBOOK_HUB_SERVICE_URL="http://127.0.0.1:9/services/open-notebook/",
        JUPYTERHUB_API_TOKEN="not-used",
        OPEN_NOTEBOOK_ENCRYPTION_KEY="a passphrase",
        OPEN_NOTEBOOK_DB_URL_FILE=str(tmp_path / "db-url"),
    )
    run = subprocess.run(
        [str(BIN / "jupyter"), "server", "--no-browser", *root_flags(), f"--port={free_port()}"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr[-3000:]
    assert "client mode" in run.stderr
    for name in ("OPEN_NOTEBOOK_DB_URL_FILE", "OPEN_NOTEBOOK_ENCRYPTION_KEY"):
        assert name in run.stderr
    assert "a passphrase" not in run.stderr
    assert not any(tmp_path.rglob("encryption.key"))


def notebook_with_output(text: str) -> dict[str, Any]:
    return {
        "cells": [
            {
                "cell_type": "code",
                "id": "c1",
                "source": "print(key)",
                "metadata": {},
                "execution_count": 1,
                "outputs": [{"output_type": "stream", "name": "stdout", "text": text}],
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_a_notebook_saved_in_a_client_mode_server_has_the_users_keys_redacted(hub, users):
    """Alice's server holds no key, yet a key of hers printed into an output is replaced
    before the notebook is written: her server gets her readable keys from the service
    (redaction/keys). Her proxy-only keys stay at the service; the route is the server's
    alone (her server does not forward it; a browser page is refused at the service)."""
    alice = UserServer(hub, "alice", users["alice"])
    readable, proxy_only = random_api_key(), random_api_key()
    r = alice.api(
        "POST", "credentials", {"name": "Printed", "provider": "openai", "api_key": readable}
    )
    assert r.status == 201, r.text
    r = alice.api(
        "POST",
        "credentials",
        {"name": "Hidden", "provider": "anthropic", "api_key": proxy_only, "key_access": "proxy"},
    )
    assert r.status == 201, r.text
    path = "redacted-in-client-mode.ipynb"
    model = {"type": "notebook", "content": notebook_with_output(f"the key: {readable}\n")}
    r = alice.request("PUT", f"api/contents/{path}", model)
    assert r.status in (200, 201), r.text
    saved = (hub.root / "home" / "alice" / path).read_text()
    assert readable not in saved
    assert "[REDACTED:Printed]" in saved
    # a key added now is redacted from the next save (the marker changed)
    later = random_api_key()
    r = alice.api("POST", "credentials", {"name": "Later", "provider": "openai", "api_key": later})
    assert r.status == 201, r.text
    model = {"type": "notebook", "content": notebook_with_output(f"{later} and {readable}\n")}
    assert alice.request("PUT", f"api/contents/{path}", model).status == 200
    saved = (hub.root / "home" / "alice" / path).read_text()
    assert later not in saved and readable not in saved and "[REDACTED:Later]" in saved
    # what the service sends: alice's readable keys only, never a proxy-only one
    keys = hub.request("GET", "redaction/keys", token=users["alice"])
    assert keys.status == 200, keys.text
    assert {k["name"] for k in keys.json["keys"]} >= {"Printed", "Later"}
    assert "Hidden" not in {k["name"] for k in keys.json["keys"]} and proxy_only not in keys.text
    again = hub.request("GET", f"redaction/keys?marker={keys.json['marker']}", token=users["alice"])
    assert again.json == {"marker": keys.json["marker"], "unchanged": True}
    # bob's answer holds none of alice's keys
    assert readable not in hub.request("GET", "redaction/keys", token=users["bob"]).text
    # a browser page is refused at the service; alice's server never forwards the route
    page = hub.request("GET", "redaction/keys", token=users["alice"], headers={"Origin": hub.url})
    assert page.status == 403 and readable not in page.text
    through = alice.api("GET", "redaction/keys")
    assert through.status == 404 and readable not in through.text
