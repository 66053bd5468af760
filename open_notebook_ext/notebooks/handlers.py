"""Notebooks and notes: Open Notebook's ``/notebooks`` and ``/notes`` paths and shapes."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from open_notebook_ext.http.base import ApiError, OpenNotebookHandler
from open_notebook_ext.http.errors import field_error
from open_notebook_ext.validation import BOOL_MESSAGE, parse_bool

_ORDER_FIELDS = {"name", "created", "updated"}


def query_bool(
    handler: OpenNotebookHandler,
    name: str,
    default: bool | None = None,
) -> bool | None:
    """A boolean query parameter, read by ``validation.parse_bool``."""
    raw = handler.get_query_argument(name, None)
    if raw is None:
        return default
    value = parse_bool(raw)
    if value is not None:
        return value
    raise field_error(name, BOOL_MESSAGE)


def parse_order_by(order_by: str) -> tuple[str, str]:
    """Open Notebook's ``order_by`` ("field" or "field direction"); 400 otherwise.

    Open Notebook's messages, without the value sent (errors never repeat input)."""
    allowed = ", ".join(sorted(_ORDER_FIELDS))
    parts = order_by.strip().lower().split()
    if len(parts) == 1:
        if parts[0] not in _ORDER_FIELDS:
            raise ApiError(400, f"Invalid order_by field. Allowed fields: {allowed}")
        return parts[0], "asc"
    if len(parts) == 2:
        if parts[0] not in _ORDER_FIELDS or parts[1] not in ("asc", "desc"):
            raise ApiError(
                400, f"Invalid order_by. Allowed fields: {allowed}. Allowed directions: asc, desc"
            )
        return parts[0], parts[1]
    raise ApiError(400, "Invalid order_by format. Expected 'field' or 'field direction'")


class NotebooksHandler(OpenNotebookHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        archived = query_bool(self, "archived")
        order = parse_order_by(self.get_query_argument("order_by", "updated desc"))
        self.send_json(await self.call(self.services.notebooks.list, self.owner, archived, order))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        payload = self.read_json()
        created = await self.call(self.services.notebooks.create, self.owner, payload)
        self.log.info("Created notebook %s", created["id"])
        self.send_json(created)  # 200, as Open Notebook


class NotebookHandler(OpenNotebookHandler):
    @web.authenticated
    @authorized
    async def get(self, notebook_id: str) -> None:
        self.send_json(await self.call(self.services.notebooks.get, self.owner, notebook_id))

    @web.authenticated
    @authorized
    async def put(self, notebook_id: str) -> None:
        payload = self.read_json()
        updated = await self.call(self.services.notebooks.update, self.owner, notebook_id, payload)
        self.log.info("Updated notebook %s", notebook_id)
        self.send_json(updated)

    @web.authenticated
    @authorized
    async def delete(self, notebook_id: str) -> None:
        exclusive = bool(query_bool(self, "delete_exclusive_sources", False))
        result = await self.call(self.services.notebooks.delete, self.owner, notebook_id, exclusive)
        self.log.info(
            "Deleted notebook %s (%s notes, %s sources)",
            notebook_id,
            result["deleted_notes"],
            result["deleted_sources"],
        )
        self.send_json(result)


class NotebookDeletePreviewHandler(OpenNotebookHandler):
    @web.authenticated
    @authorized
    async def get(self, notebook_id: str) -> None:
        self.send_json(
            await self.call(self.services.notebooks.delete_preview, self.owner, notebook_id)
        )


class NotebookSourceHandler(OpenNotebookHandler):
    """Link (POST) or unlink (DELETE) an existing source and a notebook."""

    @web.authenticated
    @authorized
    async def post(self, notebook_id: str, source_id: str) -> None:
        result = await self.call(
            self.services.notebooks.link_source, self.owner, notebook_id, source_id
        )
        self.log.info("Linked source %s to notebook %s", source_id, notebook_id)
        self.send_json(result)

    @web.authenticated
    @authorized
    async def delete(self, notebook_id: str, source_id: str) -> None:
        result = await self.call(
            self.services.notebooks.unlink_source, self.owner, notebook_id, source_id
        )
        self.log.info("Unlinked source %s from notebook %s", source_id, notebook_id)
        self.send_json(result)


class NotesHandler(OpenNotebookHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook_id = self.get_query_argument("notebook_id", None) or None
        self.send_json(await self.call(self.services.notes.list, self.owner, notebook_id))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        payload = self.read_json()
        created = await self.call(self.services.notes.create, self.owner, payload)
        self.log.info("Created note %s", created["id"])
        self.send_json(created)  # 200, as Open Notebook


class NoteHandler(OpenNotebookHandler):
    @web.authenticated
    @authorized
    async def get(self, note_id: str) -> None:
        self.send_json(await self.call(self.services.notes.get, self.owner, note_id))

    @web.authenticated
    @authorized
    async def put(self, note_id: str) -> None:
        payload = self.read_json()
        updated = await self.call(self.services.notes.update, self.owner, note_id, payload)
        self.log.info("Updated note %s", note_id)
        self.send_json(updated)

    @web.authenticated
    @authorized
    async def delete(self, note_id: str) -> None:
        result = await self.call(self.services.notes.delete, self.owner, note_id)
        self.log.info("Deleted note %s", note_id)
        self.send_json(result)
