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
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, Text, bindparam, func, select, type_coerce, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from open_notebook_ext.db.common import isoformat, new_id
from open_notebook_ext.db.engine import Database, locked
from open_notebook_ext.db.orm import Credential, utcnow
from open_notebook_ext.errors import Conflict, InvalidInput, NotFound
from open_notebook_ext.vault.keyring import DecryptionError, KeyRing
from open_notebook_ext.vault.models import CredentialCreate, CredentialUpdate, parse
from open_notebook_ext.vault.providers import KEY_DESTINATION_FIELDS, PROVIDERS, ProviderSpec

log = logging.getLogger(__name__)

_TABLE = cast(Table, Credential.__table__)  # the ORM types it as any FromClause
# Compare-and-swap re-encryption, built once and run as an executemany: a row is
# rewritten only if it still holds the token that was read (a concurrent update
# or rotation wins). Building a statement per row costs more than the crypto.
_SWAP_TOKEN = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"), _TABLE.c.api_key_encrypted == bindparam("old"))
    .values(api_key_encrypted=bindparam("new"), key_id=bindparam("kid"))
)
_SET_KEY_ID = (
    update(_TABLE).where(_TABLE.c.id == bindparam("row_id")).values(key_id=bindparam("kid"))
)

NOT_FOUND = "Credential not found"
KEY_MISMATCH = (
    "API keys cannot be stored while the encryption key does not match the one this "
    "database was written with (key_check: mismatch): a key stored now would be encrypted "
    "under a different key than the others. Start Jupyter with the original key, or add the "
    "original key to OpenNotebookApp.encryption_keys (OPEN_NOTEBOOK_ENCRYPTION_KEYS, after "
    "the new one) and run `jupyter open-notebook rotate`."
)
HINT_MIN_LENGTH = 12
_OPTIONAL_COLUMNS = (
    "base_url",
    "endpoint",
    "api_version",
    "endpoint_llm",
    "endpoint_embedding",
    "endpoint_stt",
    "endpoint_tts",
    "project",
    "location",
    "credentials_path",
    "num_ctx",
)


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


def _missing_required(
    spec: ProviderSpec, values: dict[str, Any], has_key: bool
) -> builtins.list[dict]:
    errors = []
    for name in spec.required:
        present = has_key if name == "api_key" else values.get(name) not in (None, "")
        if not present:
            errors.append({"field": name, "message": f"is required for provider {spec.name}"})
    return errors


def _unused_fields(spec: ProviderSpec, sent: dict[str, Any]) -> builtins.list[dict]:
    allowed = set(spec.fields)
    return [
        {"field": f, "message": f"is not used by provider {spec.name}"}
        for f, v in sent.items()
        if f in (*_OPTIONAL_COLUMNS, "api_key") and v is not None and f not in allowed
    ]


def _destination_changes(sent: dict[str, Any], row: Credential) -> builtins.list[str]:
    """The fields in ``sent`` that would change where the stored key is sent.

    Setting the value stored already is no change; clearing one is (the key
    would go to the provider's default host)."""
    return [f for f in KEY_DESTINATION_FIELDS if f in sent and sent[f] != getattr(row, f)]


KEY_ACCESS_BACK_TO_READ = (
    "is required to turn key_access from proxy back to read: a proxy-only key is never "
    "handed out, so only someone who has the key may make it readable again"
)


def _key_needed_for(changed: builtins.list[str]) -> InvalidInput:
    return InvalidInput(
        [
            {
                "field": "api_key",
                "message": f"is required when {', '.join(changed)} changes: the stored key is only "
                "sent to the address it was saved with, so enter the key again",
            }
        ]
    )


@dataclass(frozen=True)
class Rotation:
    id: str
    old_token: str
    new_token: str
    key_id: str

    def __repr__(self) -> str:  # tokens are ciphertext, but keep logs short and plain
        return f"Rotation({self.id!r})"


@dataclass
class RotationReport:
    re_encrypted: int = 0
    already_current: int = 0
    undecryptable: list[str] = field(default_factory=list)
    scanned: int = 0

    def add(self, other: RotationReport) -> None:
        self.re_encrypted += other.re_encrypted
        self.already_current += other.already_current
        self.undecryptable.extend(other.undecryptable)
        self.scanned += other.scanned


class CredentialStore:
    """CRUD over :class:`Credential` rows for one owner at a time."""

    def __init__(
        self, db: Database, keyring: KeyRing, key_check: Callable[[], str] | None = None
    ) -> None:
        self.db = db
        self.keyring = keyring
        # ok | mismatch | not_configured, read now (Backend.key_check); None: not checked
        self.key_check = key_check

    # -- reading -------------------------------------------------------------

    def _check_token(
        self, credential_id: str, token: str | None, rotations: list[Rotation] | None
    ) -> str | None:
        """Why the stored key cannot be decrypted, or None.

        A key written under an older (still configured) key is queued in
        ``rotations`` for re-encryption under the primary key: lazy rotation,
        as JupyterHub does with ``auth_state``.
        """
        if token is None or self.keyring.known_current(token):
            return None
        try:
            new_token, kid, changed = self.keyring.reencrypt(token)
        except DecryptionError as e:
            return f"API key {e}"
        if changed and rotations is not None:
            rotations.append(Rotation(credential_id, token, new_token, kid))
        return None

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

    def _apply_rotations(self, rotations: builtins.list[Rotation]) -> int:
        """Write re-encrypted tokens, each only if the row still holds the token we read
        (compare-and-swap: a concurrent update or rotation wins). Returns rows changed."""
        if not rotations:
            return 0
        with self.db.session(write=True) as s:
            result = s.connection().execute(
                _SWAP_TOKEN,
                [
                    {"row_id": r.id, "old": r.old_token, "new": r.new_token, "kid": r.key_id}
                    for r in rotations
                ],
            )
            return result.rowcount or 0

    def rotate_lazily(self, rotations: builtins.list[Rotation]) -> None:
        try:
            self._apply_rotations(rotations)
        except SQLAlchemyError:
            # The read succeeded; the rows will be rotated on a later read or by the CLI.
            log.warning(
                "Lazy re-encryption of %d credential(s) failed; will retry later",
                len(rotations),
                exc_info=True,
            )

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
        errors = _unused_fields(spec, sent) + _missing_required(
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
                    errors = _unused_fields(spec, sent) + _missing_required(spec, merged, has_key)
                    if errors:
                        raise InvalidInput(errors)
                if row.api_key_encrypted is not None and req.api_key is None:
                    # A browser session (cookie and _xsrf) must not be able to point a
                    # stored key at another host and then have it sent there.
                    changed = _destination_changes(sent, row)
                    if changed:
                        raise _key_needed_for(changed)
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

    # -- administration (command line; every owner) -----------------------------

    def total(self) -> int:
        with self.db.session() as s:
            return s.scalar(select(func.count()).select_from(Credential)) or 0

    def rotate_batch(self, after_id: str, batch_size: int) -> tuple[str | None, RotationReport]:
        """Re-encrypt the next ``batch_size`` rows (by id, after ``after_id``) under the
        primary key, in one transaction. Returns the last id seen (None when done).

        Idempotent: rows already under the primary key are left alone, so an
        interrupted run is resumed by running again. Safe beside a running server:
        each row is rewritten only if it still holds the token read here.
        """
        report = RotationReport()
        primary = self.keyring.primary_key_id
        with self.db.session(write=True) as s:
            rows = s.execute(
                select(Credential.id, Credential.api_key_encrypted, Credential.key_id)
                .where(Credential.id > after_id, Credential.api_key_encrypted.is_not(None))
                .order_by(Credential.id)
                .limit(batch_size)
            ).all()
            swaps, fixes = [], []
            for cid, token, kid in rows:
                report.scanned += 1
                try:
                    assert token is not None  # the query selects stored keys only
                    new_token, new_kid, changed = self.keyring.reencrypt(token)
                except DecryptionError:
                    report.undecryptable.append(cid)
                    continue
                if changed:
                    swaps.append({"row_id": cid, "old": token, "new": new_token, "kid": new_kid})
                else:
                    report.already_current += 1
                    if kid != primary:
                        fixes.append({"row_id": cid, "kid": primary})
            conn = s.connection()
            if swaps:
                swapped = conn.execute(_SWAP_TOKEN, swaps).rowcount or 0
                report.re_encrypted += swapped
                report.already_current += len(swaps) - swapped  # rewritten meanwhile
            if fixes:
                conn.execute(_SET_KEY_ID, fixes)
        last = rows[-1][0] if len(rows) == batch_size else None
        return last, report

    def verify(self) -> builtins.list[dict[str, str]]:
        """Every credential (all owners) whose key cannot be decrypted."""
        failures = []
        with self.db.session() as s:
            for row in s.scalars(select(Credential).order_by(Credential.id)):
                error = self._check_token(row.id, row.api_key_encrypted, None)
                if error:
                    failures.append(
                        {
                            "id": row.id,
                            "owner": row.owner,
                            "name": row.name,
                            "provider": row.provider,
                            "error": error,
                        }
                    )
        return failures

    def admin_summary(self) -> dict[str, Any]:
        """Counts across every owner, for ``jupyter open-notebook status``."""
        with self.db.session() as s:
            rows = s.execute(
                select(
                    Credential.provider,
                    Credential.owner,
                    Credential.api_key_encrypted,
                    Credential.key_id,
                )
            ).all()
        undecryptable = old_key = 0
        primary = self.keyring.primary_key_id
        for _, _, token, kid in rows:
            if token is None:
                continue
            try:
                self.keyring.decrypt(token)
            except DecryptionError:
                undecryptable += 1
                continue
            if kid != primary:
                old_key += 1
        return {
            "total": len(rows),
            "owners": len({o for _, o, _, _ in rows}),
            "by_provider": dict(sorted(Counter(p for p, _, _, _ in rows).items())),
            "undecryptable": undecryptable,
            "not_under_primary_key": old_key,
        }
