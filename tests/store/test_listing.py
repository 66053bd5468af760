"""``list_json`` (what GET credentials answers) is exactly ``list``, on both backends,
whatever wrote the database since the last list: the kept JSON (per row and per
list, vault/listing.py) never outlives a change, including changes made behind the
store's back (another server, the CLI, plain SQL)."""

from __future__ import annotations

import orjson
from cryptography.fernet import Fernet

from open_notebook_ext.vault.keyring import KeyRing
from support.db import execute, scalar
from support.leaks import random_api_key


def fernet_key() -> str:
    return Fernet.generate_key().decode()


def same(store, owner="me", **kw):
    """list_json, parsed, is list (same rows, same order, same values)."""
    listed = store.list(owner, **kw)
    assert orjson.loads(store.list_json(owner, **kw)) == listed
    return listed


def fill(store, n: int, owner: str = "me") -> list[dict]:
    providers = ("openai", "anthropic", "groq")
    return [
        store.create(
            owner,
            {"name": f"c{i:03d}", "provider": providers[i % 3], "api_key": random_api_key()},
        )
        for i in range(n)
    ]


def test_list_json_is_list_and_follows_the_stores_writes(backend_for):
    store = backend_for(fernet_key()).credentials
    assert store.list_json("me") == b"[]"
    made = fill(store, 7)
    fill(store, 2, owner="someone else")
    assert len(same(store)) == 7
    same(store, provider="Groq ")
    same(store, limit=3, offset=2)
    store.update("me", made[0]["id"], {"name": "renamed"})
    assert "renamed" in [c["name"] for c in same(store)]
    store.delete("me", made[1]["id"])
    assert made[1]["id"] not in [c["id"] for c in same(store)]
    fill(store, 1)
    assert len(same(store)) == 7
    assert [c["name"] for c in same(store, owner="someone else")] == ["c001", "c000"]


def test_a_write_behind_the_stores_back_shows_in_the_next_list(backend_for):
    """Another server (or the CLI, or plain SQL) changes rows: a name without touching
    ``updated``, a key replaced by something that cannot be decrypted, a row deleted,
    one inserted. The next list shows each (the change counter's trigger)."""
    backend = backend_for(fernet_key())
    store = backend.credentials
    made = fill(store, 80)  # more than REREAD_ONE_BY_ONE changed rows at once
    same(store)
    same(store, limit=10)

    execute(
        backend.db, "UPDATE on_credentials SET name = 'sneaky' WHERE id = :id", id=made[3]["id"]
    )
    assert "sneaky" in [c["name"] for c in same(store)]
    assert "sneaky" in [c["name"] for c in orjson.loads(store.list_json("me", provider="openai"))]

    execute(
        backend.db,
        "UPDATE on_credentials SET api_key_encrypted = :t WHERE id = :id",
        t=KeyRing([Fernet.generate_key()]).encrypt("another key")[0],
        id=made[4]["id"],
    )
    errors = {c["id"]: c["decryption_error"] for c in same(store)}
    assert errors[made[4]["id"]] is not None
    assert sum(e is not None for e in errors.values()) == 1

    execute(backend.db, "DELETE FROM on_credentials WHERE id = :id", id=made[5]["id"])
    assert made[5]["id"] not in [c["id"] for c in same(store)]

    # every row at once (past the one-by-one re-read)
    execute(backend.db, "UPDATE on_credentials SET api_version = 'v9' WHERE owner = 'me'")
    assert {c["api_version"] for c in same(store)} == {"v9"}
    assert {c["api_version"] for c in orjson.loads(store.list_json("me", limit=10))} == {"v9"}


def test_two_stores_on_one_database_see_each_others_writes(backend_for):
    """Two servers sharing a database: each keeps its lists, neither serves a stale one."""
    key = fernet_key()
    one, two = backend_for(key).credentials, backend_for(key).credentials
    made = fill(one, 3)
    assert orjson.loads(two.list_json("me")) == one.list("me")
    one.update("me", made[2]["id"], {"name": "changed by one"})
    assert "changed by one" in [c["name"] for c in orjson.loads(two.list_json("me"))]
    two.delete("me", made[0]["id"])
    assert [c["id"] for c in orjson.loads(one.list_json("me"))] == [made[1]["id"], made[2]["id"]]


def test_pages_cover_the_list_once_in_order(backend_for):
    """Ties in creation time are broken by id: pages of any size concatenate to the
    whole list, nothing lost or repeated, and a page past the end is empty."""
    backend = backend_for(fernet_key())
    store = backend.credentials
    fill(store, 25)
    execute(backend.db, "UPDATE on_credentials SET created = '2026-01-01 00:00:00.000000'")
    whole = same(store)
    assert len({c["id"] for c in whole}) == 25
    for size in (1, 4, 7, 25, 100):
        pages = [
            orjson.loads(store.list_json("me", limit=size, offset=o)) for o in range(0, 25, size)
        ]
        assert [c for page in pages for c in page] == whole, size
    assert store.list_json("me", limit=5, offset=25) == b"[]"
    assert store.list_json("me", limit=0) == b"[]"
    assert orjson.loads(store.list_json("me", offset=20)) == whole[20:]


def test_keys_under_an_old_key_are_rotated_and_never_kept_unrotated(backend_for, monkeypatch):
    """Lazy rotation goes on working through the kept lists: a row whose key is under
    an older key is re-encrypted by the list that reads it, and while that write fails
    the next list tries again."""
    old, new = fernet_key(), fernet_key()
    fill(backend_for(old).credentials, 3)
    store = backend_for(new, old).credentials
    queued: list[int] = []
    monkeypatch.setattr(store, "rotate_lazily", lambda rotations: queued.append(len(rotations)))
    store.list_json("me")
    store.list_json("me")
    assert queued == [3, 3]  # nothing kept while the rows still need re-encrypting
    monkeypatch.undo()
    under_primary = "SELECT count(*) FROM on_credentials WHERE key_id = :k"
    assert scalar(store.db, under_primary, k=store.keyring.primary_key_id) == 0
    store.list_json("me")  # re-encrypts
    assert scalar(store.db, under_primary, k=store.keyring.primary_key_id) == 3
    assert all(c["decryption_error"] is None for c in same(store))


def test_nothing_secret_is_kept_or_listed(backend_for):
    store = backend_for(fernet_key()).credentials
    key = random_api_key()
    store.create("me", {"name": "k", "provider": "openai", "api_key": key})
    body = store.list_json("me")
    assert key.encode() not in body
    kept = b"".join(b for _, b in store._kept.values())
    kept += b"".join(b for _, b in store._lists.values())
    assert key.encode() not in kept
    assert key[-4:].encode() in body  # the hint, as in every credential's JSON
