"""The multipart body of ``POST sources``, parsed as it arrives: the file part written
straight to a ``.part`` file in the uploads directory (memory stays flat whatever the
size, up to ``max_upload_mb``), the other fields at most ``max_body_bytes`` in all.

Nothing reaches the disk before the request is authenticated and authorized; a
request that fails for any reason (413, a bad form, the client going away) leaves no
file behind (``SourceCreation._cleanup``).
"""

from __future__ import annotations

import os
from typing import Any

import multipart
from jupyter_server.utils import ensure_async

from open_notebook_ext.errors import InvalidInput
from open_notebook_ext.http import compat
from open_notebook_ext.http.base import INTERNAL_ERROR, ApiError, api_error_for
from open_notebook_ext.http.errors import field_error
from open_notebook_ext.notebooks.models import SourceCreate
from open_notebook_ext.notebooks.source_create import SourceCreation, form_payload
from open_notebook_ext.notebooks.uploads import display_name

MAX_FORM_PARTS = 64


class _FormProblem(Exception):
    def __init__(self, error: ApiError) -> None:
        self.error = error


class MultipartUpload(SourceCreation):
    """A create route that also takes ``multipart/form-data``, streamed to disk."""

    _multipart = False
    _processing = False
    _upload_ready = False
    _received = 0

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
        if compat.finished(self) or not self._multipart:
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
        if compat.finished(self):
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
                "Could not write an upload to %s: %s", self.services.uploads.path, type(e).__name__
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
                self._part_path, self._part_fd = self.services.uploads.open_part()
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
