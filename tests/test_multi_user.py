"""JupyterHub's layout: one single-user server per user, all on one PostgreSQL database
with one key. Each user sees only their own credentials, grants, notebooks, notes,
sources and search results, through every route, whatever ids they try."""

from __future__ import annotations

import pytest

from dbtools import rows
from helpers import hub_user_args, pythonpath_env, random_api_key

pytestmark = pytest.mark.subprocess


@pytest.fixture
def hub(server_factory, tmp_path, pg_url):
    """Alice's and Bob's servers: separate homes, the same database URL and key file."""
    key_file = tmp_path / "secrets" / "encryption.key"
    key_file.parent.mkdir(mode=0o700)
    key_file.write_text("a shared passphrase for every single-user server\n")
    key_file.chmod(0o600)
    env = {
        "OPEN_NOTEBOOK_DB_URL": pg_url,
        "OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE": str(key_file),
        **pythonpath_env(),
    }
    servers = {
        name: server_factory(home=tmp_path / name, env=env, args=hub_user_args(name))
        for name in ("alice", "bob")
    }
    for server in servers.values():
        server.start(wait=False)
    for server in servers.values():
        server.wait_ready(120)
    return servers


def test_users_on_one_database_see_only_their_own(hub, pg_url):
    alice, bob = hub["alice"], hub["bob"]
    key = random_api_key()
    cred = alice.api("POST", "credentials", {"name": "Work", "provider": "openai", "api_key": key})
    assert cred.status == 201, cred.text
    cid = cred.json["id"]
    (alice.root / "a.ipynb").write_text('{"cells": []}')  # a grant needs the notebook file
    grant = alice.api("PUT", "grants", {"credential_id": cid, "notebook_path": "a.ipynb"})
    assert grant.status == 201
    nb = alice.api("POST", "notebooks", {"name": "Alice's research"}).json
    note = alice.api(
        "POST", "notes", {"content": "The aardvark eats termites.", "notebook_id": nb["id"]}
    ).json
    src = alice.api(
        "POST",
        "sources/json",
        {"type": "text", "content": "aardvark burrows", "notebooks": [nb["id"]]},
    ).json
    assert len(alice.api("POST", "search", {"query": "aardvark"}).json["results"]) == 2

    # Bob, on his own server, sees none of it
    for path in (
        "credentials",
        "credentials/by-provider/openai",
        "grants",
        "notebooks",
        "notes",
        "sources",
        "secrets",
    ):
        r = bob.api("GET", path)
        assert r.status == 200 and r.json == [], (path, r.text)
    assert bob.api("GET", "credentials/status").json["counts"]["total"] == 0
    assert bob.api("POST", "search", {"query": "aardvark"}).json["results"] == []
    # ... and cannot reach it by id, through any route
    for method, path, body in [
        ("GET", f"credentials/{cid}", None),
        ("PUT", f"credentials/{cid}", {"name": "x"}),
        ("DELETE", f"credentials/{cid}", None),
        ("POST", f"credentials/{cid}/secret", {}),
        ("POST", f"credentials/{cid}/test", {}),
        ("DELETE", f"grants/{grant.json['id']}", None),
        ("PUT", "grants", {"credential_id": cid, "notebook_path": "b.ipynb"}),
        ("GET", f"notebooks/{nb['id']}", None),
        ("PUT", f"notebooks/{nb['id']}", {"name": "x"}),
        ("DELETE", f"notebooks/{nb['id']}", None),
        ("GET", f"notebooks/{nb['id']}/delete-preview", None),
        ("GET", f"notes/{note['id']}", None),
        ("PUT", f"notes/{note['id']}", {"content": "x"}),
        ("DELETE", f"notes/{note['id']}", None),
        ("POST", "notes", {"content": "x", "notebook_id": nb["id"]}),
        ("GET", f"sources/{src['id']}", None),
        ("PUT", f"sources/{src['id']}", {"title": "x"}),
        ("DELETE", f"sources/{src['id']}", None),
        ("POST", "search", {"query": "aardvark", "notebook_id": nb["id"]}),
        ("GET", f"notes?notebook_id={nb['id']}", None),
        ("POST", "secrets/get", {"name": "Work"}),
    ]:
        r = bob.api(method, path, body)
        assert r.status == 404, (method, path, r.status, r.text)
    bob_nb = bob.api("POST", "notebooks", {"name": "Bob's"}).json
    assert bob.api("POST", f"notebooks/{bob_nb['id']}/sources/{src['id']}").status == 404

    # the same names are free in Bob's namespace; his rows are his
    mine = bob.api(
        "POST", "credentials", {"name": "Work", "provider": "openai", "api_key": random_api_key()}
    )
    assert mine.status == 201
    assert [c["id"] for c in bob.api("GET", "credentials").json] == [mine.json["id"]]
    assert [c["id"] for c in alice.api("GET", "credentials").json] == [cid]
    assert [n["id"] for n in alice.api("GET", "notebooks").json] == [nb["id"]]
    # nothing of Alice's was touched by Bob's attempts
    again = alice.api("GET", f"credentials/{cid}").json
    assert again["name"] == "Work" and again["decryption_error"] is None
    assert alice.api("GET", f"notes/{note['id']}").json["content"] == "The aardvark eats termites."
    secret = alice.api("POST", f"credentials/{cid}/secret", {})
    assert secret.status == 200 and secret.json["api_key"] == key

    owners = {
        t: sorted({r[0] for r in rows(pg_url, f"SELECT owner FROM {t}")})  # noqa: S608
        for t in ("on_credentials", "on_notebooks", "on_notes", "on_sources", "on_grants")
    }
    assert owners == {
        "on_credentials": ["alice", "bob"],
        "on_notebooks": ["alice", "bob"],
        "on_notes": ["alice"],
        "on_sources": ["alice"],
        "on_grants": ["alice"],
    }
    for server in hub.values():
        assert key not in server.log
        assert "Traceback" not in server.log
