"""Notebooks: owner-scoped CRUD, source links, and delete with its preview.

Open Notebook's shapes: counts of sources and notes on every notebook, and a
delete that always removes the notebook's notes and, on request, the sources
that belong to no other notebook. The preview and the delete share one
function that sorts the notebook's sources into exclusive and shared, so the
preview's numbers are what the delete does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ..errors import NotFound
from ..uploads import UploadArea
from .credentials import isoformat, new_id
from .db import Database, locked
from .orm import Note, Notebook, NotebookSource, Source, utcnow

NOT_FOUND = "Notebook not found"
ORDER_FIELDS = ("name", "created", "updated")


def notebook_row(
    session: Session, owner: str, notebook_id: str, detail: str = NOT_FOUND, lock: str | None = None
) -> Notebook:
    row = session.scalar(
        locked(select(Notebook).where(Notebook.id == notebook_id, Notebook.owner == owner), lock)
    )
    if row is None:
        raise NotFound(detail)
    return row


def require_notebooks(session: Session, owner: str, ids: Sequence[str]) -> None:
    """Every id names one of the owner's notebooks, else 404 (the message does not repeat
    the id sent)."""
    if not ids:
        return
    found = set(
        session.scalars(
            select(Notebook.id).where(Notebook.owner == owner, Notebook.id.in_(list(ids)))
        )
    )
    if any(notebook_id not in found for notebook_id in ids):
        raise NotFound("Notebook not found")


def _counts() -> tuple[Any, Any]:
    source_count = (
        select(func.count())
        .select_from(NotebookSource)
        .where(NotebookSource.notebook_id == Notebook.id)
        .correlate(Notebook)
        .scalar_subquery()
    )
    note_count = (
        select(func.count())
        .select_from(Note)
        .where(Note.notebook_id == Notebook.id)
        .correlate(Notebook)
        .scalar_subquery()
    )
    return source_count, note_count


def to_json(row: Notebook, source_count: int, note_count: int) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "archived": bool(row.archived),
        "created": isoformat(row.created),
        "updated": isoformat(row.updated),
        "source_count": int(source_count or 0),
        "note_count": int(note_count or 0),
    }


def partition_sources(session: Session, notebook_id: str) -> tuple[list[str], list[str]]:
    """The notebook's sources: (exclusive to it, also in another notebook)."""
    other = aliased(NotebookSource)
    elsewhere = (
        select(func.count())
        .select_from(other)
        .where(other.source_id == NotebookSource.source_id, other.notebook_id != notebook_id)
        .correlate(NotebookSource)
        .scalar_subquery()
    )
    rows = session.execute(
        select(NotebookSource.source_id, elsewhere)
        .where(NotebookSource.notebook_id == notebook_id)
        .order_by(NotebookSource.source_id)
    ).all()
    exclusive = [source_id for source_id, n in rows if not n]
    shared = [source_id for source_id, n in rows if n]
    return exclusive, shared


class NotebookStore:
    def __init__(self, db: Database, uploads: UploadArea) -> None:
        self.db = db
        self.uploads = uploads

    def _one(self, session: Session, owner: str, notebook_id: str) -> dict[str, Any]:
        source_count, note_count = _counts()
        found = session.execute(
            select(Notebook, source_count, note_count).where(
                Notebook.id == notebook_id, Notebook.owner == owner
            )
        ).first()
        if found is None:
            raise NotFound(NOT_FOUND)
        return to_json(*found)

    # -- reading -------------------------------------------------------------

    def list(
        self, owner: str, archived: bool | None = None, order: tuple[str, str] = ("updated", "desc")
    ) -> list[dict[str, Any]]:
        field, direction = order
        column = {
            "name": func.lower(Notebook.name),
            "created": Notebook.created,
            "updated": Notebook.updated,
        }[field]
        source_count, note_count = _counts()
        query = select(Notebook, source_count, note_count).where(Notebook.owner == owner)
        if archived is not None:
            query = query.where(Notebook.archived == archived)
        ordering = column.desc() if direction == "desc" else column.asc()
        query = query.order_by(ordering, Notebook.id)
        with self.db.session() as s:
            return [to_json(*found) for found in s.execute(query).all()]

    def get(self, owner: str, notebook_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            return self._one(s, owner, notebook_id)

    def delete_preview(self, owner: str, notebook_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            row = notebook_row(s, owner, notebook_id)
            exclusive, shared = partition_sources(s, row.id)
            notes = (
                s.scalar(select(func.count()).select_from(Note).where(Note.notebook_id == row.id))
                or 0
            )
            return {
                "notebook_id": row.id,
                "notebook_name": row.name,
                "note_count": notes,
                "exclusive_source_count": len(exclusive),
                "shared_source_count": len(shared),
            }

    # -- writing -------------------------------------------------------------

    def create(self, owner: str, payload: Any) -> dict[str, Any]:
        from ..notebook_schemas import NotebookCreate  # pydantic loads on first use
        from ..schemas import parse

        req = parse(NotebookCreate, payload)
        now = utcnow()
        row = Notebook(
            id=new_id("notebook"),
            owner=owner,
            name=req.name,
            description=req.description or "",
            archived=False,
            created=now,
            updated=now,
        )
        with self.db.session(write=True) as s:
            s.add(row)
            s.flush()
            return to_json(row, 0, 0)

    def update(self, owner: str, notebook_id: str, payload: Any) -> dict[str, Any]:
        from ..notebook_schemas import NotebookUpdate
        from ..schemas import parse

        req = parse(NotebookUpdate, payload)
        with self.db.session(write=True) as s:
            row = notebook_row(s, owner, notebook_id)
            if req.name is not None:
                row.name = req.name
            if req.description is not None:
                row.description = req.description
            if req.archived is not None:
                row.archived = req.archived
            row.updated = utcnow()
            s.flush()
            return self._one(s, owner, notebook_id)

    def delete(
        self, owner: str, notebook_id: str, delete_exclusive_sources: bool = False
    ) -> dict[str, Any]:
        """Delete the notebook and its notes (and, if asked, its exclusive sources).

        Returns Open Notebook's counts. Files of deleted sources are removed
        once the transaction has committed.

        On PostgreSQL the notebook and (when its exclusive sources go too) its
        sources are locked before they are sorted, so a source linked to another
        notebook meanwhile is seen as shared, not deleted with its new link.
        Locks are taken notebook first, then sources by id, as linking does.
        """
        with self.db.session(write=True) as s:
            row = notebook_row(s, owner, notebook_id, lock="update")
            if delete_exclusive_sources:
                s.execute(
                    select(Source.id)
                    .where(
                        Source.id.in_(
                            select(NotebookSource.source_id).where(
                                NotebookSource.notebook_id == row.id
                            )
                        )
                    )
                    .order_by(Source.id)
                    .with_for_update()
                )
            exclusive, shared = partition_sources(s, row.id)
            deleted_notes = (
                s.execute(
                    delete(Note).where(Note.notebook_id == row.id, Note.owner == owner)
                ).rowcount
                or 0
            )
            files: list[str] = []
            if delete_exclusive_sources and exclusive:
                files = [
                    name
                    for name in s.scalars(
                        select(Source.stored_name).where(
                            Source.id.in_(exclusive), Source.owner == owner
                        )
                    )
                    if name
                ]
                s.execute(delete(NotebookSource).where(NotebookSource.source_id.in_(exclusive)))
                deleted_sources = (
                    s.execute(
                        delete(Source).where(Source.id.in_(exclusive), Source.owner == owner)
                    ).rowcount
                    or 0
                )
                unlinked = len(shared)
            else:
                deleted_sources = 0
                unlinked = len(exclusive) + len(shared)
            s.execute(delete(NotebookSource).where(NotebookSource.notebook_id == row.id))
            s.delete(row)
        for name in files:
            self.uploads.remove(name)
        return {
            "message": "Notebook deleted successfully",
            "deleted_notes": deleted_notes,
            "deleted_sources": deleted_sources,
            "unlinked_sources": unlinked,
            "deleted_chat_sessions": 0,
        }

    def link_source(self, owner: str, notebook_id: str, source_id: str) -> dict[str, str]:
        try:
            self._link(owner, notebook_id, source_id)
        except IntegrityError:
            # A concurrent request linked them (the same outcome) or deleted one of them.
            with self.db.session() as s:
                if s.get(NotebookSource, (notebook_id, source_id)) is None:
                    raise NotFound("Notebook or source not found") from None
        return {"message": "Source linked to notebook successfully"}

    def _link(self, owner: str, notebook_id: str, source_id: str) -> None:
        with self.db.session(write=True) as s:
            # Both must go on existing until we commit; notebook first, as delete locks.
            notebook_row(s, owner, notebook_id, "Notebook or source not found", lock="key_share")
            source = s.scalar(
                locked(
                    select(Source.id).where(Source.id == source_id, Source.owner == owner),
                    "key_share",
                )
            )
            if source is None:
                raise NotFound("Notebook or source not found")
            exists = s.get(NotebookSource, (notebook_id, source_id))
            if exists is None:  # idempotent, as Open Notebook
                s.add(
                    NotebookSource(notebook_id=notebook_id, source_id=source_id, created=utcnow())
                )

    def unlink_source(self, owner: str, notebook_id: str, source_id: str) -> dict[str, str]:
        with self.db.session(write=True) as s:
            notebook_row(s, owner, notebook_id)
            s.execute(
                delete(NotebookSource).where(
                    NotebookSource.notebook_id == notebook_id,
                    NotebookSource.source_id == source_id,
                )
            )
        return {"message": "Source removed from notebook successfully"}
