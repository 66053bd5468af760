"""The request body: a size cap enforced while it streams in (413), a time limit for it
(408), a small body read before an early answer (so the connection stays usable), and
JSON parsed with a depth limit and Unicode text only (``jsontext``)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from tornado.ioloop import IOLoop

from open_notebook_ext.http import compat, jsontext
from open_notebook_ext.http.cors import OriginMixin
from open_notebook_ext.http.errors import ApiError

# A refused request's body is read (so the connection stays usable) only when it is
# small and arrives soon; a request without valid credentials gets less patience.
DRAIN_TIMEOUT = 5.0
UNAUTHENTICATED_DRAIN_BYTES = 64 * 1024


class BodyMixin(OriginMixin):
    """The request body, capped in size and time."""

    _body: bytearray
    _body_limit: int

    def request_body_limit(self) -> int:
        """Largest body this request may send (a handler may allow more, e.g. uploads)."""
        return self.request_policy.body_limit

    def request_body_timeout(self) -> float:
        """Seconds this request's body may take to arrive (0: no limit)."""
        return self.request_policy.body_timeout

    def _declares_body(self) -> bool:
        declared = self.request.headers.get("Content-Length", "")
        return "Transfer-Encoding" in self.request.headers or (
            declared.isdigit() and int(declared) > 0
        )

    def _start_body_clock(self) -> None:
        """408 when the body has not arrived within request_body_timeout() seconds.

        Tornado gives a streamed body all the time in the world (Jupyter sets no
        body_timeout), so a client could hold a connection open forever by sending
        it a byte at a time. The clock stops when the body is complete.
        """
        timeout = self.request_body_timeout()
        body = compat.body_future(self.request)
        if not timeout > 0 or body is None or body.done() or not self._declares_body():
            return
        loop = IOLoop.current()
        handle = loop.call_later(timeout, self._body_too_slow, timeout)
        body.add_done_callback(lambda _: loop.remove_timeout(handle))

    def _body_too_slow(self, timeout: float) -> None:
        body = compat.body_future(self.request)
        if compat.finished(self) or body is None or body.done():
            return
        self.log.info(
            "Request body from %s not received within %gs: answered 408",
            self.client_address,
            timeout,
        )
        error = ApiError(408, f"Request body not received within {timeout:g} seconds")
        self.send_error(408, exc_info=(type(error), error, None))  # the connection then closes

    async def _drain_body(self, limit: int | None = None) -> None:
        """Read a small declared body before answering an error from prepare().

        With a streamed body, Tornado closes the connection when a handler
        finishes before the body was read; a keep-alive client (requests, a
        browser) would then see its next request on that connection reset. Bodies
        over ``limit`` (the request's body limit unless less is given) or of unknown
        length are not waited for, nor is a body that takes over DRAIN_TIMEOUT
        seconds: then the answer comes at once and the connection is closed.
        """
        declared = self.request.headers.get("Content-Length", "")
        if not declared and "Transfer-Encoding" not in self.request.headers:
            declared = "0"  # no body at all (a GET): finish reading it, or the connection closes
        limit = self._body_limit if limit is None else min(limit, self._body_limit)
        future = compat.prepared_future(self)
        if (
            not declared.isdigit()
            or not 0 <= int(declared) <= limit
            or future is None
            or future.done()
        ):
            return
        future.set_result(None)  # let Tornado read the body while we wait
        with contextlib.suppress(Exception):
            body = compat.body_future(self.request)
            if body is not None:
                await asyncio.wait_for(asyncio.shield(body), DRAIN_TIMEOUT)

    def _too_large(self) -> ApiError:
        return ApiError(413, f"Request body too large (limit {self._body_limit} bytes)")

    def data_received(self, chunk: bytes) -> None:
        if compat.finished(self):
            return
        if len(self._body) + len(chunk) > self._body_limit:
            # A body without (or lying about) Content-Length: answer now; Tornado
            # closes the connection after the response instead of reading on.
            error = self._too_large()
            self.send_error(413, exc_info=(type(error), error, None))
            return
        self._body.extend(chunk)

    @property
    def body(self) -> bytes:
        return bytes(self._body)

    def read_json(self) -> Any:
        """The request body as JSON, or 400 when it is not JSON this server takes (see
        ``jsontext``: too deep, lone surrogates, NaN)."""
        body = self.body
        if not body.strip():
            raise ApiError(400, "Request body is empty; expected JSON")
        try:
            return jsontext.loads(body)
        except jsontext.UnacceptableJSON as e:
            reason = "" if str(e) == jsontext.NOT_JSON else f": {e}"
            raise ApiError(400, f"Invalid JSON in request body{reason}") from None
