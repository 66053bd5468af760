"""Credential storage: owner-scoped CRUD with the API key encrypted by the key ring.

Nothing here knows HTTP. Every method takes the owner and touches only that
owner's rows; every write is one transaction. Responses never carry the key:
only ``has_api_key``, a short hint and, when the stored token cannot be
decrypted, a ``decryption_error`` saying why.
"""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, InvalidInput, NotFound
from ..keyring import DecryptionError, KeyRing
from ..providers import PROVIDERS, ProviderSpec
from ..schemas import CredentialCreate, CredentialUpdate, parse
from .db import Database
from .orm import Credential, utcnow

NOT_FOUND = "Credential not found"
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


def new_id(kind: str) -> str:
    """Open Notebook style record ids: ``<table>:<20 random characters>``."""
    return f"{kind}:{secrets.token_hex(10)}"


def key_hint(api_key: str) -> str | None:
    """``••••`` and the last four characters, only when that still hides most of the key."""
    if len(api_key) < HINT_MIN_LENGTH:
        return None
    return "\u2022\u2022\u2022\u2022" + api_key[-4:]


def isoformat(value: datetime) -> str:
    if value.tzinfo is None:  # SQLite hands back naive datetimes; we only store UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


def _missing_required(spec: ProviderSpec, values: dict[str, Any], has_key: bool) -> list[dict]:
    errors = []
    for field in spec.required:
        present = has_key if field == "api_key" else values.get(field) not in (None, "")
        if not present:
            errors.append({"field": field,
                           "message": f"is required for provider {spec.name}"})
    return errors


def _unused_fields(spec: ProviderSpec, sent: dict[str, Any]) -> list[dict]:
    allowed = set(spec.fields)
    return [
        {"field": f, "message": f"is not used by provider {spec.name}"}
        for f, v in sent.items()
        if f in (*_OPTIONAL_COLUMNS, "api_key") and v is not None and f not in allowed
    ]


class CredentialStore:
    """CRUD over :class:`Credential` rows for one owner at a time."""

    def __init__(self, db: Database, keyring: KeyRing) -> None:
        self.db = db
        self.keyring = keyring

    # -- reading -------------------------------------------------------------

    def _decryption_error(self, row: Credential) -> str | None:
        if row.api_key_encrypted is None:
            return None
        try:
            self.keyring.decrypt(row.api_key_encrypted)
        except DecryptionError as e:
            return f"API key {e}"
        return None

    def to_json(self, row: Credential) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": row.id,
            "name": row.name,
            "provider": row.provider,
            "modalities": list(row.modalities or []),
        }
        for column in _OPTIONAL_COLUMNS:
            data[column] = getattr(row, column)
        data.update(
            has_api_key=row.api_key_encrypted is not None,
            api_key_hint=row.api_key_hint,
            created=isoformat(row.created),
            updated=isoformat(row.updated),
            model_count=0,
            decryption_error=self._decryption_error(row),
        )
        return data

    def _row(self, session: Any, owner: str, credential_id: str) -> Credential:
        row = session.scalar(
            select(Credential).where(Credential.id == credential_id, Credential.owner == owner)
        )
        if row is None:
            raise NotFound(NOT_FOUND)
        return row

    def list(
        self, owner: str, provider: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[dict[str, Any]]:
        query = select(Credential).where(Credential.owner == owner)
        if provider is not None:
            query = query.where(Credential.provider == provider.strip().lower())
        query = query.order_by(Credential.provider, Credential.created, Credential.id)
        if offset:
            query = query.offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self.db.session() as s:
            return [self.to_json(row) for row in s.scalars(query)]

    def get(self, owner: str, credential_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            return self.to_json(self._row(s, owner, credential_id))

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

    def count_encrypted(self) -> int:
        """Rows of every owner holding an encrypted key (used by the start-up key check)."""
        with self.db.session() as s:
            return s.scalar(
                select(func.count()).select_from(Credential).where(
                    Credential.api_key_encrypted.is_not(None)
                )
            ) or 0

    # -- writing -------------------------------------------------------------

    def _set_key(self, row: Credential, api_key: str) -> None:
        row.api_key_encrypted, row.key_id = self.keyring.encrypt(api_key)
        row.api_key_hint = key_hint(api_key)

    def create(self, owner: str, payload: Any) -> dict[str, Any]:
        req = parse(CredentialCreate, payload)
        spec = PROVIDERS[req.provider]
        sent = req.model_dump(exclude_unset=True)
        errors = _unused_fields(spec, sent) + _missing_required(
            spec, sent, has_key=req.api_key is not None
        )
        if errors:
            raise InvalidInput(errors)
        now = utcnow()
        row = Credential(
            id=new_id("credential"),
            owner=owner,
            name=req.name,
            provider=spec.name,
            modalities=req.modalities or list(spec.modalities),
            created=now,
            updated=now,
            **{c: getattr(req, c) for c in _OPTIONAL_COLUMNS},
        )
        if req.api_key is not None:
            self._set_key(row, req.api_key)  # raises EncryptionNotConfigured before any write
        try:
            with self.db.session(write=True) as s:
                s.add(row)
                s.flush()
                return self.to_json(row)
        except IntegrityError:
            raise Conflict(
                f"A credential with this name already exists for provider {spec.name}"
            ) from None

    def update(self, owner: str, credential_id: str, payload: Any) -> dict[str, Any]:
        req = parse(CredentialUpdate, payload)
        sent = req.model_dump(exclude_unset=True)
        try:
            with self.db.session(write=True) as s:
                row = self._row(s, owner, credential_id)
                spec = PROVIDERS.get(row.provider)
                if spec is not None:
                    merged = {c: sent.get(c, getattr(row, c)) for c in _OPTIONAL_COLUMNS}
                    has_key = sent.get("api_key") is not None or row.api_key_encrypted is not None
                    errors = _unused_fields(spec, sent) + _missing_required(spec, merged, has_key)
                    if errors:
                        raise InvalidInput(errors)
                if "name" in sent:
                    row.name = req.name  # type: ignore[assignment]
                if sent.get("modalities") is not None:
                    row.modalities = req.modalities  # type: ignore[assignment]
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
                "A credential with this name already exists for this provider"
            ) from None

    def delete(self, owner: str, credential_id: str) -> dict[str, Any]:
        with self.db.session(write=True) as s:
            s.delete(self._row(s, owner, credential_id))
        return {"message": "Credential deleted successfully", "deleted_models": 0}
