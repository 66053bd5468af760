"""Open the storage side once: database, key material, key ring, stores, key check.

Shared by the server extension (at start-up) and the ``jupyter open-notebook``
command line, so both resolve the same database and key the same way.

The key check is shared state: several servers may use one database, and one
of them may replace the stored check value (adopting its key while nothing is
encrypted, or taking over from an older key after a rotation). So
:attr:`Backend.key_check` re-reads the stored value whenever it is asked,
instead of trusting what was true at start-up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError

from .errors import ConfigError
from .keyring import MISMATCH_MESSAGE, KeyMaterial, KeyRing, new_salt, resolve_key_material
from .store import CredentialStore, Database
from .store.db import safe_url, scrub
from .store.orm import Credential, Meta

META_SALT = "kdf_salt"
META_KEY_CHECK = "key_check"


@dataclass
class Backend:
    db: Database
    material: KeyMaterial
    keyring: KeyRing
    credentials: CredentialStore
    log: logging.Logger
    # stored check value -> verdict (the same value always gets the same verdict)
    _verdicts: dict[str | None, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def key_check(self) -> str:
        """ok | mismatch | not_configured, from the check value stored right now."""
        if not self.keyring.configured:
            return "not_configured"
        stored = self.db.get_meta(META_KEY_CHECK)
        with self._lock:
            verdict = self._verdicts.get(stored)
            if verdict is None:
                index = self.keyring.check_index(stored) if stored is not None else 0
                verdict = "ok" if index is not None else "mismatch"
                if verdict == "mismatch" and self._verdicts:
                    # it was fine before: another server changed the database's key
                    self.log.error("Open Notebook: %s (changed since start-up).", MISMATCH_MESSAGE)
                self._verdicts[stored] = verdict
        return verdict

    def key_status(self) -> dict[str, object]:
        return {
            "encryption_configured": self.keyring.configured,
            "key_source": self.material.source,
            "key_file": self.material.path
            if self.material.source in ("generated", "file")
            else None,
            "key_check": self.key_check,
            "keys": len(self.keyring.key_ids),
        }

    def close(self) -> None:
        self.db.dispose()


def open_database(db_url: str, *, upgrade: bool = True) -> Database:
    try:
        db = Database(db_url)
        if upgrade:
            db.upgrade()
        return db
    except (SQLAlchemyError, OSError, ImportError, ValueError) as e:
        raise ConfigError(
            f"cannot open the database {safe_url(db_url)}: {type(e).__name__} "
            f"{scrub(str(getattr(e, 'orig', None) or e), db_url)}"
        ) from None


def open_backend(
    *,
    db_url: str,
    data_dir: str,
    env: Mapping[str, str],
    encryption_key: str = "",
    encryption_keys: Sequence[str] = (),
    generate_key: bool = True,
    create_key: bool = True,
    log: logging.Logger,
) -> Backend:
    """Open everything; raises ConfigError / KeyConfigError for configuration that cannot work."""
    Path(data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
    db = open_database(db_url)
    material = resolve_key_material(
        env,
        encryption_key,
        generate_key,
        Path(data_dir) / "encryption.key",
        configured_list=encryption_keys,
        create_missing=create_key,
    )
    keyring = KeyRing.from_material(
        material,
        salt=lambda: bytes.fromhex(db.get_or_create_meta(META_SALT, lambda: new_salt().hex())),
    )
    credentials = CredentialStore(db, keyring)
    backend = Backend(db, material, keyring, credentials, log)
    # no key is written while the key check says mismatch (it is re-read on each write)
    credentials.key_check = lambda: backend.key_check
    check_key(backend, log)
    backend.key_check  # noqa: B018 - remember the verdict at start-up
    return backend


def check_key(backend: Backend, log: logging.Logger) -> str:
    """Compare the key with the check value the database was written with, at start-up.

    The check value is replaced (in one transaction that holds its row lock, so
    servers starting together agree) when it was written by an older key that is
    still configured, or when no key at all is stored under the old key.
    """
    keyring, db = backend.keyring, backend.db
    if not keyring.configured:
        return "not_configured"
    check = db.get_or_create_meta(META_KEY_CHECK, keyring.make_check)
    if keyring.check_index(check) == 0:
        return "ok"
    with db.session(write=True) as s:
        check = s.scalar(select(Meta.value).where(Meta.key == META_KEY_CHECK).with_for_update())
        index = keyring.check_index(check) if check is not None else None
        if index == 0:
            return "ok"
        adopt = index is not None or not s.scalar(
            select(func.count())
            .select_from(Credential)
            .where(Credential.api_key_encrypted.is_not(None))
        )
        if adopt:
            # An older key that is still configured wrote it (the primary takes over), or
            # nothing was ever encrypted with the old key (the new one is adopted).
            s.execute(
                update(Meta).where(Meta.key == META_KEY_CHECK).values(value=keyring.make_check())
            )
            if index is None:
                log.info("Encryption key changed while no keys were stored; adopted the new key")
            return "ok"
    log.error(
        "Open Notebook: %s. Stored API keys cannot be decrypted until the original key is "
        "configured again; they are listed with decryption_error set.",
        MISMATCH_MESSAGE,
    )
    return "mismatch"
