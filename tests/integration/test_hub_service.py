"""Service mode, live: a real JupyterHub (configurable-http-proxy, DummyAuthenticator,
SimpleLocalProcessSpawner) runs ``jupyter open-notebook hub-service`` as a hub-managed
service on PostgreSQL, and users reach it through the hub's proxy with their hub tokens.

Each user sees and touches only their own rows, whatever ids they try; requests without a
token, with a token the hub does not know, with a token lacking the service's access
scope, with a service's token or with the Jupyter server's own token are refused with
JSON; none of Jupyter's own routes (kernels, contents, ...) are open to users; the key
and the database password stay in the service's environment: not in responses, the
hub's log, nor a spawned user server's environment or files.

One hub for the module (it takes 15-20 s to start on two cores).
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.db import rows
from support.hub import (
    BIN,
    DB_PASSWORD,
    ENCRYPTION_KEY,
    SERVER_TOKEN,
    SERVICE,
    Hub,
    process_environ,
    service_hub,
    service_pid,
    single_user_pid,
)
from support.leaks import bytes_contain, files_under, random_api_key
from support.pg import PostgresCluster
from support.servers import Response


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, pg_cluster: PostgresCluster) -> Iterator[Hub]:
    hub = service_hub(tmp_path_factory.mktemp("hub"), pg_cluster, "on_hub_service")
    try:
        yield hub.start()
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def tokens(hub: Hub) -> dict[str, str]:
    return {name: hub.user_token(name) for name in ("alice", "bob", "carol", "admin")}


@pytest.fixture(scope="module")
def seen(hub: Hub) -> list[Response]:
    """Every response the tests got from the service (searched for secrets at the end)."""
    return []


def call(hub: Hub, seen: list[Response], *args: object, **kw: object) -> Response:
    r = hub.request(*args, **kw)  # type: ignore[arg-type]
    seen.append(r)
    return r


def new_credential(hub: Hub, seen: list[Response], token: str, name: str) -> tuple[str, str]:
    key = random_api_key()
    r = call(
        hub,
        seen,
        "POST",
        "credentials",
        {"name": name, "provider": "openai", "api_key": key},
        token=token,
    )
    assert r.status == 201, r.text
    assert key not in r.text
    return r.json["id"], key


def test_each_user_sees_and_touches_only_their_own(hub, tokens, seen, pg_cluster):
    alice, bob = tokens["alice"], tokens["bob"]
    a_id, a_key = new_credential(hub, seen, alice, "Work")
    # Bearer works as well as token (what SDKs and fetch() send)
    r = call(
        hub,
        seen,
        "POST",
        "credentials",
        {"name": "Work", "provider": "openai", "api_key": random_api_key()},
        token=bob,
        scheme="Bearer",
    )
    assert r.status == 201, r.text  # the same name is free in Bob's namespace
    b_id = r.json["id"]

    listed = {
        name: [c["id"] for c in call(hub, seen, "GET", "credentials", token=t).json]
        for name, t in (("alice", alice), ("bob", bob))
    }
    assert listed == {"alice": [a_id], "bob": [b_id]}

    # Alice cannot reach Bob's credential by id: 404, as on a single-user server
    # (tests/integration/test_multi_user.py), so ids do not reveal what exists.
    for method, path, body in [
        ("GET", f"credentials/{b_id}", None),
        ("PUT", f"credentials/{b_id}", {"name": "mine now"}),
        ("DELETE", f"credentials/{b_id}", None),
        ("POST", f"credentials/{b_id}/test", {}),
        ("POST", f"credentials/{b_id}/secret", {}),
    ]:
        r = call(hub, seen, method, path, body, token=alice)
        assert r.status == 404, (method, path, r.status, r.text)
        assert r.headers["Content-Type"].startswith("application/json")
    # ... and an id that exists nowhere gets the same answer
    missing = call(hub, seen, "GET", "credentials/cred_doesnotexist0000", token=alice)
    assert missing.status == 404
    assert missing.json == call(hub, seen, "GET", f"credentials/{b_id}", token=alice).json

    # Bob's credential is untouched; Alice's own is hers to read
    assert call(hub, seen, "GET", f"credentials/{b_id}", token=bob).json["name"] == "Work"
    secret = call(hub, seen, "POST", f"credentials/{a_id}/secret", {}, token=alice)
    assert secret.status == 200 and secret.json["api_key"] == a_key
    seen.remove(secret)  # the one response that is meant to hold a key

    owners = rows(
        pg_cluster.url("on_hub_service"), "SELECT owner FROM on_credentials ORDER BY owner"
    )
    assert [o[0] for o in owners] == ["alice", "bob"]
    # the key is stored encrypted
    dump = pg_cluster.dump("on_hub_service")
    assert a_key not in dump


@pytest.mark.parametrize(
    ("who", "status", "detail"),
    [
        ("nobody", 401, "Authentication required"),
        ("unknown", 401, "Invalid authentication credentials"),
        ("server-token", 401, "Invalid authentication credentials"),
        ("carol", 403, "does not grant access to this service"),
        ("tester-service", 403, "Only JupyterHub users"),
    ],
)
def test_refused_with_json(hub, tokens, seen, who, status, detail):
    token = {
        "nobody": None,
        "unknown": secrets.token_hex(16),
        # the Jupyter server's own token (JUPYTER_TOKEN in the service's environment)
        "server-token": SERVER_TOKEN,
        "carol": tokens.get("carol"),  # a hub user outside the role granting access
        "tester-service": hub.tester_token,  # a valid hub token, but a service's
    }[who]
    for method, path in (("GET", "credentials"), ("POST", "credentials")):
        r = call(
            hub,
            seen,
            method,
            path,
            {"name": "x", "provider": "openai", "api_key": random_api_key()}
            if method == "POST"
            else None,
            token=token,
        )
        assert r.status == status, (who, method, r.status, r.text)
        assert r.headers["Content-Type"].startswith("application/json"), r.text
        assert detail in r.json["detail"]
        assert "<html" not in r.text.lower()
        if status == 401:
            assert r.headers["WWW-Authenticate"] == "Bearer"
    # nothing was written for anyone refused
    admin = tokens["admin"]
    assert call(hub, seen, "GET", "credentials", token=admin).json == []


def test_token_in_the_url_is_not_accepted(hub, tokens, seen):
    r = call(hub, seen, "GET", f"credentials?token={tokens['alice']}")
    assert r.status == 401, r.text


def test_jupyter_routes_are_closed_to_users(hub, tokens, seen):
    """The service is a Jupyter server: its kernels and files would hand a user the key
    (a kernel runs as the service, next to its environment). Only our API is open."""
    alice = tokens["alice"]
    base = f"{hub.url}/services/{SERVICE}/"
    for method, path, body in [
        ("POST", "api/kernels", {"name": "python3"}),
        ("GET", "api/kernels", None),
        ("POST", "api/sessions", {"path": "a.ipynb", "type": "notebook"}),
        ("GET", "api/contents", None),
        ("GET", "api/contents/data", None),
        ("GET", "files/anything", None),
        ("GET", "api/kernelspecs", None),
        ("GET", "api/terminals", None),
        ("POST", "api/terminals", {}),
        ("GET", "api/config/notebook", None),
        ("GET", "lab", None),
        ("GET", "tree", None),
        ("GET", "login", None),
    ]:
        r = call(hub, seen, method, path, body, token=alice, base=base)
        assert r.status in (403, 404), (method, path, r.status, r.text[:300])


def test_status_and_meta_through_the_hub(hub, tokens, seen):
    alice = tokens["admin"]
    status = call(hub, seen, "GET", "credentials/status", token=alice)
    assert status.status == 200, status.text
    assert status.json["key_check"] == "ok"
    assert status.json["encryption_configured"] is True
    spec = call(hub, seen, "GET", "openapi.json", token=alice)
    assert spec.status == 200 and spec.json["openapi"].startswith("3.")
    providers = call(hub, seen, "GET", "providers", token=alice)
    assert providers.status == 200 and "openai" in providers.text
    # the same service on its own port answers alike (the proxy adds nothing of its own)
    direct = call(hub, seen, "GET", "providers", token=alice, base=hub.direct_url)
    assert direct.status == 200 and direct.json == providers.json


def test_the_key_and_the_password_stay_in_the_service(hub, tokens, seen):
    """Runs last: it spawns Alice's single-user server (the hub's own spawner, as a
    real hub would) and searches it, the hub's log and every response for the secrets."""
    server = hub.spawn("alice")
    pid = single_user_pid(hub, "alice")
    secrets_ = {"encryption key": ENCRYPTION_KEY, "database password": DB_PASSWORD}
    user_env = process_environ(pid)
    assert b"JUPYTERHUB_API_TOKEN=" in user_env  # it is a hub single-user server
    home = Path(hub.root / "home" / "alice")
    user_files = files_under(home)
    assert server["ready"]
    # the searches can find what they look for: the service's own environment has both
    service_env = process_environ(service_pid(hub))
    assert "Open Notebook API at" in hub.log  # the service's own log lines are in it too
    for what, value in secrets_.items():
        assert value.encode() in service_env, what
        assert value.encode() not in user_env, f"{what} in alice's server's environment"
        for path in user_files:
            assert not bytes_contain(path, value), f"{what} in {path}"
        assert value not in hub.log, f"{what} in the hub's log"
        for r in seen:
            assert value not in r.text, f"{what} in a response: {r.text[:200]}"
            assert all(value not in v for v in r.headers.values()), what
    assert seen, "the other tests' responses were collected"


def test_outside_a_hub_the_command_refuses_to_start(tmp_path):
    """Started by hand, with none of the hub's variables: exit 2 and a sentence, no server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")}
    env.update(HOME=str(tmp_path), OPEN_NOTEBOOK_DATA_DIR=str(tmp_path / "data"))
    run = subprocess.run(
        [str(BIN / "jupyter-open-notebook"), "hub-service"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert "JUPYTERHUB_SERVICE_URL" in run.stderr and "started by JupyterHub" in run.stderr
    assert "Traceback" not in run.stderr
