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

from open_notebook_ext.vault.keyring import MISMATCH_MESSAGE, derive_key, is_fernet_key
from support.leaks import random_api_key


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
