"""Credential storage: owner-scoped CRUD with the API key encrypted by the key ring.

Nothing here knows HTTP. Every method takes the owner and touches only that
owner's rows; every write is one transaction. Responses never carry the key:
only ``has_api_key``, a short hint and, when the stored token cannot be
decrypted, a ``decryption_error`` saying why.
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Table, Text, bindparam, select, type_coerce
from sqlalchemy.exc import IntegrityError

from open_notebook_ext.db.common import isoformat, new_id
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
from open_notebook_ext.vault.models import CredentialCreate, CredentialUpdate, parse
from open_notebook_ext.vault.providers import PROVIDERS
from open_notebook_ext.vault.rotation import RotatingStore

# Re-exported: the CLI and tests import these from here.
from open_notebook_ext.vault.rotation import Rotation as Rotation
from open_notebook_ext.vault.rotation import RotationReport as RotationReport

log = logging.getLogger(__name__)

_TABLE = cast(Table, Credential.__table__)  # the ORM types it as any FromClause

NOT_FOUND = "Credential not found"
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


# What a credential's JSON is made of. Reads select exactly these (plain rows, no
# ORM objects: a list of thousands costs a fraction), the JSON column as text,
# decoded once per distinct value.
_JSON_COLUMNS = (
    "id",
    "name",
    "provider",
    "modalities",
    *_OPTIONAL_COLUMNS,
    "key_access",
    "api_key_encrypted",
    "api_key_hint",
    "created",
    "updated",
)
_LIST_COLUMNS = [
    type_coerce(_TABLE.c[c], Text).label(c) if c == "modalities" else _TABLE.c[c]
    for c in _JSON_COLUMNS
]

# Built once: constructing a statement per request costs more than running it
# (and Database.fetch_all compiles each statement once).
_GET_ONE = select(*_LIST_COLUMNS).where(
    _TABLE.c.owner == bindparam("owner"), _TABLE.c.id == bindparam("cid")
)
_NO_LIMIT = 2**62


def _list_statement(by_provider: bool, paged: bool) -> Any:
    query = select(*_LIST_COLUMNS).where(_TABLE.c.owner == bindparam("owner"))
    if by_provider:
        query = query.where(_TABLE.c.provider == bindparam("provider"))
    query = query.order_by(_TABLE.c.provider, _TABLE.c.created, _TABLE.c.id)
    if paged:
        query = query.limit(bindparam("limit")).offset(bindparam("offset"))
    return query


_LIST = {(p, g): _list_statement(p, g) for p in (False, True) for g in (False, True)}


@functools.lru_cache(maxsize=1024)
def _decode_modalities(raw: str) -> tuple[str, ...]:
    return tuple(json.loads(raw))


def _modalities(value: Any) -> builtins.list[str]:
    """A row's modalities as a new list: decoded JSON text, or a list the driver decoded."""
    if not value:
        return []
    if isinstance(value, str):
        return list(_decode_modalities(value))
    return list(value)


class CredentialStore(RotatingStore):
    """CRUD over :class:`Credential` rows for one owner at a time."""

    def __init__(
        self, db: Database, keyring: KeyRing, key_check: Callable[[], str] | None = None
    ) -> None:
        self.db = db
        self.keyring = keyring
        # ok | mismatch | not_configured, read now (Backend.key_check); None: not checked
        self.key_check = key_check

    # -- reading -------------------------------------------------------------

    def _json(
        self, values: dict[str, Any], rotations: builtins.list[Rotation] | None
    ) -> dict[str, Any]:
        """The API shape, from a dict of the ``_JSON_COLUMNS`` values (consumed)."""
        token = values.pop("api_key_encrypted")
        values.update(
            modalities=_modalities(values["modalities"]),
            has_api_key=token is not None,
            created=isoformat(values["created"]),
            updated=isoformat(values["updated"]),
            model_count=0,
            decryption_error=self._check_token(values["id"], token, rotations),
        )
        return values

    def to_json(
        self, row: Credential, rotations: builtins.list[Rotation] | None = None
    ) -> dict[str, Any]:
        return self._json({c: getattr(row, c) for c in _JSON_COLUMNS}, rotations)

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

    def list(
        self, owner: str, provider: str | None = None, limit: int | None = None, offset: int = 0
    ) -> builtins.list[dict[str, Any]]:
        params: dict[str, Any] = {"owner": owner}
        if provider is not None:
            params["provider"] = provider.strip().lower()
        paged = limit is not None or offset
        if paged:
            params.update(limit=_NO_LIMIT if limit is None else limit, offset=offset)
        rows = self.db.fetch_all(_LIST[provider is not None, bool(paged)], params)
        rotations: list[Rotation] = []
        result = [self._json(dict(zip(_JSON_COLUMNS, row, strict=True)), rotations) for row in rows]
        self.rotate_lazily(rotations)
        return result

    def get(self, owner: str, credential_id: str) -> dict[str, Any]:
        rows = self.db.fetch_all(_GET_ONE, {"owner": owner, "cid": credential_id})
        if not rows:
            raise NotFound(NOT_FOUND)
        rotations: list[Rotation] = []
        result = self._json(dict(zip(_JSON_COLUMNS, rows[0], strict=True)), rotations)
        self.rotate_lazily(rotations)
        return result

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

        A digest of exactly what the redactor is built from (names and encrypted
        keys; a new key is always a new token), read from the database each time,
        so it does not depend on clocks agreeing between servers.
        """
        digest = hashlib.sha256()
        with self.db.session() as s:
            for cid, name, token in s.execute(
                select(Credential.id, Credential.name, Credential.api_key_encrypted)
                .where(Credential.owner == owner)
                .order_by(Credential.id)
            ):
                digest.update(f"{cid}\0{name}\0{token or ''}\n".encode())
        return digest.hexdigest()

    def plaintext_keys(self, owner: str) -> builtins.list[tuple[str, str]]:
        """(name, key) for every key of ``owner`` that decrypts; for the output redactor."""
        out = []
        with self.db.session() as s:
            rows = s.execute(
                select(Credential.name, Credential.api_key_encrypted).where(
                    Credential.owner == owner, Credential.api_key_encrypted.is_not(None)
                )
            ).all()
        for name, token in rows:
            try:
                assert token is not None  # the query selects stored keys only
                out.append((name, self.keyring.decrypt(token)))
            except DecryptionError:
                continue
        return out
