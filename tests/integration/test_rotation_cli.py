"""Key rotation: MultiFernet key lists, lazy re-encryption, and `jupyter open-notebook rotate`
run against a live server."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from open_notebook_ext.vault.keyring import KeyRing, key_id
from support.db import execute
from support.leaks import random_api_key
from support.rotation import fill, open_store, tokens
from support.servers import BIN, clean_env


def fernet_key() -> str:
    return Fernet.generate_key().decode()


def cli(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    e = clean_env(home)
    e.update(env or {})
    return subprocess.run(
        [str(BIN / "jupyter-open-notebook"), *args],
        env=e,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A new database of each backend (rotation's executemany rowcounts differ by driver)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store_env(tmp_path, db_url):
    """A backend on a temp database with a chosen key list (no server)."""
    return lambda *keys: open_store(db_url, tmp_path, *keys)


def test_rotation_with_the_server_running(server_factory, tmp_path):
    old, new = fernet_key(), fernet_key()
    home = tmp_path / "home"
    first = server_factory(home=home, env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": old}).start()
    plain = {}
    for i in range(60):
        key = random_api_key()
        r = first.api(
            "POST", "credentials", {"name": f"c{i}", "provider": "openai", "api_key": key}
        )
        plain[r.json["id"]] = key
    first.stop()

    keys_env = {"OPEN_NOTEBOOK_ENCRYPTION_KEYS": f"{new},{old}"}
    server = server_factory(home=home, env=keys_env).start()
    errors: list[str] = []
    reads = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal reads
        while not stop.is_set():
            r = server.api("GET", "credentials")
            if r.status != 200:
                errors.append(f"status {r.status}")
                continue
            bad = [c["id"] for c in r.json if c["decryption_error"]]
            if bad or len(r.json) != 60:
                errors.append(f"{len(bad)} undecryptable of {len(r.json)}")
            reads += 1

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        result = cli(home, "rotate", "--batch-size=7", env=keys_env)
    finally:
        stop.set()
        thread.join()
    assert result.returncode == 0, result.stderr
    assert reads > 0 and errors == []
    counts = dict(line.split(": ") for line in result.stdout.splitlines()[:3])
    assert int(counts["re-encrypted"]) + int(counts["already current"]) == 60
    assert counts["undecryptable"] == "0"
    assert "rotating [" in result.stderr and "60/60" in result.stderr

    db = server.data_dir / "open_notebook.db"
    new_only = Fernet(new.encode())
    for cid, (token, kid) in tokens(db).items():
        assert new_only.decrypt(token.encode()).decode() == plain[cid]
        assert kid == key_id(new.encode())
    # run again: idempotent
    again = cli(home, "rotate", "--quiet", env=keys_env)
    assert again.returncode == 0
    assert "re-encrypted: 0" in again.stdout and "already current: 60" in again.stdout
    server.stop()

    # the old key is gone: everything still reads
    after = server_factory(home=home, env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": new}).start()
    listed = after.api("GET", "credentials").json
    assert len(listed) == 60 and not [c for c in listed if c["decryption_error"]]
    assert after.api("GET", "credentials/status").json["key_check"] == "ok"
    events = [
        json.loads(line) for line in (after.data_dir / "audit.jsonl").read_text().splitlines()
    ]
    runs = [e for e in events if e["__schema__"].endswith("/rotation/v1")]
    assert len(runs) == 2 and runs[0]["re_encrypted"] + runs[0]["already_current"] == 60
    for key in (old, new, *plain.values()):
        assert key not in (after.data_dir / "audit.jsonl").read_text()
        assert key not in result.stdout + result.stderr + server.log + after.log


def test_interrupted_rotation_resumes(store_env, tmp_path, db_url):
    old, new = fernet_key(), fernet_key()
    plain = fill(store_env(old), 50, "c")
    backend = store_env(new, old)
    after = ""
    for _ in range(2):  # two batches, then "crash"
        after, report = backend.credentials.rotate_batch(after, 10)
        assert report.re_encrypted == 10
    backend.close()
    env = {"OPEN_NOTEBOOK_ENCRYPTION_KEYS": f"{new},{old}", "OPEN_NOTEBOOK_DB_URL": db_url}
    result = cli(tmp_path / "home", "rotate", "--quiet", env=env)
    assert result.returncode == 0, result.stderr
    assert "re-encrypted: 30" in result.stdout and "already current: 20" in result.stdout
    ring = KeyRing([new.encode()])
    for cid, (token, _) in tokens(db_url).items():
        assert ring.decrypt(token) == plain[cid]


def test_mixed_keys_and_undecryptable_rows(store_env, tmp_path, db_url):
    k1, k2, k3, stranger = (fernet_key() for _ in range(4))
    plain = fill(store_env(k1), 5, "one")
    plain |= fill(store_env(k2), 5, "two", mixing=True)
    plain |= fill(store_env(k3), 5, "three", mixing=True)
    lost = fill(store_env(stranger), 2, "lost", mixing=True)
    db = db_url
    corrupt = next(iter(plain))
    execute(
        db,
        "UPDATE on_credentials SET api_key_encrypted = 'gAAAAAcorrupt' WHERE id = :id",
        id=corrupt,
    )
    env = {"OPEN_NOTEBOOK_ENCRYPTION_KEYS": f"{k3},{k1},{k2}", "OPEN_NOTEBOOK_DB_URL": db}
    home = tmp_path / "home"
    result = cli(home, "rotate", "--quiet", "--batch-size=4", env=env)
    assert result.returncode == 1  # finished, but found undecryptable rows
    assert "re-encrypted: 9" in result.stdout  # 5 under k1 + 5 under k2, minus the corrupt one
    assert "already current: 5" in result.stdout
    assert "undecryptable: 3" in result.stdout
    for cid in [*lost, corrupt]:
        assert cid in result.stdout
    ring = KeyRing([k3.encode()])
    for cid, (token, _) in tokens(db).items():
        if cid in lost or cid == corrupt:
            continue
        assert ring.decrypt(token) == plain[cid]

    verify = cli(home, "verify", env=env)
    assert verify.returncode == 1
    assert "14 of 17 credential(s) decrypt" in verify.stdout
    status = cli(home, "status", "--json", env=env)
    assert status.returncode == 1
    data = json.loads(status.stdout)
    assert data["undecryptable"] == 3 and data["total"] == 17 and data["keys"] == 3
    assert data["not_under_primary_key"] == 0


def test_cli_exit_codes_and_help(tmp_path):
    home = tmp_path / "home"
    key = fernet_key()
    for sub in ("rotate", "generate-key", "status", "verify", "migrate"):
        r = cli(home, sub, "--help")
        assert r.returncode == 0, (sub, r.stderr)
        assert "Options" in r.stdout
    assert cli(home).returncode == 2
    assert cli(home, "rotate", env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": ""}).returncode == 2

    out = cli(home, "generate-key")
    assert out.returncode == 0 and KeyRing([out.stdout.strip().encode()]).configured
    target = tmp_path / "secret.key"
    r = cli(home, "generate-key", f"--output={target}")
    assert r.returncode == 0 and oct(target.stat().st_mode & 0o777) == "0o600"
    assert target.read_text().strip() not in r.stdout + r.stderr
    assert cli(home, "generate-key", f"--output={target}").returncode == 2
    assert cli(home, "generate-key", f"--output={target}", "--force").returncode == 0

    env = {"OPEN_NOTEBOOK_ENCRYPTION_KEY": key}
    assert cli(home, "migrate", env=env).returncode == 0
    status = cli(home, "status", env=env)
    assert status.returncode == 0 and "key check: ok" in status.stdout
    assert cli(home, "verify", env=env).returncode == 0
    mismatch = cli(home, "status", env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": fernet_key()})
    assert mismatch.returncode == 0  # nothing stored yet: a new key is simply adopted
    assert (
        cli(
            home,
            "status",
            env={"OPEN_NOTEBOOK_DB_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"},
        ).returncode
        == 2
    )
    assert key not in status.stdout + status.stderr
    assert os.environ.get("OPEN_NOTEBOOK_ENCRYPTION_KEY") is None
