"""Several server processes on one PostgreSQL database: nothing one of them keeps in
memory goes stale when another changes the database.

Shared (read from the database when needed): grants, the credentials the output
redactor knows (its change marker), the key check. Per process, by design and
as documented: the failed-authentication rate limiter, kernel tokens (a kernel
talks to the server that started it), the audit file (in each data directory).
"""

from __future__ import annotations

import json
import shutil

import pytest
from cryptography.fernet import Fernet

from helpers import random_api_key
from storm import start_servers

pytestmark = pytest.mark.subprocess


def notebook_with_output(text: str) -> dict:
    return {
        "type": "notebook",
        "content": {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                {
                    "cell_type": "code",
                    "id": "c1",
                    "source": "print(key)",
                    "execution_count": 1,
                    "metadata": {},
                    "outputs": [{"output_type": "stream", "name": "stdout", "text": text}],
                }
            ],
        },
    }


def saved_output(server, name: str) -> str:
    nb = json.loads((server.root / name).read_text())
    text = nb["cells"][0]["outputs"][0]["text"]
    return "".join(text) if isinstance(text, list) else text  # nbformat may split lines


def test_grants_and_redaction_follow_changes_made_by_another_server(
    server_factory, tmp_path, pg_url
):
    a, b = start_servers(server_factory, tmp_path, 2, pg_url, Fernet.generate_key().decode())

    # a key stored through B is redacted by A's next save (A's automaton is rebuilt)
    assert a.request(
        "PUT", "api/contents/warm.ipynb", notebook_with_output("nothing yet\n")
    ).status in (200, 201)
    first = random_api_key()
    cid = b.api(
        "POST", "credentials", {"name": "Shared", "provider": "openai", "api_key": first}
    ).json["id"]
    assert a.request(
        "PUT", "api/contents/one.ipynb", notebook_with_output(f"key={first}\n")
    ).status in (200, 201)
    assert saved_output(a, "one.ipynb") == "key=[REDACTED:Shared]\n"
    # ... and so is its replacement, and a rename shows in the label
    second = random_api_key()
    assert b.api("PUT", f"credentials/{cid}", {"api_key": second, "name": "Renamed"}).status == 200
    assert a.request(
        "PUT", "api/contents/two.ipynb", notebook_with_output(f"key={second}\n")
    ).status in (200, 201)
    assert saved_output(a, "two.ipynb") == "key=[REDACTED:Renamed]\n"

    # grants made on one server are seen by the other, revoked there, gone here; a grant
    # is bound to its notebook file, so servers serving the same person share the files
    # (here: B's root is A's)
    shutil.rmtree(b.root)
    b.root.symlink_to(a.root, target_is_directory=True)
    grant = a.api("PUT", "grants", {"credential_id": cid, "notebook_path": "one.ipynb"})
    assert grant.status == 201
    assert [g["id"] for g in b.api("GET", "grants").json] == [grant.json["id"]]
    assert (
        b.api("PUT", "grants", {"credential_id": cid, "notebook_path": "one.ipynb"}).status == 200
    )  # exists
    assert b.api("DELETE", f"grants/{grant.json['id']}").status == 200
    assert a.api("GET", "grants").json == []
    # a credential deleted on one server is gone on the other, grants with it
    a.api("PUT", "grants", {"credential_id": cid, "notebook_path": "two.ipynb"})
    assert a.api("DELETE", f"credentials/{cid}").status == 200
    assert b.api("GET", f"credentials/{cid}").status == 404
    assert b.api("GET", "grants").json == []
    for server in (a, b):
        assert first not in server.log and second not in server.log


def test_key_check_is_read_from_the_database_each_time(server_factory, tmp_path, pg_url):
    """B starts with another key while nothing is encrypted and adopts it: A, still
    running with the first key, now reports the mismatch instead of a stale "ok"."""
    [a] = start_servers(server_factory, tmp_path / "a", 1, pg_url, Fernet.generate_key().decode())
    assert a.api("GET", "credentials/status").json["key_check"] == "ok"
    [b] = start_servers(server_factory, tmp_path / "b", 1, pg_url, Fernet.generate_key().decode())
    assert "adopted the new key" in b.log
    assert b.api("GET", "credentials/status").json["key_check"] == "ok"
    assert a.api("GET", "credentials/status").json["key_check"] == "mismatch"
    assert "does not match the one this database was written with" in a.log


def test_rate_limit_is_per_process(server_factory, tmp_path, pg_url):
    """Documented: each process counts failed authentications on its own."""
    a, b = start_servers(server_factory, tmp_path, 2, pg_url, Fernet.generate_key().decode())
    wrong = {"Authorization": "token wrong-token"}
    statuses = [a.api("GET", "credentials", auth=False, headers=wrong).status for _ in range(11)]
    assert statuses[-1] == 429
    assert b.api("GET", "credentials", auth=False, headers=wrong).status == 401
    assert b.api("GET", "credentials").status == 200
