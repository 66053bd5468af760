"""Grants: which notebooks may read which credential's key. Owner-scoped, like everything."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import InvalidInput, NotFound
from .credentials import NOT_FOUND, isoformat, new_id
from .db import Database
from .orm import Credential, Grant, utcnow

GRANT_NOT_FOUND = "Grant not found"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalise_path(path: str) -> str:
    """A notebook's API path: relative to the Jupyter root, '/'-separated, no '..'."""
    text = path.strip().replace("\\", "/").lstrip("/")
    if not text:
        raise ValueError("must not be blank")
    if len(text) > 1024:
        raise ValueError("must be at most 1024 characters")
    if _CONTROL.search(text):
        raise ValueError("must not contain control characters")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise ValueError("must not contain '..'")
    return posixpath.join(*parts)


def _at_or_under(path: str) -> Any:
    """The notebook at ``path``, or anything in the directory ``path``."""
    return (Grant.notebook_path == path) | Grant.notebook_path.startswith(
        path + "/", autoescape=True)


class GrantStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _json(grant: Grant, credential: Credential) -> dict[str, Any]:
        return {
            "id": grant.id,
            "credential_id": grant.credential_id,
            "credential_name": credential.name,
            "provider": credential.provider,
            "notebook_path": grant.notebook_path,
            "created": isoformat(grant.created),
        }

    def list(self, owner: str, credential_id: str | None = None,
             notebook_path: str | None = None) -> list[dict[str, Any]]:
        query = (select(Grant, Credential).join(Credential, Credential.id == Grant.credential_id)
                 .where(Grant.owner == owner, Credential.owner == owner))
        if credential_id:
            query = query.where(Grant.credential_id == credential_id)
        if notebook_path:
            try:
                path = normalise_path(notebook_path)
            except ValueError as e:
                raise InvalidInput([{"field": "notebook_path", "message": str(e)}]) from None
            query = query.where(Grant.notebook_path == path)
        query = query.order_by(Grant.notebook_path, Credential.name)
        with self.db.session() as s:
            return [self._json(g, c) for g, c in s.execute(query).all()]

    def grant(self, owner: str, payload: Any) -> tuple[dict[str, Any], bool]:
        """Allow a notebook to read a credential; (grant, created). Idempotent."""
        from ..schemas import GrantRequest, parse  # pydantic loads on first use

        req = parse(GrantRequest, payload)
        try:
            with self.db.session(write=True) as s:
                # locked: the credential must not be deleted before the grant is in
                credential = s.scalar(select(Credential).where(
                    Credential.id == req.credential_id, Credential.owner == owner)
                    .with_for_update(read=True, key_share=True))
                if credential is None:
                    raise NotFound(NOT_FOUND)
                existing = s.scalar(select(Grant).where(
                    Grant.owner == owner, Grant.credential_id == req.credential_id,
                    Grant.notebook_path == req.notebook_path))
                if existing is not None:
                    return self._json(existing, credential), False
                grant = Grant(id=new_id("grant"), owner=owner, credential_id=credential.id,
                              notebook_path=req.notebook_path, created=utcnow())
                s.add(grant)
                s.flush()
                return self._json(grant, credential), True
        except IntegrityError:
            # a concurrent identical grant won: that is the same outcome
            existing = self.list(owner, req.credential_id, req.notebook_path)
            if not existing:  # or the credential was deleted meanwhile
                raise NotFound(NOT_FOUND) from None
            return existing[0], False

    def revoke(self, owner: str, grant_id: str) -> dict[str, Any]:
        with self.db.session(write=True) as s:
            row = s.execute(select(Grant, Credential)
                            .join(Credential, Credential.id == Grant.credential_id)
                            .where(Grant.id == grant_id, Grant.owner == owner)).first()
            if row is None:
                raise NotFound(GRANT_NOT_FOUND)
            data = self._json(*row)
            s.delete(row[0])
        return data

    def is_granted(self, owner: str, credential_id: str, paths: list[str]) -> bool:
        if not paths:
            return False
        with self.db.session() as s:
            return s.scalar(select(Grant.id).where(
                Grant.owner == owner, Grant.credential_id == credential_id,
                Grant.notebook_path.in_(paths)).limit(1)) is not None

    def move(self, owner: str, old: str, new: str) -> int:
        """Follow a renamed notebook (or directory) so its grants stay with it."""
        old, new = normalise_path(old), normalise_path(new)
        moved = 0
        with self.db.session(write=True) as s:
            rows = s.execute(select(Grant.id, Grant.notebook_path).where(
                Grant.owner == owner, _at_or_under(old))).all()
            for gid, path in rows:
                target = new + path[len(old):]
                clash = s.scalar(select(Grant.id).where(
                    Grant.owner == owner, Grant.notebook_path == target,
                    Grant.credential_id == select(Grant.credential_id)
                    .where(Grant.id == gid).scalar_subquery()))
                if clash:
                    s.execute(delete(Grant).where(Grant.id == gid))
                else:
                    s.execute(update(Grant).where(Grant.id == gid).values(notebook_path=target))
                moved += 1
        return moved

    def forget(self, owner: str, path: str) -> int:
        """A deleted notebook (or directory) loses its grants: a new file with the same
        name must not inherit them."""
        path = normalise_path(path)
        with self.db.session(write=True) as s:
            result = s.execute(delete(Grant).where(Grant.owner == owner, _at_or_under(path)))
            return result.rowcount or 0
