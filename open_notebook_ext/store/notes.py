"""Notes: owner-scoped CRUD, optionally inside one notebook."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import NotFound
from .credentials import isoformat, new_id
from .db import Database, locked
from .notebooks import NOT_FOUND as NOTEBOOK_NOT_FOUND
from .notebooks import notebook_row
from .orm import Note, utcnow

NOT_FOUND = "Note not found"


def to_json(row: Note) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "content": row.content,
        "note_type": row.note_type,
        "notebook_id": row.notebook_id,
        "created": isoformat(row.created),
        "updated": isoformat(row.updated),
        "command_id": None,
    }


class NoteStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _row(self, session: Session, owner: str, note_id: str, lock: str | None = None) -> Note:
        row = session.scalar(
            locked(select(Note).where(Note.id == note_id, Note.owner == owner), lock)
        )
        if row is None:
            raise NotFound(NOT_FOUND)
        return row

    def list(self, owner: str, notebook_id: str | None = None) -> list[dict[str, Any]]:
        query = select(Note).where(Note.owner == owner)
        with self.db.session() as s:
            if notebook_id is not None:
                notebook_row(s, owner, notebook_id)
                query = query.where(Note.notebook_id == notebook_id)
            query = query.order_by(Note.updated.desc(), Note.id)
            return [to_json(row) for row in s.scalars(query)]

    def get(self, owner: str, note_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            return to_json(self._row(s, owner, note_id))

    def create(self, owner: str, payload: Any) -> dict[str, Any]:
        from ..notebook_schemas import NoteCreate  # pydantic loads on first use
        from ..schemas import parse

        req = parse(NoteCreate, payload)
        now = utcnow()
        try:
            with self.db.session(write=True) as s:
                if req.notebook_id is not None:
                    notebook_row(s, owner, req.notebook_id)
                row = Note(
                    id=new_id("note"),
                    owner=owner,
                    notebook_id=req.notebook_id,
                    title=req.title,
                    content=req.content,
                    note_type=req.note_type,
                    created=now,
                    updated=now,
                )
                s.add(row)
                s.flush()
                return to_json(row)
        except IntegrityError:
            # the notebook was deleted between our check and our insert (PostgreSQL)
            raise NotFound(NOTEBOOK_NOT_FOUND) from None

    def update(self, owner: str, note_id: str, payload: Any) -> dict[str, Any]:
        from ..notebook_schemas import NoteUpdate
        from ..schemas import parse

        req = parse(NoteUpdate, payload)
        with self.db.session(write=True) as s:
            row = self._row(s, owner, note_id, lock="no_key_update")
            if req.title is not None:
                row.title = req.title or None
            if req.content is not None:
                row.content = req.content
            if req.note_type is not None:
                row.note_type = req.note_type
            row.updated = utcnow()
            s.flush()
            return to_json(row)

    def delete(self, owner: str, note_id: str) -> dict[str, str]:
        with self.db.session(write=True) as s:
            s.delete(self._row(s, owner, note_id, lock="update"))
        return {"message": "Note deleted successfully"}
