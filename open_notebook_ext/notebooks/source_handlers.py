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

import os
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import multipart
from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import ensure_async
from tornado import web

from open_notebook_ext.errors import InvalidInput, OpenNotebookError
from open_notebook_ext.http import jsontext
from open_notebook_ext.http.base import INTERNAL_ERROR, ApiError, OpenNotebookHandler, api_error_for
from open_notebook_ext.http.errors import field_error
from open_notebook_ext.notebooks import ingest
from open_notebook_ext.notebooks.models import SourceCreate
from open_notebook_ext.notebooks.sources import SORT_FIELDS, SORT_FIELDS_MESSAGE
from open_notebook_ext.notebooks.uploads import StoredUpload, display_name
from open_notebook_ext.security import netguard
from open_notebook_ext.validation import BOOL_MESSAGE, parse, parse_bool

MAX_FORM_PARTS = 64
_BOOL_FIELDS = ("embed", "delete_source", "async_processing")
_JSON_FIELDS = ("notebooks", "transformations")
T = TypeVar("T")


class _FormProblem(Exception):
    def __init__(self, error: ApiError) -> None:
        self.error = error


def form_payload(fields: dict[str, str]) -> dict[str, Any]:
    """Open Notebook's form fields as the JSON the source model reads."""
    payload: dict[str, Any] = dict(fields)
    for name in _BOOL_FIELDS:
        if name in payload:
            value = parse_bool(payload[name])
            if value is None:
                raise InvalidInput([{"field": name, "message": BOOL_MESSAGE}])
            payload[name] = value
    for name in _JSON_FIELDS:
        raw = payload.get(name)
        if raw is None or raw == "":
            payload.pop(name, None)
            continue
        try:
            payload[name] = jsontext.loads(raw)
        except jsontext.UnacceptableJSON as e:
            reason = "" if str(e) == jsontext.NOT_JSON else f": {e}"
            raise InvalidInput(
                [{"field": name, "message": f"Invalid JSON in {name} field{reason}"}]
            ) from None
    return payload


async def domain(awaitable: Awaitable[T]) -> T:
    """Await, turning domain errors raised outside ``call()`` into their HTTP errors."""
    try:
        return await awaitable
    except OpenNotebookError as e:
        error = api_error_for(e)
        if error is None:
            raise
        raise error from None


class _SourceCreation(OpenNotebookHandler):
    """What both create routes share: from a payload (and maybe a file) to a source."""

    _part_path: Path | None = None
    _final_path: Path | None = None
    _kept = False

    async def create_source(self, payload: Any, upload: dict[str, Any] | None = None) -> None:
        req: SourceCreate = await self.call(parse, SourceCreate, payload)
        problems = req.problems(has_file=upload is not None)
        if problems:
            raise api_error_for(InvalidInput(problems))  # type: ignore[misc]  # api_error_for returns an exception instance; mypy cannot see that through its overloads
        await self.call(self.ext.sources.check_notebooks, self.owner, req.notebook_ids())
        title: str | None = None
        text: str | None = None
        stored: StoredUpload | None = None
        if req.type == "link":
            assert req.url is not None
            title, text = await self._link(req.url)
        elif req.type == "upload":
            assert upload is not None and self._part_path is not None
            name = self.ext.uploads.commit_part(self._part_path)
            self._final_path, self._part_path = self.ext.uploads.path_of(name), None
            title, text = await self.call(
                ingest.read_text_file, self._final_path, upload["content_type"], upload["file_name"]
            )
            stored = StoredUpload(name, upload["file_name"], upload["size"], upload["content_type"])
        created = await self.call(
            self.ext.sources.create, self.owner, req, title=title, full_text=text, upload=stored
        )
        self._kept = True
        self.log.info("Created source %s (%s)", created["id"], req.type)
        self.send_json(created)  # 200, as Open Notebook

    async def _link(self, url: str) -> tuple[str | None, str | None]:
        """Open Notebook's check (no link-local or metadata host), then the guarded fetch."""
        try:
            await netguard.acheck_url(url, allow_private=True, require_resolution=False)
        except netguard.URLRefused as e:
            raise ApiError(400, str(e)) from None
        if not self.ext.fetch_links:
            return None, None
        return await domain(
            ingest.fetch_link(
                url,
                allow_private=self.ext.allow_private_targets,
                max_bytes=self.ext.fetch_max_bytes,
                timeout=self.ext.fetch_timeout,
            )
        )

    def _cleanup(self) -> None:
        if self._kept:
            return
        fd = getattr(self, "_part_fd", None)
        if fd is not None:
            os.close(fd)
            self._part_fd = None
        if self._part_path is not None or self._final_path is not None:
            self.ext.uploads.discard(self._part_path)
            self.ext.uploads.discard(self._final_path)
            self._part_path = self._final_path = None

    def on_finish(self) -> None:
        self._cleanup()
        super().on_finish()


class SourcesHandler(_SourceCreation):
    _multipart = False
    _processing = False
    _upload_ready = False
    _received = 0
    _part_fd: int | None = None

    # -- list ----------------------------------------------------------------------

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
                self.ext.sources.list, self.owner, notebook_id, limit, offset, sort_by, sort_order
            )
        )

    # -- create: the body ----------------------------------------------------------

    def _content_type(self) -> tuple[str, dict[str, str]]:
        return multipart.parse_options_header(self.request.headers.get("Content-Type", ""))

    def request_body_limit(self) -> int:
        if self.request.method == "POST" and self._content_type()[0] == "multipart/form-data":
            self._multipart = True
            return self.ext.max_upload_bytes
        return super().request_body_limit()

    def request_body_timeout(self) -> float:
        if self._multipart:
            return self.ext.upload_timeout
        return super().request_body_timeout()

    def _too_large(self) -> ApiError:
        if self._multipart:
            return ApiError(
                413,
                f"Upload too large (limit {self._body_limit} bytes, "
                f"{self.ext.max_upload_mb:g} MiB)",
            )
        return super()._too_large()

    async def prepare(self) -> None:  # type: ignore[override]  # Tornado declares prepare as returning Awaitable | None; ours is a coroutine
        await super().prepare()
        if self._finished or not self._multipart:
            return
        try:
            await self._prepare_upload()
        except Exception:
            await self._drain_body()
            raise

    async def _drain_body(self, limit: int | None = None) -> None:
        # Reading a refused body to keep the connection is worth it for small bodies
        # only: a refused large upload is answered at once, and the connection closed.
        if self._multipart:
            limit = min(limit or self.settings_body_limit, self.settings_body_limit)
        await super()._drain_body(limit)

    async def _prepare_upload(self) -> None:
        # Nothing reaches the disk before the request is authenticated and authorized
        # (Jupyter may allow unauthenticated requests as far as the method decorators).
        user = self.current_user
        if not user:
            raise self._unauthenticated()
        resource = self.auth_resource
        if not await ensure_async(self.authorizer.is_authorized(self, user, "write", resource)):
            raise ApiError(403, f"User is not authorized to write on resource: {resource}.")
        boundary = self._content_type()[1].get("boundary")
        if not boundary:
            raise ApiError(400, "multipart/form-data without a boundary")
        try:
            self._parser = multipart.PushMultipartParser(boundary, max_segment_count=MAX_FORM_PARTS)
        except (multipart.MultipartError, ValueError):
            raise ApiError(400, "Invalid multipart boundary") from None
        self._fields: dict[str, bytearray] = {}
        self._field_bytes = 0
        self._segment: str | None = None
        self._upload: dict[str, Any] | None = None
        self._form_error: ApiError | None = None
        connection = self.request.connection
        if connection is not None and hasattr(connection, "set_max_body_size"):
            # Jupyter's server-wide max_body_size must not cut our limit (or our 413) short.
            connection.set_max_body_size(self._body_limit + 1024 * 1024)
        self._upload_ready = True

    def data_received(self, chunk: bytes) -> None:
        if not self._multipart:
            super().data_received(chunk)
            return
        if self._finished:
            return
        self._received += len(chunk)
        if not self._upload_ready:
            return  # a refused request's body, drained: dropped unread
        if self._received > self._body_limit:
            self._cleanup()
            error = self._too_large()
            self.send_error(413, exc_info=(type(error), error, None))
            return
        if self._form_error is not None:
            return  # read and drop the rest; the error is answered when the body is in
        try:
            for event in self._parser.parse(chunk):
                self._on_event(event)
        except _FormProblem as e:
            self._fail(e.error)
        except multipart.MultipartError:
            self._fail(ApiError(400, "Invalid multipart/form-data body"))
        except OSError as e:
            self.log.error(
                "Could not write an upload to %s: %s", self.ext.uploads.path, type(e).__name__
            )
            self._fail(ApiError(500, INTERNAL_ERROR))

    def _fail(self, error: ApiError) -> None:
        self._form_error = error
        self._cleanup()

    def _on_event(self, event: Any) -> None:
        if isinstance(event, multipart.MultipartSegment):
            if event.name == "file":
                if self._upload is not None:
                    message = "only one file may be uploaded"
                    raise _FormProblem(field_error("file", message))
                self._part_path, self._part_fd = self.ext.uploads.open_part()
                self._upload = {
                    "file_name": display_name(event.filename),
                    "content_type": (event.content_type or None),
                    "size": 0,
                }
                self._segment = "\x00file"
            else:
                self._segment = event.name
                self._fields[event.name] = bytearray()
        elif event is None:
            if self._segment == "\x00file" and self._part_fd is not None:
                os.close(self._part_fd)
                self._part_fd = None
            self._segment = None
        elif self._segment == "\x00file":
            assert self._part_fd is not None and self._upload is not None
            view = memoryview(event)
            while view:
                written = os.write(self._part_fd, view)
                view = view[written:]
            self._upload["size"] += len(event)
        elif self._segment is not None:
            self._field_bytes += len(event)
            limit = self.settings_body_limit
            if self._field_bytes > limit:
                raise _FormProblem(
                    ApiError(413, f"Form fields too large (limit {limit} bytes in all)")
                )
            self._fields[self._segment].extend(event)

    @property
    def settings_body_limit(self) -> int:
        return super().request_body_limit()

    def on_connection_close(self) -> None:
        # The client went away mid-upload: post() never runs, so clean up here.
        # Once post() runs, on_finish() cleans up (after it decided to keep the file).
        if not self._processing:
            self._cleanup()
        super().on_connection_close()

    # -- create: the request ---------------------------------------------------------

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

    def _multipart_payload(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        if self._form_error is not None:
            raise self._form_error
        try:
            for event in self._parser.parse(b""):  # end of input: complete?
                self._on_event(event)
            self._parser.close()
        except (multipart.MultipartError, _FormProblem):
            raise ApiError(400, "Invalid multipart/form-data body") from None
        fields = {}
        for name, raw in self._fields.items():
            if name not in SourceCreate.model_fields:
                continue  # ignored like any unknown field, and never named in an error
            try:
                fields[name] = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise field_error(name, "must be UTF-8 text") from None
        try:
            return form_payload(fields), self._upload
        except InvalidInput as e:
            raise api_error_for(e) from None  # type: ignore[misc]  # api_error_for returns an exception instance; mypy cannot see that through its overloads

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


class SourcesJsonHandler(_SourceCreation):
    """Open Notebook's legacy JSON-only create route."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.create_source(self.read_json())


class SourceHandler(OpenNotebookHandler):
    @web.authenticated
    @authorized
    async def get(self, source_id: str) -> None:
        self.send_json(await self.call(self.ext.sources.get, self.owner, source_id))

    @web.authenticated
    @authorized
    async def put(self, source_id: str) -> None:
        payload = self.read_json()
        updated = await self.call(self.ext.sources.update, self.owner, source_id, payload)
        self.log.info("Updated source %s", source_id)
        self.send_json(updated)

    @web.authenticated
    @authorized
    async def delete(self, source_id: str) -> None:
        result = await self.call(self.ext.sources.delete, self.owner, source_id)
        self.log.info("Deleted source %s", source_id)
        self.send_json(result)
