"""Key rotation of stored credentials: the one re-encryption path.

A key written under an older (still configured) key is re-encrypted under the
primary key when it is read (lazy rotation, as JupyterHub does with
``auth_state``) and, for every owner, by ``jupyter open-notebook rotate``; both
write with the same compare-and-swap statement, so a concurrent update or
rotation wins. ``verify`` and ``admin_summary`` report on every owner's rows.
"""

from __future__ import annotations

import builtins
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from open_notebook_ext.db.engine import Database
from open_notebook_ext.db.orm import Credential
from open_notebook_ext.vault.keyring import DecryptionError, KeyRing

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


class RotatingStore:
    """Re-encryption and the cross-owner reports of :class:`CredentialStore`."""

    db: Database
    keyring: KeyRing

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
