"""Sources: pasted text, links and uploaded files; a source may be in several notebooks.

The store records what the handler prepared (text already extracted, a link
already checked and fetched, an upload already on disk under its generated
name); it never touches the network. Files of deleted sources are removed
after the transaction commits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import case, delete, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import InvalidInput, NotFound
from ..uploads import StoredUpload, UploadArea
from .credentials import isoformat, new_id
from .db import Database, locked
from .notebooks import notebook_row, require_notebooks
from .orm import NotebookSource, Source, utcnow

if TYPE_CHECKING:
    from ..notebook_schemas import SourceCreate

NOT_FOUND = "Source not found"
SORT_FIELDS = ("type", "title", "created", "updated", "insights_count", "embedded")
SORT_FIELDS_MESSAGE = (
    "sort_by must be one of: type, title, created, updated, insights_count, embedded"
)


def _sort_column(field: str) -> Any:
    return {
        "created": Source.created,
        "updated": Source.updated,
        "title": func.lower(func.coalesce(Source.title, "")),
        # Open Notebook's type names: file | link | text
        "type": case((Source.kind == "upload", "file"), else_=Source.kind),
        # No insights or embeddings here: every source ties, then id decides.
        "insights_count": literal(0),
        "embedded": literal(0),
    }[field]


class SourceStore:
    def __init__(self, db: Database, uploads: UploadArea) -> None:
        self.db = db
        self.uploads = uploads

    # -- JSON ------------------------------------------------------------------

    def _asset(self, row: Source) -> dict[str, Any] | None:
        if row.kind == "link":
            return {"file_path": None, "url": row.url}
        if row.kind == "upload":
            # The client's file name, never the server's path.
            return {"file_path": row.file_name, "url": None}
        return None

    def to_list_json(self, row: Source) -> dict[str, Any]:
        return {
            "id": row.id,
            "title": row.title,
            "topics": list(row.topics or []),
            "asset": self._asset(row),
            "type": row.kind,
            "embedded": False,
            "embedded_chunks": 0,
            "insights_count": 0,
            "created": isoformat(row.created),
            "updated": isoformat(row.updated),
            "file_available": self.uploads.exists(row.stored_name)
            if row.kind == "upload"
            else None,
            "command_id": None,
            "status": None,
            "processing_info": None,
        }

    def to_json(self, session: Session, row: Source) -> dict[str, Any]:
        notebooks = list(
            session.scalars(
                select(NotebookSource.notebook_id)
                .where(NotebookSource.source_id == row.id)
                .order_by(NotebookSource.created, NotebookSource.notebook_id)
            )
        )
        data = self.to_list_json(row)
        data.update(
            full_text=row.full_text,
            notebooks=notebooks,
            file_size=row.file_size if row.kind == "upload" else None,
        )
        return data

    def _row(self, session: Session, owner: str, source_id: str, lock: str | None = None) -> Source:
        row = session.scalar(
            locked(select(Source).where(Source.id == source_id, Source.owner == owner), lock)
        )
        if row is None:
            raise NotFound(NOT_FOUND)
        return row

    # -- reading -----------------------------------------------------------------

    def list(
        self,
        owner: str,
        notebook_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
        sort_by: str = "updated",
        sort_order: str = "desc",
    ) -> list[dict[str, Any]]:
        column = _sort_column(sort_by)
        ordering = column.asc() if sort_order == "asc" else column.desc()
        query = select(Source).where(Source.owner == owner)
        with self.db.session() as s:
            if notebook_id is not None:
                notebook_row(s, owner, notebook_id)
                query = query.join(NotebookSource, NotebookSource.source_id == Source.id).where(
                    NotebookSource.notebook_id == notebook_id
                )
            query = query.order_by(ordering, Source.id.asc()).limit(limit).offset(offset)
            return [self.to_list_json(row) for row in s.scalars(query)]

    def get(self, owner: str, source_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            return self.to_json(s, self._row(s, owner, source_id))

    def check_notebooks(self, owner: str, ids: list[str]) -> None:
        with self.db.session() as s:
            require_notebooks(s, owner, ids)

    # -- writing -----------------------------------------------------------------

    def create(
        self,
        owner: str,
        req: SourceCreate,
        *,
        title: str | None = None,
        full_text: str | None = None,
        upload: StoredUpload | None = None,
    ) -> dict[str, Any]:
        """Record a prepared source and link it to its notebooks, in one transaction."""
        problems = req.problems(has_file=upload is not None)
        if problems:
            raise InvalidInput(problems)
        if req.transformations:
            # Transformations are not part of this extension; none exists.
            raise NotFound("Transformation not found")
        now = utcnow()
        row = Source(
            id=new_id("source"),
            owner=owner,
            kind=req.type,
            title=req.title or title,
            topics=[],
            created=now,
            updated=now,
        )
        if req.type == "text":
            row.full_text = req.content
        elif req.type == "link":
            row.url = req.url
            row.full_text = full_text
        else:
            assert upload is not None
            row.full_text = full_text
            row.file_name = upload.file_name
            row.stored_name = upload.stored_name
            row.file_size = upload.size
            row.content_type = upload.content_type
            row.title = row.title or upload.file_name
        notebooks = req.notebook_ids()
        try:
            with self.db.session(write=True) as s:
                require_notebooks(s, owner, notebooks)
                s.add(row)
                s.flush()
                for notebook_id in notebooks:
                    s.add(NotebookSource(notebook_id=notebook_id, source_id=row.id, created=now))
                s.flush()
                return self.to_json(s, row)
        except IntegrityError:
            # A notebook was deleted between our check and our insert (PostgreSQL):
            # name it, as the check would have.
            self.check_notebooks(owner, notebooks)
            raise

    def update(self, owner: str, source_id: str, payload: Any) -> dict[str, Any]:
        from ..notebook_schemas import SourceUpdate  # pydantic loads on first use
        from ..schemas import parse

        req = parse(SourceUpdate, payload)
        with self.db.session(write=True) as s:
            row = self._row(s, owner, source_id, lock="no_key_update")
            if req.title is not None:
                row.title = req.title
            if req.topics is not None:
                row.topics = req.topics
            row.updated = utcnow()
            s.flush()
            return self.to_json(s, row)

    def delete(self, owner: str, source_id: str) -> dict[str, str]:
        with self.db.session(write=True) as s:
            row = self._row(s, owner, source_id, lock="update")
            stored = row.stored_name
            s.execute(delete(NotebookSource).where(NotebookSource.source_id == row.id))
            s.delete(row)
        self.uploads.remove(stored)  # after the commit: a failed delete keeps the file
        return {"message": "Source deleted successfully"}
