"""Auth hardening on subprocess servers: password login, forged forwarded headers, start-up
refusals, an authorizer that denies (the in-process half: api/test_auth_hardening.py)."""

from __future__ import annotations

import json

import pytest
import requests

from support.leaks import random_api_key

# SQLite only: authentication and rate limiting are decided before any database call.
pytestmark = pytest.mark.sqlite_only


NEW = {"name": "x", "provider": "openai", "api_key": "sk-" + "q" * 24}


def _spec_operations() -> list[tuple[str, str]]:
    from open_notebook_ext.http.meta import openapi_spec

    return [
        (method.upper(), path)
        for path, item in openapi_spec()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "delete", "patch")
    ]


def test_password_login_then_api_with_cookie_and_xsrf(server_factory, tmp_path):
    from jupyter_server.auth import passwd

    password = "correct horse " + random_api_key("pw")
    home = tmp_path / "home"
    (home / ".jupyter").mkdir(parents=True)
    (home / ".jupyter" / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "ServerApp": {
                    "identity_provider_class": (
                        "open_notebook_ext.security.identity.ConstantTimeIdentityProvider"
                    )
                },
                "PasswordIdentityProvider": {"hashed_password": passwd(password)},
            }
        )
    )
    server = server_factory(home=home, token="").start()
    s = requests.Session()
    s.get(server.url + "login", timeout=10)
    xsrf = s.cookies["_xsrf"]

    bad = s.post(
        server.url + "login",
        data={"password": "wrong", "_xsrf": xsrf},
        allow_redirects=False,
        timeout=10,
    )
    assert bad.status_code == 401
    assert s.get(server.url + "open-notebook/api/credentials", timeout=10).status_code == 401

    good = s.post(
        server.url + "login",
        data={"password": password, "_xsrf": xsrf},
        allow_redirects=False,
        timeout=10,
    )
    assert good.status_code == 302
    api = server.url + "open-notebook/api/credentials"
    assert s.get(api, timeout=10).status_code == 200
    denied = s.post(api, json=NEW, timeout=10)
    assert denied.status_code == 403
    assert denied.headers["Content-Type"].startswith("application/json")
    created = s.post(api, json=NEW, headers={"X-XSRFToken": xsrf}, timeout=10)
    assert created.status_code == 201, created.text
    assert password not in server.log


def test_forged_forwarded_headers_from_an_unlisted_peer_count_for_the_peer(
    server_factory, tmp_path
):
    """A kernel (or anything else on the host) reaches Jupyter directly. With
    trust_xheaders on, it used to pick its address per request: a fresh X-Forwarded-For
    per guess meant unlimited guessing (and false addresses in the audit trail).
    Jupyter's Tornado rewrites remote_ip from X-Real-Ip before any handler runs."""
    server = server_factory(args=["--ServerApp.trust_xheaders=True"]).start()
    for i in range(10):
        r = server.api(
            "GET",
            "credentials",
            auth=False,
            headers={
                "Authorization": f"token guess-{i}",
                "X-Forwarded-For": f"203.0.113.{i}",
                "X-Real-Ip": f"198.51.100.{i}",
            },
        )
        assert r.status == 401, r.text
    r = server.api(
        "GET",
        "credentials",
        auth=False,
        headers={
            "Authorization": "token guess-x",
            "X-Forwarded-For": "203.0.113.99",
            "X-Real-Ip": "198.51.100.99",
        },
    )
    assert r.status == 429, r.text  # all ten were counted for 127.0.0.1
    events = [
        json.loads(line) for line in (server.data_dir / "audit.jsonl").read_text().splitlines()
    ]
    clients = {e["client"] for e in events if e.get("action") in ("failure", "blocked")}
    assert clients == {"127.0.0.1"}
    assert "trusted_proxies is empty" in server.log  # the start-up warning says why

    # listed as a proxy, the same peer is believed (right to left past itself)
    server.stop()
    trusting = server_factory(
        home=tmp_path / "trusting",
        env={"OPEN_NOTEBOOK_TRUSTED_PROXIES": "127.0.0.1"},
        args=["--ServerApp.trust_xheaders=True"],
    ).start()
    for i in range(12):
        r = trusting.api(
            "GET",
            "credentials",
            auth=False,
            headers={"Authorization": f"token guess-{i}", "X-Forwarded-For": f"203.0.113.{i}"},
        )
        assert r.status == 401, r.text
    events = [
        json.loads(line) for line in (trusting.data_dir / "audit.jsonl").read_text().splitlines()
    ]
    assert {e["client"] for e in events if e.get("action") == "failure"} == {
        f"203.0.113.{i}" for i in range(12)
    }


def test_an_invalid_trusted_proxy_stops_start_up(server_factory):
    server = server_factory(env={"OPEN_NOTEBOOK_TRUSTED_PROXIES": "10.0.0.2,proxy.internal"})
    server.start(wait=False)
    assert server.wait_exit(60) != 0
    assert "'proxy.internal' is not an IP address or network" in server.log
    assert "Traceback" not in server.log


def test_an_authorizer_that_denies_open_notebook_is_asked_on_every_route(server_factory, tmp_path):
    """With an authorizer refusing resource ``open_notebook``, every route of the OpenAPI
    description is 403 (openapi.json, public, excepted) — the secret routes included,
    which used to hand out keys (GET secrets, POST secrets/get, POST
    credentials/{id}/secret): they authenticate kernel tokens themselves and skipped the
    authorizer. A kernel is asked about as the kernel's owner."""
    from support.kernels import Kernel
    from support.servers import pythonpath_env

    deny = tmp_path / "deny"
    server = server_factory(
        env={**pythonpath_env(), "OPEN_NOTEBOOK_OWNER": "kernel-owner"},
        args=[
            "--ServerApp.authorizer_class=support.identities.DenyOpenNotebookAuthorizer",
            f"--DenyOpenNotebookAuthorizer.deny_file={deny}",
        ],
    ).start()
    (server.root / "work").mkdir()
    (server.root / "work" / "x.ipynb").write_text("{}")  # a grant needs the notebook file
    key = random_api_key()
    cred = server.api(
        "POST", "credentials", {"name": "Work", "provider": "openai", "api_key": key}
    ).json
    ids = {
        "credential_id": cred["id"],
        "provider": "openai",
        "notebook_id": server.api("POST", "notebooks", {"name": "n"}).json["id"],
        "note_id": server.api("POST", "notes", {"content": "c"}).json["id"],
        "source_id": server.api("POST", "sources", {"type": "text", "content": "t"}).json["id"],
        "grant_id": server.api(
            "PUT", "grants", {"credential_id": cred["id"], "notebook_path": "work/x.ipynb"}
        ).json["id"],
        "prompt_id": "prompt:x",
        "path": "chat/completions",
        "budget_id": server.api(
            "PUT", "budgets", {"credential_id": cred["id"], "requests_per_day": 5}
        ).json["id"],
    }
    kernel = Kernel(server, "work/x.ipynb")
    read = (
        "from open_notebook_ext import secrets\n"
        "try:\n    print('KEY', secrets.get('Work'))\n"
        "except secrets.SecretError as e:\n    print('REFUSED', type(e).__name__, e)\n"
    )
    try:
        assert kernel.run(read).strip() == f"KEY {key}"  # allowed: the kernel reads it
        deny.touch()
        answers = {}
        for method, path in _spec_operations():
            url = path.lstrip("/").format(**ids)
            body = {} if method in ("POST", "PUT", "PATCH") else None
            r = server.api(method, url, body)
            answers[(method, path)] = r.status
            assert key not in r.text, (method, path)
            if path == "/openapi.json":
                assert r.status == 200
                continue
            assert r.status == 403, (method, path, r.status, r.text)
            assert r.json["detail"].startswith("User is not authorized to "), (method, path)
        assert len(answers) >= 30
        # a multipart upload is refused before anything is written
        r = requests.post(
            server.url + "open-notebook/api/sources",
            headers={"Authorization": f"token {server.token}"},
            data={"type": "upload"},
            files={"file": ("a.txt", b"text")},
            timeout=30,
        )
        assert r.status_code == 403, r.text
        refused = kernel.run(read)
        assert refused.startswith("REFUSED") and key not in refused, refused
        assert (
            "authorizer asked: user=kernel-owner action=write resource=open_notebook -> denied"
        ) in server.log
        deny.unlink()
        assert kernel.run(read).strip() == f"KEY {key}"  # the authorizer said no, not us
    finally:
        kernel.shutdown()
