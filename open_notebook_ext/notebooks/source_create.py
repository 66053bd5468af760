"""What both create routes of sources share: from a payload (and maybe an uploaded
file) to a source, and nothing left on disk when the request fails.

``form_payload`` reads Open Notebook's form fields (multipart or urlencoded) as the
JSON the source model takes; ``source_upload`` streams a multipart body, and
``source_handlers`` holds the routes.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

from open_notebook_ext.errors import InvalidInput, OpenNotebookError
from open_notebook_ext.http import jsontext
from open_notebook_ext.http.base import ApiError, OpenNotebookHandler, api_error_for
from open_notebook_ext.notebooks import ingest
from open_notebook_ext.notebooks.models import SourceCreate
from open_notebook_ext.notebooks.uploads import StoredUpload
from open_notebook_ext.security import netguard
from open_notebook_ext.validation import BOOL_MESSAGE, parse, parse_bool

_BOOL_FIELDS = ("embed", "delete_source", "async_processing")
_JSON_FIELDS = ("notebooks", "transformations")
T = TypeVar("T")


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


class SourceCreation(OpenNotebookHandler):
    """What both create routes share: from a payload (and maybe a file) to a source."""

    _part_path: Path | None = None
    _final_path: Path | None = None
    _part_fd: int | None = None  # the file part being written (source_upload.py)
    _kept = False

    async def create_source(self, payload: Any, upload: dict[str, Any] | None = None) -> None:
        req: SourceCreate = await self.call(parse, SourceCreate, payload)
        problems = req.problems(has_file=upload is not None)
        if problems:
            raise api_error_for(InvalidInput(problems))  # type: ignore[misc]  # api_error_for returns an exception instance; mypy cannot see that through its overloads
        await self.call(self.services.sources.check_notebooks, self.owner, req.notebook_ids())
        title: str | None = None
        text: str | None = None
        stored: StoredUpload | None = None
        if req.type == "link":
            assert req.url is not None
            title, text = await self._link(req.url)
        elif req.type == "upload":
            assert upload is not None and self._part_path is not None
            name = self.services.uploads.commit_part(self._part_path)
            self._final_path, self._part_path = self.services.uploads.path_of(name), None
            title, text = await self.call(
                ingest.read_text_file, self._final_path, upload["content_type"], upload["file_name"]
            )
            stored = StoredUpload(name, upload["file_name"], upload["size"], upload["content_type"])
        created = await self.call(
            self.services.sources.create,
            self.owner,
            req,
            title=title,
            full_text=text,
            upload=stored,
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
        fd = self._part_fd
        if fd is not None:
            os.close(fd)
            self._part_fd = None
        if self._part_path is not None or self._final_path is not None:
            self.services.uploads.discard(self._part_path)
            self.services.uploads.discard(self._final_path)
            self._part_path = self._final_path = None

    def on_finish(self) -> None:
        self._cleanup()
        super().on_finish()
