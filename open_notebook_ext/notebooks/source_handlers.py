"""Sources: Open Notebook's ``/sources`` paths, with uploads streamed to disk.

``POST sources`` takes, as Open Notebook does, ``multipart/form-data`` (with
the file in the ``file`` field), a urlencoded form, or JSON; ``POST
sources/json`` takes JSON. A multipart body may be up to ``max_upload_mb``;
it is parsed as it arrives, the file part written straight to a ``.part``
file in the uploads directory, so memory stays flat whatever the size. The
other fields together may be at most ``max_body_bytes``. Nothing is written
to disk before the request is authenticated and authorized, and a request
that fails for any reason (413, bad form, validation, a refused link, a
database error, the client going away) leaves no file behind.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from jupyter_server.auth.decorator import authorized
from tornado import web

from open_notebook_ext.errors import InvalidInput
from open_notebook_ext.http.base import ApiError, OpenNotebookHandler, api_error_for
from open_notebook_ext.notebooks.source_create import SourceCreation, form_payload
from open_notebook_ext.notebooks.source_upload import MultipartUpload
from open_notebook_ext.notebooks.sources import SORT_FIELDS, SORT_FIELDS_MESSAGE


class SourcesHandler(MultipartUpload):
    """``GET sources`` (a page of them) and ``POST sources`` (multipart, a form or JSON)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook_id = self.get_query_argument("notebook_id", None) or None
        limit = self.query_int("limit", default=50, minimum=1, maximum=100)
        offset = self.query_int("offset", default=0) or 0
        sort_by = self.get_query_argument("sort_by", "updated")
        sort_order = self.get_query_argument("sort_order", "desc").lower()
        if sort_by not in SORT_FIELDS:
            raise ApiError(400, SORT_FIELDS_MESSAGE)
        if sort_order not in ("asc", "desc"):
            raise ApiError(400, "sort_order must be 'asc' or 'desc'")
        self.send_json(
            await self.call(
                self.services.sources.list,
                self.owner,
                notebook_id,
                limit,
                offset,
                sort_by,
                sort_order,
            )
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        self._processing = True
        if self._multipart:
            payload, upload = self._multipart_payload()
        elif self._content_type()[0] == "application/x-www-form-urlencoded":
            payload, upload = self._urlencoded_payload(), None
        else:
            payload, upload = self.read_json(), None
        if upload is not None and (
            not isinstance(payload, dict) or payload.get("type") != "upload"
        ):
            self._cleanup()  # a file sent with a link or text source is ignored
            upload = None
        await self.create_source(payload, upload)

    def _urlencoded_payload(self) -> dict[str, Any]:
        try:
            pairs = parse_qsl(
                self.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False
            )
        except (UnicodeDecodeError, ValueError):
            raise ApiError(400, "Invalid form body") from None
        try:
            return form_payload(dict(pairs))
        except InvalidInput as e:
            raise api_error_for(e) from None  # type: ignore[misc]  # api_error_for returns an exception instance; mypy cannot see that through its overloads


class SourcesJsonHandler(SourceCreation):
    """Open Notebook's legacy JSON-only create route."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.create_source(self.read_json())


class SourceHandler(OpenNotebookHandler):
    @web.authenticated
    @authorized
    async def get(self, source_id: str) -> None:
        self.send_json(await self.call(self.services.sources.get, self.owner, source_id))

    @web.authenticated
    @authorized
    async def put(self, source_id: str) -> None:
        payload = self.read_json()
        updated = await self.call(self.services.sources.update, self.owner, source_id, payload)
        self.log.info("Updated source %s", source_id)
        self.send_json(updated)

    @web.authenticated
    @authorized
    async def delete(self, source_id: str) -> None:
        result = await self.call(self.services.sources.delete, self.owner, source_id)
        self.log.info("Deleted source %s", source_id)
        self.send_json(result)
