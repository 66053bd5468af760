"""Credential storage: owner-scoped CRUD with the API key encrypted by the key ring.

Nothing here knows HTTP. Every method takes the owner and touches only that
owner's rows; every write is one transaction. Responses never carry the key:
only ``has_api_key``, a short hint and, when the stored token cannot be
decrypted, a ``decryption_error`` saying why.
"""

from __future__ import annotations

import builtins
import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from open_notebook_ext.db.common import new_id
from open_notebook_ext.db.engine import Database, locked
from open_notebook_ext.db.orm import Credential, utcnow
from open_notebook_ext.errors import Conflict, InvalidInput, NotFound
from open_notebook_ext.vault.fields import (
    KEY_ACCESS_BACK_TO_READ,
    destination_changes,
    key_needed_for,
    missing_required,
    unused_fields,
)
from open_notebook_ext.vault.fields import OPTIONAL_COLUMNS as _OPTIONAL_COLUMNS
from open_notebook_ext.vault.keyring import DecryptionError, KeyRing
from open_notebook_ext.vault.listing import NOT_FOUND as NOT_FOUND
from open_notebook_ext.vault.listing import ListingStore
from open_notebook_ext.vault.models import CredentialCreate, CredentialUpdate, parse
from open_notebook_ext.vault.providers import PROVIDERS

# Re-exported: the CLI and tests import these from here.
from open_notebook_ext.vault.rotation import Rotation as Rotation
from open_notebook_ext.vault.rotation import RotationReport as RotationReport

log = logging.getLogger(__name__)

KEY_MISMATCH = (
    "API keys cannot be stored while the encryption key does not match the one this "
    "database was written with (key_check: mismatch): a key stored now would be encrypted "
    "under a different key than the others. Start Jupyter with the original key, or add the "
    "original key to OpenNotebookApp.encryption_keys (OPEN_NOTEBOOK_ENCRYPTION_KEYS, after "
    "the new one) and run `jupyter open-notebook rotate`."
)
HINT_MIN_LENGTH = 12


def key_hint(api_key: str) -> str | None:
    """``••••`` and the last four characters, only when that still hides most of the key."""
    if len(api_key) < HINT_MIN_LENGTH:
        return None
    return "\u2022\u2022\u2022\u2022" + api_key[-4:]


class CredentialStore(ListingStore):
    """CRUD over :class:`Credential` rows for one owner at a time."""

    def __init__(
        self, db: Database, keyring: KeyRing, key_check: Callable[[], str] | None = None
    ) -> None:
        super().__init__()
        self.db = db
        self.keyring = keyring
        # ok | mismatch | not_configured, read now (Backend.key_check); None: not checked
        self.key_check = key_check

    # -- reading (list, get and list_json: ListingStore) -----------------------

    def _row(
        self, session: Any, owner: str, credential_id: str, lock: str | None = None
    ) -> Credential:
        row = session.scalar(
            locked(
                select(Credential).where(Credential.id == credential_id, Credential.owner == owner),
                lock,
            )
        )
        if row is None:
            raise NotFound(NOT_FOUND)
        return row

    def summary(self, owner: str) -> dict[str, Any]:
        """Counts for the status endpoint: per provider and how many cannot be decrypted."""
        with self.db.session() as s:
            rows = s.execute(
                select(Credential.provider, Credential.api_key_encrypted).where(
                    Credential.owner == owner
                )
            ).all()
        by_provider = Counter(p for p, _ in rows)
        undecryptable = 0
        for _, token in rows:
            if token is None:
                continue
            try:
                self.keyring.decrypt(token)
            except DecryptionError:
                undecryptable += 1
        return {
            "configured": {p: by_provider.get(p, 0) > 0 for p in PROVIDERS},
            "source": {p: "database" if by_provider.get(p) else "none" for p in PROVIDERS},
            "counts": {
                "total": len(rows),
                "by_provider": dict(sorted(by_provider.items())),
                "undecryptable": undecryptable,
            },
        }

    # -- writing -------------------------------------------------------------

    def _check_key_writable(self) -> None:
        """Refuse to encrypt a key while the key check says mismatch: the database would
        end up with keys under two unrelated keys, and only one of them configured."""
        if self.key_check is not None and self.key_check() == "mismatch":
            raise Conflict(KEY_MISMATCH)

    def _set_key(self, row: Credential, api_key: str) -> None:
        row.api_key_encrypted, row.key_id = self.keyring.encrypt(api_key)
        row.api_key_hint = key_hint(api_key)

    def create(self, owner: str, payload: Any) -> dict[str, Any]:
        row = self.new_row(owner, payload)
        try:
            with self.db.session(write=True) as s:
                s.add(row)
                s.flush()
                return self.to_json(row)
        except IntegrityError:
            raise Conflict(
                f"A credential with this name already exists for provider {row.provider}",
                "name",
            ) from None

    def new_row(self, owner: str, payload: Any) -> Credential:
        """A validated create request as a row, its key encrypted; nothing is written
        (``create``, and imports that add several rows in one transaction)."""
        req = parse(CredentialCreate, payload)
        spec = PROVIDERS[req.provider]
        sent = req.model_dump(exclude_unset=True)
        errors = unused_fields(spec, sent) + missing_required(
            spec, sent, has_key=req.api_key is not None
        )
        if errors:
            raise InvalidInput(errors)
        if req.api_key is not None:
            self._check_key_writable()
        now = utcnow()
        row = Credential(
            id=new_id("credential"),
            owner=owner,
            name=req.name,
            provider=spec.name,
            modalities=req.modalities or list(spec.modalities),
            key_access=req.key_access or "read",
            created=now,
            updated=now,
            **{c: getattr(req, c) for c in _OPTIONAL_COLUMNS},
        )
        if req.api_key is not None:
            self._set_key(row, req.api_key)  # raises EncryptionNotConfigured before any write
        return row

    def update(self, owner: str, credential_id: str, payload: Any) -> dict[str, Any]:
        req = parse(CredentialUpdate, payload)
        sent = req.model_dump(exclude_unset=True)
        if req.api_key is not None:
            self._check_key_writable()
        try:
            with self.db.session(write=True) as s:
                # locked: the validation below must see the row it updates
                row = self._row(s, owner, credential_id, lock="no_key_update")
                spec = PROVIDERS.get(row.provider)
                if spec is not None:
                    merged = {c: sent.get(c, getattr(row, c)) for c in _OPTIONAL_COLUMNS}
                    has_key = sent.get("api_key") is not None or row.api_key_encrypted is not None
                    errors = unused_fields(spec, sent) + missing_required(spec, merged, has_key)
                    if errors:
                        raise InvalidInput(errors)
                if row.api_key_encrypted is not None and req.api_key is None:
                    # A browser session (cookie and _xsrf) must not be able to point a
                    # stored key at another host and then have it sent there.
                    changed = destination_changes(sent, row)
                    if changed:
                        raise key_needed_for(changed)
                    if row.key_access == "proxy" and sent.get("key_access") == "read":
                        raise InvalidInput(
                            [{"field": "api_key", "message": KEY_ACCESS_BACK_TO_READ}]
                        )
                if sent.get("key_access") is not None:
                    row.key_access = req.key_access  # type: ignore[assignment]
                if "name" in sent:
                    row.name = req.name  # type: ignore[assignment]  # SQLAlchemy Column typed as str; the model field is validated non-None here
                if sent.get("modalities") is not None:
                    row.modalities = req.modalities  # type: ignore[assignment]  # a list of modalities stored through the JSON column type
                for column in _OPTIONAL_COLUMNS:
                    if column in sent:
                        setattr(row, column, getattr(req, column))
                if req.api_key is not None:
                    self._set_key(row, req.api_key)
                row.updated = utcnow()
                s.flush()
                return self.to_json(row)
        except IntegrityError:
            raise Conflict(
                "A credential with this name already exists for this provider", "name"
            ) from None

    def delete(self, owner: str, credential_id: str) -> dict[str, Any]:
        """Delete; returns what was deleted (id, name, provider) for the audit trail."""
        with self.db.session(write=True) as s:
            row = self._row(s, owner, credential_id, lock="update")
            deleted = {"id": row.id, "name": row.name, "provider": row.provider}
            s.delete(row)
        return deleted

    # -- using the keys (kernel client, redaction, connection test) ----------------

    def change_marker(self, owner: str) -> str:
        """Changes whenever a name or stored key of ``owner``'s credentials changes, or one
        is added or removed, whichever server did it.

        A digest of exactly what the redactor is built from (names, encrypted keys and
        whether each is handed out; a new key is always a new token), read from the
        database each time, so it does not depend on clocks agreeing between servers.
        """
        digest = hashlib.sha256()
        with self.db.session() as s:
            for cid, name, token, access in s.execute(
                select(
                    Credential.id,
                    Credential.name,
                    Credential.api_key_encrypted,
                    Credential.key_access,
                )
                .where(Credential.owner == owner)
                .order_by(Credential.id)
            ):
                digest.update(f"{cid}\0{name}\0{token or ''}\0{access}\n".encode())
        return digest.hexdigest()

    def plaintext_keys(
        self, owner: str, *, readable_only: bool = False
    ) -> builtins.list[tuple[str, str]]:
        """(name, key) for every key of ``owner`` that decrypts; for the output redactor
        (``readable_only``: only the keys that are handed out, ``key_access: read``)."""
        out = []
        query = select(Credential.name, Credential.api_key_encrypted).where(
            Credential.owner == owner, Credential.api_key_encrypted.is_not(None)
        )
        if readable_only:
            query = query.where(Credential.key_access == "read")
        with self.db.session() as s:
            rows = s.execute(query).all()
        for name, token in rows:
            try:
                assert token is not None  # the query selects stored keys only
                out.append((name, self.keyring.decrypt(token)))
            except DecryptionError:
                continue
        return out
