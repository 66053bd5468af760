"""The fast read paths (plain rows, remembered token checks, orjson) give exactly
what the ORM path gives, on both backends, and stay correct when keys change."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import event

from open_notebook_ext.db.orm import Credential
from open_notebook_ext.http.base import dump_json
from open_notebook_ext.vault import keyring as keyring_module
from open_notebook_ext.vault.keyring import KeyRing
from support.leaks import random_api_key


def fernet_key() -> str:
    return Fernet.generate_key().decode()


def test_row_reads_match_the_orm_shape(backend_for):
    backend = backend_for(fernet_key())
    store = backend.credentials
    made = [
        store.create("me", {"name": "plain", "provider": "openai", "api_key": random_api_key()}),
        store.create(
            "me",
            {
                "name": "azure",
                "provider": "azure",
                "api_key": random_api_key(),
                "endpoint": "https://x.openai.azure.com",
                "api_version": "2024-06-01",
                "modalities": ["language", "embedding"],
            },
        ),
        store.create(
            "me",
            {
                "name": "local",
                "provider": "ollama",
                "base_url": "http://127.0.0.1:11434",
                "num_ctx": 8192,
            },
        ),
    ]
    with backend.db.session() as s:
        orm = {c["id"]: store.to_json(s.get(Credential, c["id"])) for c in made}
    listed = {c["id"]: c for c in store.list("me")}
    assert listed == orm
    for cid, expected in orm.items():
        assert store.get("me", cid) == expected
    # the same text as before the fast path: ISO 8601 with the UTC offset
    assert all(c["created"].endswith("+00:00") and "T" in c["created"] for c in orm.values())
    assert orm[made[1]["id"]]["modalities"] == ["language", "embedding"]
    # decoded modalities are fresh lists: changing one response cannot change another
    listed[made[1]["id"]]["modalities"].append("mutated")
    assert store.get("me", made[1]["id"])["modalities"] == ["language", "embedding"]
    assert orm[made[2]["id"]]["has_api_key"] is False


def test_remembered_token_checks_still_see_key_changes(backend_for):
    old, new = fernet_key(), fernet_key()
    first = backend_for(old)
    cred = first.credentials.create(
        "me", {"name": "a", "provider": "openai", "api_key": random_api_key()}
    )
    assert first.credentials.list("me")[0]["decryption_error"] is None
    # A token seen once is remembered by this key ring (no second decryption) ...
    with _no_decrypt(first.keyring):
        assert first.credentials.get("me", cred["id"])["decryption_error"] is None
    # ... but a server whose primary key is another one checks it again:
    # rotation is still noticed (and done) and a wrong key still shows.
    rotated = backend_for(new, old)
    assert rotated.credentials.list("me")[0]["decryption_error"] is None
    with rotated.db.session() as s:
        token = s.get(Credential, cred["id"]).api_key_encrypted
    assert KeyRing([new.encode()]).decrypt(token)  # lazily re-encrypted under the new key
    wrong = backend_for(fernet_key())
    error = wrong.credentials.list("me")[0]["decryption_error"]
    assert error and "cannot be decrypted" in error


class _no_decrypt:
    """Fail if the key ring decrypts anything inside the block."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring

    def __enter__(self) -> None:
        def refuse(token: str) -> tuple[str, int]:
            raise AssertionError("decrypted a token it had already checked")

        self.saved = self.ring.decrypt_with_index
        self.ring.decrypt_with_index = refuse  # type: ignore[method-assign]

    def __exit__(self, *exc: object) -> None:
        self.ring.decrypt_with_index = self.saved  # type: ignore[method-assign]


def test_remembered_tokens_are_bounded_and_only_good_ones(monkeypatch):
    monkeypatch.setattr(keyring_module, "CURRENT_TOKENS_CACHE", 3)
    old, new = Fernet.generate_key(), Fernet.generate_key()
    ring = KeyRing([new, old])
    tokens = [ring.encrypt(f"secret-{i}")[0] for i in range(3)]
    for token in tokens:
        ring.decrypt_with_index(token)
    assert all(ring.known_current(t) for t in tokens)
    under_old = KeyRing([old]).encrypt("secret-old")[0]
    assert ring.decrypt_with_index(under_old) == ("secret-old", 1)
    assert not ring.known_current(under_old)  # must still be rotated
    corrupt = tokens[0][:-4] + "AAAA"
    with pytest.raises(keyring_module.DecryptionError):
        ring.decrypt_with_index(corrupt)
    assert not ring.known_current(corrupt)
    fourth = ring.encrypt("secret-4")[0]
    ring.decrypt_with_index(fourth)  # over the bound: the set starts again
    assert ring.known_current(fourth)
    assert sum(ring.known_current(t) for t in tokens) == 0
    # what it holds is ciphertext only
    assert not any("secret" in t for t in ring._current)


@pytest.mark.sqlite_only
def test_credential_reads_are_one_statement_on_sqlite(backend_for):
    """get and list are one SELECT each on the driver's connection (no BEGIN/COMMIT);
    a read of several statements keeps its transaction."""
    backend = backend_for(fernet_key())
    store = backend.credentials
    cred = store.create("me", {"name": "a", "provider": "openai", "api_key": random_api_key()})
    statements: list[str] = []

    @event.listens_for(backend.db.engine, "connect")
    def trace(dbapi_connection, _record):
        dbapi_connection.set_trace_callback(lambda sql: statements.append(sql.split()[0]))

    backend.db.engine.dispose()  # new connections, traced
    assert store.get("me", cred["id"])["id"] == cred["id"]
    assert [c["id"] for c in store.list("me", provider="OpenAI ", limit=5, offset=0)] == [
        cred["id"]
    ]
    assert store.list("me", offset=1) == []
    assert [s.upper() for s in statements] == ["SELECT", "SELECT", "SELECT"]
    statements.clear()
    store.summary("me")
    assert statements[0].upper() == "BEGIN"


@pytest.mark.sqlite_only
def test_driver_errors_become_sqlalchemy_errors(backend_for, tmp_path):
    """A locked or broken SQLite file raises what every other database call raises,
    so the handlers' 503 mapping applies to the fast path too."""
    from sqlalchemy.exc import OperationalError

    backend = backend_for(fernet_key())
    with backend.db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE on_credentials")
    with pytest.raises(OperationalError) as raised:
        backend.credentials.get("me", "secret-looking-id")
    assert "secret-looking-id" not in str(raised.value)  # parameters hidden, as the engine


def test_dump_json_matches_the_standard_library():
    data = {"a": [1, 2.5, None, True], "é": "ünïcode\u2028", "n": {"x": ""}}
    assert json.loads(dump_json(data)) == data
    huge = {"big": 2**70}  # orjson refuses past 64 bits; the fallback does not
    assert json.loads(dump_json(huge)) == huge


@pytest.mark.parametrize(
    "stored",
    [
        "2026-11-23 13:55:42.619969",
        "2026-01-02 03:04:05.000000",
        "2026-01-02T03:04:05",
        "2026-01-02 03:04:05.5",
    ],
)
def test_isoformat_of_sqlite_text_matches_datetime(stored):
    from datetime import datetime, timezone

    from open_notebook_ext.db.common import isoformat

    expected = datetime.fromisoformat(stored).replace(tzinfo=timezone.utc).isoformat()
    assert isoformat(stored) == expected
    assert isoformat(datetime.fromisoformat(stored)) == expected
