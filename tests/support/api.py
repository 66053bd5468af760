"""A small JSON client for the in-process server, and a capture of every log record."""

from __future__ import annotations

import json
import logging
from typing import Any

from tornado.httpclient import HTTPResponse

from .leaks import random_api_key
from .servers import API


class Reply:
    def __init__(self, response: HTTPResponse) -> None:
        self.status = response.code
        self.headers = response.headers
        self.text = response.body.decode("utf-8", "replace") if response.body else ""

    @property
    def json(self) -> Any:
        return json.loads(self.text)

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.text[:200]!r}>"


class ApiClient:
    """Calls our API on the in-process server; records every reply for leak checks."""

    def __init__(self, http_client: Any, base_url: str, token: str) -> None:
        self.http = http_client
        self.base_url = base_url
        self.token = token
        self.replies: list[Reply] = []

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        auth: str | None = "token",
        raw: bytes | str | None = None,
        prefix: str = API,
    ) -> Reply:
        h: dict[str, str] = {}
        if auth:
            h["Authorization"] = f"{auth} {self.token}"
        h.update(headers or {})
        data: bytes | str | None = raw
        if data is None and body is not None:
            data = json.dumps(body)
        if data is None and method in ("POST", "PUT", "PATCH"):
            data = b""
        if data is not None and "Content-Type" not in h:
            h["Content-Type"] = "application/json"
        url = f"{self.base_url}{prefix}/{path}" if path else f"{self.base_url}{prefix}"
        response = await self.http.fetch(
            url,
            method=method,
            body=data,
            headers=h,
            raise_error=False,
            allow_nonstandard_methods=True,
            follow_redirects=False,
            request_timeout=30,
        )
        reply = Reply(response)
        self.replies.append(reply)
        return reply

    async def get(self, path: str, **kw: Any) -> Reply:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return await self.request("POST", path, body, **kw)

    async def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return await self.request("PUT", path, body, **kw)

    async def delete(self, path: str, **kw: Any) -> Reply:
        return await self.request("DELETE", path, **kw)

    async def create_credential(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "main", "provider": "openai", "api_key": random_api_key(), **fields}
        r = await self.post("credentials", body)
        assert r.status == 201, r
        return r.json


class LogCapture:
    """Every record any logger handles, formatted with its traceback.

    Hooks ``Logger.handle`` itself: traitlets reconfigures the application
    loggers (replacing their handlers, turning propagation off) while the
    server starts, so a handler attached beforehand would miss records.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")

    def record(self, record: logging.LogRecord) -> None:
        self.lines.append(self.formatter.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)
