"""Key rotation: MultiFernet key lists, lazy re-encryption, and `jupyter open-notebook rotate`
run against a live server."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken

from open_notebook_ext.vault.credentials import Rotation
from open_notebook_ext.vault.keyring import key_id
from support.rotation import fill, open_store, tokens


def fernet_key() -> str:
    return Fernet.generate_key().decode()


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


def test_lazy_rotation_on_read(store_env, tmp_path, db_url):
    old, new = fernet_key(), fernet_key()
    plain = fill(store_env(old), 3, "c")
    backend = store_env(new, old)
    cid = next(iter(plain))
    assert backend.credentials.get("me", cid)["decryption_error"] is None
    token, kid = tokens(db_url)[cid]
    assert kid == key_id(new.encode())
    assert Fernet(new.encode()).decrypt(token.encode()).decode() == plain[cid]
    others = [t for i, (t, _) in tokens(db_url).items() if i != cid]
    with pytest.raises(InvalidToken):
        Fernet(new.encode()).decrypt(others[0].encode())  # not read yet: untouched
    backend.credentials.list("me")
    for token, kid in tokens(db_url).values():
        assert kid == key_id(new.encode())
        Fernet(new.encode()).decrypt(token.encode())


def test_compare_and_swap_counts_only_rows_it_changed(store_env, db_url):
    """Rotation's compare-and-swap is one executemany; its rowcount (what the summary
    reports) counts exactly the rows that still held the token that was read, on
    both drivers (sqlite3 and psycopg)."""
    old, new = fernet_key(), fernet_key()
    plain = fill(store_env(old), 12, "c")
    backend = store_env(new, old)
    stored = tokens(db_url)
    swaps = []
    for i, cid in enumerate(sorted(plain)):
        new_token, kid = backend.keyring.encrypt(plain[cid])
        # every third row changed meanwhile (another server rewrote it): must not match
        swaps.append(Rotation(cid, "gAAAAAstale" if i % 3 == 0 else stored[cid][0], new_token, kid))
    assert backend.credentials._apply_rotations(swaps) == 8
    after = tokens(db_url)
    assert sum(after[cid][0] != stored[cid][0] for cid in plain) == 8
    # a batch where nothing is stale, then one where everything is
    last, report = backend.credentials.rotate_batch("", 100)
    assert last is None and report.re_encrypted == 4 and report.already_current == 8
    backend.close()
