"""Open the storage side once: database, key material, key ring, stores, key check.

Shared by the server extension (at start-up) and the ``jupyter open-notebook``
command line, so both resolve the same database and key the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from .errors import ConfigError
from .keyring import MISMATCH_MESSAGE, KeyMaterial, KeyRing, new_salt, resolve_key_material
from .store import CredentialStore, Database

META_SALT = "kdf_salt"
META_KEY_CHECK = "key_check"


@dataclass
class Backend:
    db: Database
    material: KeyMaterial
    keyring: KeyRing
    credentials: CredentialStore
    key_check: str  # ok | mismatch | not_configured

    def key_status(self) -> dict[str, object]:
        return {
            "encryption_configured": self.keyring.configured,
            "key_source": self.material.source,
            "key_file": self.material.path if self.material.source in ("generated", "file")
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
    except (SQLAlchemyError, OSError, ImportError) as e:
        try:
            safe = make_url(db_url).render_as_string(hide_password=True)
        except Exception:
            safe = "(unparsable URL)"
        raise ConfigError(
            f"cannot open the database {safe}: {type(e).__name__} {getattr(e, 'orig', None) or e}"
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
        env, encryption_key, generate_key, Path(data_dir) / "encryption.key",
        configured_list=encryption_keys, create_missing=create_key,
    )
    keyring = KeyRing.from_material(
        material,
        salt=lambda: bytes.fromhex(db.get_or_create_meta(META_SALT, lambda: new_salt().hex())),
    )
    credentials = CredentialStore(db, keyring)
    backend = Backend(db, material, keyring, credentials, "not_configured")
    backend.key_check = check_key(backend, log)
    return backend


def check_key(backend: Backend, log: logging.Logger) -> str:
    """Compare the key with the check value the database was written with."""
    keyring, db = backend.keyring, backend.db
    if not keyring.configured:
        return "not_configured"
    check = db.get_or_create_meta(META_KEY_CHECK, keyring.make_check)
    index = keyring.check_index(check)
    if index == 0:
        return "ok"
    if index is not None:
        # Written under an older key that is still configured: the primary takes over.
        db.set_meta(META_KEY_CHECK, keyring.make_check())
        return "ok"
    if backend.credentials.count_encrypted() == 0:
        # Nothing was ever encrypted with the old key: adopt the new one.
        db.set_meta(META_KEY_CHECK, keyring.make_check())
        log.info("Encryption key changed while no keys were stored; adopted the new key")
        return "ok"
    log.error(
        "Open Notebook: %s. Stored API keys cannot be decrypted until the original key is "
        "configured again; they are listed with decryption_error set.",
        MISMATCH_MESSAGE,
    )
    return "mismatch"
