"""Encryption at rest, key sources and the start-up key check, on real servers."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken

from dbtools import count, execute, rows
from helpers import bytes_contain, files_under, random_api_key
from open_notebook_ext.keyring import (
    MISMATCH_MESSAGE,
    NO_KEY_MESSAGE,
    PBKDF2_ITERATIONS,
    KeyRing,
    derive_key,
    is_fernet_key,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def stored_tokens(db: Path) -> list[str]:
    with sqlite3.connect(db) as c:
        return [
            r[0]
            for r in c.execute(
                "SELECT api_key_encrypted FROM on_credentials WHERE api_key_encrypted IS NOT NULL"
            )
        ]


def meta(db: Path, key: str) -> str | None:
    with sqlite3.connect(db) as c:
        row = c.execute("SELECT value FROM on_meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


async def test_key_never_leaks_in_process(logs, api, ext, request):
    """Keys go in through create and update; none comes back out anywhere: not in a
    response, a log line, the SQLite files, or a dump of the PostgreSQL database."""
    keys = [random_api_key() for _ in range(3)]
    ids = []
    for i, key in enumerate(keys):
        ids.append((await api.create_credential(name=f"k{i}", api_key=key))["id"])
    replacement = random_api_key("sk-replaced")
    keys.append(replacement)
    assert (await api.put(f"credentials/{ids[0]}", {"api_key": replacement})).status == 200
    await api.get("credentials")
    await api.get("credentials/status")
    for cid in ids:
        await api.get(f"credentials/{cid}")
    # error paths see keys too
    await api.post("credentials", {"name": "k0", "provider": "openai", "api_key": keys[1]})
    await api.post("credentials", {"name": "bad", "provider": keys[2], "api_key": keys[2]})
    await api.put(f"credentials/{ids[1]}", {"base_url": keys[1], "api_key": keys[1]})

    assert "Created credential" in logs.text  # the capture sees the server's log lines
    if ext.db.path is not None:
        db_files = files_under(ext.db.path.parent)
        assert any(p.name == "open_notebook.db" for p in db_files)
        dump = ""
    else:
        db_files = []
        dump = request.getfixturevalue("pg_cluster").dump(ext.db.url.database)
        assert "on_credentials" in dump
    for key in keys:
        for reply in api.replies:
            assert key not in reply.text
            assert key not in str(reply.headers)
        assert key not in logs.text
        for f in db_files:
            assert not bytes_contain(f, key), f
        assert key not in dump
    # the tokens in the DB decrypt to the keys: they are there, encrypted
    tokens = [
        r[0]
        for r in rows(
            ext, "SELECT api_key_encrypted FROM on_credentials WHERE api_key_encrypted IS NOT NULL"
        )
    ]
    assert not dump or all(token in dump for token in tokens)  # the dump is complete
    plain = {ext.keyring.decrypt(t) for t in tokens}
    assert plain == {replacement, keys[1], keys[2]}


async def test_key_writes_refused_while_mismatched(api, ext):
    """Issue 15, finding 8: with key_check "mismatch" (the database was written with
    another key), storing a key would mix two keys in one database and overwrite
    ciphertext only the original key can read. Key writes answer 409 naming the fix;
    nothing is written. Everything that stores no key still works."""
    key = random_api_key()
    cred = await api.create_credential(name="old", api_key=key)
    token_before = rows(ext, "SELECT api_key_encrypted FROM on_credentials")
    # another server adopts another key for this database (what a restart with the
    # wrong key looks like to the key check, which re-reads the stored check value)
    foreign = KeyRing([Fernet.generate_key()]).make_check()
    execute(ext, "UPDATE on_meta SET value = :v WHERE key = 'key_check'", v=foreign)
    assert (await api.get("credentials/status")).json["key_check"] == "mismatch"

    new_key = random_api_key("sk-new")
    created = await api.post(
        "credentials", {"name": "new", "provider": "openai", "api_key": new_key}
    )
    replaced = await api.put(f"credentials/{cred['id']}", {"api_key": new_key})
    renamed_with_key = await api.put(
        f"credentials/{cred['id']}", {"api_key": new_key, "name": "renamed"}
    )
    for r in (created, replaced, renamed_with_key):
        assert r.status == 409, r
        detail = r.json["detail"]
        assert "does not match" in detail and "jupyter open-notebook rotate" in detail
        assert "encryption_keys" in detail and "original key" in detail
        assert new_key not in r.text
    assert count(ext, "on_credentials") == 1
    assert rows(ext, "SELECT api_key_encrypted FROM on_credentials") == token_before
    assert (await api.get(f"credentials/{cred['id']}")).json["name"] == "old"

    # no key involved: still allowed
    assert (await api.put(f"credentials/{cred['id']}", {"name": "renamed"})).status == 200
    local = await api.post(
        "credentials", {"name": "local", "provider": "ollama", "base_url": "http://localhost:11434"}
    )
    assert local.status == 201, local
    assert (await api.delete(f"credentials/{local.json['id']}")).status == 200

    # the right key back (the check value it wrote): writes work again
    execute(
        ext, "UPDATE on_meta SET value = :v WHERE key = 'key_check'", v=ext.keyring.make_check()
    )
    assert (await api.put(f"credentials/{cred['id']}", {"api_key": new_key})).status == 200


def test_generated_key_file_is_private_and_reused(server_factory):
    server = server_factory().start()
    key_file = server.data_dir / "encryption.key"
    db = server.data_dir / "open_notebook.db"
    assert mode(key_file) == 0o600
    assert mode(server.data_dir) == 0o700
    assert mode(db) == 0o600
    assert is_fernet_key(key_file.read_text().strip())
    assert server.log.count(f"generated one in {key_file}") == 1
    key = random_api_key()
    r = server.api("POST", "credentials", {"name": "k", "provider": "openai", "api_key": key})
    assert r.status == 201
    for sidecar in ("open_notebook.db-wal", "open_notebook.db-shm"):
        if (server.data_dir / sidecar).exists():
            assert mode(server.data_dir / sidecar) == 0o600
    first_key = key_file.read_text()
    status = server.api("GET", "credentials/status").json
    assert status["key_source"] == "generated"
    assert status["key_file"] == str(key_file)
    assert status["key_check"] == "ok"
    server.stop()

    again = server_factory(home=server.home).start()
    assert key_file.read_text() == first_key
    listed = again.api("GET", "credentials").json
    assert listed[0]["decryption_error"] is None
    assert again.api("GET", "credentials/status").json["key_check"] == "ok"
    assert key not in again.log and key not in server.log


def test_wrong_key_is_listed_with_decryption_error(server_factory):
    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    first = server_factory(env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": key_a}).start()
    cred = first.api(
        "POST", "credentials", {"name": "k", "provider": "openai", "api_key": random_api_key()}
    ).json
    first.stop()

    second = server_factory(home=first.home, env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": key_b}).start()
    assert second.log.count(MISMATCH_MESSAGE) == 1
    assert key_a not in second.log and key_b not in second.log
    listed = second.api("GET", "credentials")
    assert listed.status == 200
    assert "cannot be decrypted" in listed.json[0]["decryption_error"]
    one = second.api("GET", f"credentials/{cred['id']}")
    assert one.status == 200 and one.json["decryption_error"]
    status = second.api("GET", "credentials/status").json
    assert status["key_check"] == "mismatch"
    assert status["counts"] == {"total": 1, "by_provider": {"openai": 1}, "undecryptable": 1}
    # no key is written under the wrong key (see test_key_writes_refused_while_mismatched);
    # deleting is still possible
    refused = second.api("PUT", f"credentials/{cred['id']}", {"api_key": random_api_key()})
    assert refused.status == 409 and "jupyter open-notebook rotate" in refused.json["detail"]
    assert second.api("DELETE", f"credentials/{cred['id']}").status == 200


def test_key_file_env_wins_over_env_and_config(server_factory, tmp_path):
    key_file_value, env_value, config_value = (Fernet.generate_key().decode() for _ in range(3))
    secret = tmp_path / "secret.key"
    secret.write_text(f"\n  {key_file_value}  \n")  # surrounding whitespace is stripped
    home = tmp_path / "home"
    (home / ".jupyter").mkdir(parents=True)
    (home / ".jupyter" / "jupyter_server_config.json").write_text(
        json.dumps({"OpenNotebookApp": {"encryption_key": config_value}})
    )

    server = server_factory(
        home=home,
        env={
            "OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE": str(secret),
            "OPEN_NOTEBOOK_ENCRYPTION_KEY": env_value,
        },
    ).start()
    status = server.api("GET", "credentials/status").json
    assert (status["key_source"], status["key_file"]) == ("file", str(secret))
    server.api(
        "POST", "credentials", {"name": "k", "provider": "openai", "api_key": random_api_key()}
    )
    server.stop()
    token = stored_tokens(server.data_dir / "open_notebook.db")[0]
    Fernet(key_file_value.encode()).decrypt(token.encode())  # written with the file's key

    env_only = server_factory(home=home, env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": env_value}).start()
    assert env_only.api("GET", "credentials/status").json["key_source"] == "env"
    env_only.stop()
    config_only = server_factory(home=home).start()
    assert config_only.api("GET", "credentials/status").json["key_source"] == "config"


def test_unreadable_key_file_stops_start_up(server_factory, tmp_path):
    server = server_factory(env={"OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE": str(tmp_path / "nope")})
    server.start(wait=False)
    assert server.wait_exit(60) != 0
    assert "OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE" in server.log
    assert "cannot be read" in server.log


def test_passphrase_is_salted_pbkdf2_and_stable(server_factory):
    passphrase = "correct horse battery staple " + random_api_key("pass")
    env = {"OPEN_NOTEBOOK_ENCRYPTION_KEY": passphrase}
    first = server_factory(env=env).start()
    key = random_api_key()
    first.api("POST", "credentials", {"name": "k", "provider": "openai", "api_key": key})
    first.stop()
    db = first.data_dir / "open_notebook.db"
    salt = bytes.fromhex(meta(db, "kdf_salt"))
    assert len(salt) == 16
    token = stored_tokens(db)[0].encode()
    assert Fernet(derive_key(passphrase, salt)).decrypt(token).decode() == key
    # Open Notebook's unsalted SHA-256 derivation does not open it
    unsalted = base64.urlsafe_b64encode(hashlib.sha256(passphrase.encode()).digest())
    with pytest.raises(InvalidToken):
        Fernet(unsalted).decrypt(token)
    assert passphrase not in first.log

    again = server_factory(home=first.home, env=env).start()
    assert again.api("GET", "credentials").json[0]["decryption_error"] is None
    assert again.api("GET", "credentials/status").json["key_check"] == "ok"
    assert bytes.fromhex(meta(db, "kdf_salt")) == salt


def test_pbkdf2_parameters():
    assert PBKDF2_ITERATIONS == 600_000
    salt = b"\x01" * 16
    expected = base64.urlsafe_b64encode(
        hashlib.pbkdf2_hmac("sha256", b"pw", salt, 600_000, dklen=32)
    )
    assert derive_key("pw", salt) == expected


@pytest.mark.parametrize(
    ("value", "is_key"),
    [
        ("uEQlJA10cShcxGdMl1znY9qoyjQ1J27ADidyvgE6rPA=", True),  # a generated key
        ("a" * 43 + "=", True),
        ("a" * 44, False),  # no padding: a passphrase
        ("a" * 42 + "!=", False),
        ("my secret passphrase", False),
        (" " + "a" * 43 + "=", False),
    ],
)
def test_fernet_key_detection_is_strict(value, is_key):
    assert is_fernet_key(value) is is_key


def test_key_ring_round_trip_and_check():
    ring = KeyRing([Fernet.generate_key()])
    token, kid = ring.encrypt("secret")
    assert ring.decrypt(token) == "secret" and kid == ring.primary_key_id
    assert ring.verify_check(ring.make_check())
    assert not KeyRing([Fernet.generate_key()]).verify_check(ring.make_check())
    assert "secret" not in repr(ring)


class TestWithoutKey:
    @pytest.fixture
    def extension_config(self):
        return {"generate_key": False}

    async def test_reads_work_and_writes_400(self, api, ext):
        status = await api.get("credentials/status")
        assert status.status == 200
        assert status.json["encryption_configured"] is False
        assert status.json["key_source"] == "none"
        assert status.json["key_check"] == "not_configured"
        r = await api.post(
            "credentials", {"name": "k", "provider": "openai", "api_key": random_api_key()}
        )
        assert r.status == 400
        assert r.json == {"detail": NO_KEY_MESSAGE}
        assert NO_KEY_MESSAGE == (
            "Encryption key not configured. Set OPEN_NOTEBOOK_ENCRYPTION_KEY "
            "or OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE."
        )
        assert (await api.get("credentials")).json == []
        assert not (Path(ext.data_dir) / "encryption.key").exists()
