"""Grants: which notebooks may read which credential's key. Owner-scoped, like everything.

A grant names a notebook by its API path, compared as Jupyter compares paths, and
is bound to the file that was at that path when it was given (its identity, see
``fileidentity``): a different file at the path later does not inherit it.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from open_notebook_ext.db.common import isoformat, new_id, rowcount
from open_notebook_ext.db.engine import Database
from open_notebook_ext.db.orm import Credential, Grant, utcnow
from open_notebook_ext.errors import InvalidInput, NotFound
from open_notebook_ext.validation import normalise_path
from open_notebook_ext.vault.credentials import NOT_FOUND
from open_notebook_ext.vault.membership import group_owners
from open_notebook_ext.vault.models import GrantRequest, parse

log = logging.getLogger(__name__)

GRANT_NOT_FOUND = "Grant not found"
NO_SUCH_NOTEBOOK = "no such notebook: grant a notebook file that exists"
FileIdentity = Callable[[str], "str | None"]
# A grant to a session that is no file (a console): bound to its kernel, not a file.
KERNEL_BOUND = "kernel:"


def _at_or_under(path: str) -> Any:
    """The notebook at ``path``, or anything in the directory ``path``."""
    return (Grant.notebook_path == path) | Grant.notebook_path.startswith(
        path + "/", autoescape=True
    )


class GrantStore:
    """Grants of one owner at a time.

    ``identify`` gives the identity of the file at an API path now (None: no such
    file); None means files cannot be identified (a contents manager that keeps no
    local files), and grants are by path alone.
    """

    def __init__(self, db: Database, identify: FileIdentity | None = None) -> None:
        self.db = db
        self.identify = identify

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

    # -- the file behind a grant ---------------------------------------------------

    def check_files(
        self, rows: Iterable[tuple[str, str, str | None]], kernel_id: str | None = None
    ) -> set[str]:
        """The ids, among ``(grant id, path, file identity)`` rows, of grants whose file
        is still the one they were given for (see :meth:`_check_files`); a grant bound
        to a kernel (a console's) counts for that kernel only."""
        rows = list(rows)
        bound = {gid for gid, _, fid in rows if fid and fid.startswith(KERNEL_BOUND)}
        valid = self._check_files([r for r in rows if r[0] not in bound])[0]
        return valid | {
            gid
            for gid, _, fid in rows
            if gid in bound and kernel_id is not None and fid == KERNEL_BOUND + kernel_id
        }

    def _check_files(
        self,
        rows: Iterable[tuple[str, str, str | None]],
    ) -> tuple[set[str], set[str]]:
        """(valid, deleted) grant ids among ``(grant id, path, file identity)`` rows.

        A different file at the path: the grant is deleted (its file is gone; the new
        one must not inherit it). No file at the path: not valid, but kept — a rename
        through the contents API moves the file first and its grants a moment later.
        A grant without an identity (given before the identity was recorded) is bound
        to the file it finds.
        """
        rows = [r for r in rows if not (r[2] or "").startswith(KERNEL_BOUND)]
        if self.identify is None:
            return {gid for gid, _, _ in rows}, set()
        now: dict[str, str | None] = {}
        valid, stale, unbound = set(), [], []
        for gid, path, file_id in rows:
            if path not in now:
                now[path] = self.identify(path)
            current = now[path]
            if current is None:
                continue
            if file_id is None:
                unbound.append((gid, current))
                valid.add(gid)
            elif file_id == current:
                valid.add(gid)
            else:
                stale.append(gid)
        if stale or unbound:
            with self.db.session(write=True) as s:
                if stale:
                    s.execute(delete(Grant).where(Grant.id.in_(stale)))
                for gid, current in unbound:
                    s.execute(
                        update(Grant)
                        .where(Grant.id == gid, Grant.file_id.is_(None))
                        .values(file_id=current)
                    )
            if stale:
                log.info(
                    "Removed %d grant(s) whose notebook file was replaced by another file",
                    len(stale),
                )
        return valid, set(stale)

    def granted_credentials(
        self, owner: str, paths: builtins.list[str], kernel_id: str | None = None
    ) -> set[str]:
        """Ids of the credentials granted to any of ``paths`` (files checked; grants
        bound to a kernel count for ``kernel_id``)."""
        if not paths:
            return set()
        with self.db.session() as s:
            rows = s.execute(
                select(Grant.id, Grant.notebook_path, Grant.file_id, Grant.credential_id).where(
                    Grant.owner == owner, Grant.notebook_path.in_(paths)
                )
            ).all()
        valid = self.check_files(((gid, path, fid) for gid, path, fid, _ in rows), kernel_id)
        return {cid for gid, _, _, cid in rows if gid in valid}

    # -- the API ---------------------------------------------------------------------

    def list(
        self,
        owner: str,
        credential_id: str | None = None,
        notebook_path: str | None = None,
        groups: Sequence[str] = (),
    ) -> builtins.list[dict[str, Any]]:
        """Grants, without those whose file was replaced by another (they are deleted);
        ``groups``: the owner's hub groups, whose credentials the owner may grant too."""
        query = (
            select(Grant, Credential)
            .join(Credential, Credential.id == Grant.credential_id)
            .where(Grant.owner == owner, Credential.owner.in_([owner, *group_owners(groups)]))
        )
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
            found = [(self._json(g, c), g.file_id) for g, c in s.execute(query).all()]
        _, deleted = self._check_files((g["id"], g["notebook_path"], fid) for g, fid in found)
        return [g for g, _ in found if g["id"] not in deleted]

    def grant(
        self,
        owner: str,
        payload: Any,
        *,
        kernel_id: str | None = None,
        groups: Sequence[str] = (),
    ) -> tuple[dict[str, Any], bool]:
        """Allow a notebook to read a credential; (grant, created). Idempotent for the same
        file; a grant left by another file at this path is replaced. With ``kernel_id``
        (a console: its path names no file) the grant is bound to that kernel and ends
        with it (:meth:`forget_kernel`). ``groups``: the owner's hub groups, whose
        credentials the owner may grant to their notebooks as their own (the grant is
        the owner's)."""
        req = parse(GrantRequest, payload)
        # the file is looked at before the transaction (no disk access while rows are locked)
        if kernel_id is not None:
            file_id: str | None = KERNEL_BOUND + kernel_id
        else:
            file_id = self.identify(req.notebook_path) if self.identify is not None else None
        try:
            with self.db.session(write=True) as s:
                # locked: the credential must not be deleted before the grant is in
                credential = s.scalar(
                    select(Credential)
                    .where(
                        Credential.id == req.credential_id,
                        Credential.owner.in_([owner, *group_owners(groups)]),
                    )
                    .with_for_update(read=True, key_share=True)
                )
                if credential is None:
                    raise NotFound(NOT_FOUND)
                if self.identify is not None and file_id is None:
                    raise InvalidInput([{"field": "notebook_path", "message": NO_SUCH_NOTEBOOK}])
                existing = s.scalar(
                    select(Grant).where(
                        Grant.owner == owner,
                        Grant.credential_id == req.credential_id,
                        Grant.notebook_path == req.notebook_path,
                    )
                )
                if existing is not None:
                    if existing.file_id in (None, file_id):
                        existing.file_id = file_id
                        return self._json(existing, credential), False
                    s.delete(existing)  # another file's grant: this file gets its own
                    s.flush()
                grant = Grant(
                    id=new_id("grant"),
                    owner=owner,
                    credential_id=credential.id,
                    notebook_path=req.notebook_path,
                    file_id=file_id,
                    created=utcnow(),
                )
                s.add(grant)
                s.flush()
                return self._json(grant, credential), True
        except IntegrityError:
            # a concurrent identical grant won: that is the same outcome
            same = self.list(owner, req.credential_id, req.notebook_path, groups)
            if not same:  # or the credential was deleted meanwhile
                raise NotFound(NOT_FOUND) from None
            return same[0], False

    def revoke(self, owner: str, grant_id: str) -> dict[str, Any]:
        with self.db.session(write=True) as s:
            row = s.execute(
                select(Grant, Credential)
                .join(Credential, Credential.id == Grant.credential_id)
                .where(Grant.id == grant_id, Grant.owner == owner)
            ).first()
            if row is None:
                raise NotFound(GRANT_NOT_FOUND)
            data = self._json(*row)
            s.delete(row[0])
        return data

    def is_granted(self, owner: str, credential_id: str, paths: builtins.list[str]) -> bool:
        return credential_id in self.granted_credentials(owner, paths)

    def move(self, owner: str, old: str, new: str) -> int:
        """Follow a renamed notebook (or directory) so its grants stay with it (a rename
        keeps the file, so its identity). A new name a grant cannot have (a control or
        bidi character) ends the grants instead."""
        try:
            old = normalise_path(old)
        except ValueError:
            return 0  # no grant can be under such a path
        try:
            new = normalise_path(new)
        except ValueError:
            return self.forget(owner, old)
        moved = 0
        with self.db.session(write=True) as s:
            rows = s.execute(
                select(Grant.id, Grant.notebook_path).where(Grant.owner == owner, _at_or_under(old))
            ).all()
            for gid, path in rows:
                target = new + path[len(old) :]
                clash = s.scalar(
                    select(Grant.id).where(
                        Grant.owner == owner,
                        Grant.notebook_path == target,
                        Grant.credential_id
                        == select(Grant.credential_id).where(Grant.id == gid).scalar_subquery(),
                    )
                )
                if clash:
                    s.execute(delete(Grant).where(Grant.id == gid))
                else:
                    s.execute(update(Grant).where(Grant.id == gid).values(notebook_path=target))
                moved += 1
        return moved

    def forget_kernel(self, kernel_id: str) -> int:
        """The grants of a console whose kernel shut down (its path is never reused)."""
        with self.db.session(write=True) as s:
            result = s.execute(delete(Grant).where(Grant.file_id == KERNEL_BOUND + kernel_id))
            return rowcount(result)

    def forget(self, owner: str, path: str) -> int:
        """A deleted notebook (or directory) loses its grants: a new file with the same
        name must not inherit them."""
        try:
            path = normalise_path(path)
        except ValueError:
            return 0
        with self.db.session(write=True) as s:
            result = s.execute(delete(Grant).where(Grant.owner == owner, _at_or_under(path)))
            return rowcount(result)
