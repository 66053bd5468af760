"""A fake AI provider on loopback that speaks OpenAI's and Anthropic's HTTP APIs.

It records every request (method, path, headers, body) so tests can check what the
proxy sent: the real key in the provider's header, never the kernel's token. It
answers:

* ``POST /v1/chat/completions`` and ``POST /v1/responses`` (OpenAI), ``POST
  /v1/messages`` (Anthropic): a JSON answer with ``usage``, or with ``"stream": true``
  server-sent events, where the provider stops after the first event until
  ``GET /release`` is called (or ``hold`` seconds pass): a client that sees the first
  event before the rest is sent proves the proxy did not buffer the answer;
* model ``"bad-key"``: 401 with the masked key OpenAI echoes
  ("Incorrect API key provided: sk-te****wxyz");
* ``GET /v1/models``: a model list, or (``models_redirect``) a 302 to a metadata address.

The key it expects is ``expect_key``; any other key gets a 401 (so a test sees the
proxy put the right key in the right header).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from support.servers import free_port


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    released: bool | None = None  # a stream: was /release called before the hold ran out
    completed: bool | None = None  # a stream: were all events written
    finished_at: float = field(default=0.0)
    peer: tuple[str, int] = ("", 0)  # the caller's address: one per connection


class FakeProvider:
    def __init__(self, expect_key: str, *, hold: float = 20.0, gap: float = 0.05) -> None:
        self.expect_key = expect_key
        self.hold = hold
        self.gap = gap
        self.seen: list[Seen] = []
        self.release_event = threading.Event()
        self.connections: list[socket.socket] = []  # every connection accepted
        self.models_redirect = False  # GET /v1/models answers a 302 to a metadata address
        self.port = free_port()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in separate writes

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                outer.connections.append(self.connection)

            def _record(self) -> Seen:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                seen.peer = (str(self.client_address[0]), int(self.client_address[1]))
                if self.path != "/release":
                    outer.seen.append(seen)
                return seen

            def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("Set-Cookie", "provider_session=abc; Path=/")
                self.send_header("x-request-id", "req_fake_1")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                seen = self._record()
                if self.path == "/release":
                    outer.release_event.set()
                    self._json(200, {"released": True})
                elif self.path.startswith("/v1/models") and outer.models_redirect:
                    self.send_response(302)
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif not outer._authorized(seen):
                    self._json(401, outer._bad_key_body(seen))
                else:
                    self._json(
                        200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]}
                    )

            def do_POST(self) -> None:
                seen = self._record()
                try:
                    request = json.loads(seen.body or b"{}")
                except (ValueError, RecursionError):
                    request = {}
                if not outer._authorized(seen) or request.get("model") == "bad-key":
                    self._json(401, outer._bad_key_body(seen))
                    return
                anthropic = self.path.startswith("/v1/messages")
                if request.get("stream"):
                    outer._stream(self, seen, anthropic, request)
                elif anthropic:
                    self._json(
                        200,
                        {
                            "id": "msg_1",
                            "type": "message",
                            "role": "assistant",
                            "model": request.get("model"),
                            "stop_reason": "end_turn",
                            "content": [{"type": "text", "text": "hello from anthropic"}],
                            "usage": {"input_tokens": 11, "output_tokens": 4},
                        },
                    )
                elif self.path.startswith("/v1/responses"):
                    self._json(
                        200,
                        {
                            "id": "resp_1",
                            "object": "response",
                            "created_at": 1,
                            "model": request.get("model"),
                            "status": "completed",
                            "output": [
                                {
                                    "type": "message",
                                    "id": "m1",
                                    "role": "assistant",
                                    "status": "completed",
                                    "content": [
                                        {
                                            "type": "output_text",
                                            "annotations": [],
                                            "text": "hello from responses",
                                        }
                                    ],
                                }
                            ],
                            "usage": {
                                "input_tokens": 7,
                                "output_tokens": 3,
                                "total_tokens": 10,
                                "input_tokens_details": {"cached_tokens": 0},
                                "output_tokens_details": {"reasoning_tokens": 0},
                            },
                        },
                    )
                else:
                    self._json(
                        200,
                        {
                            "id": "chatcmpl-1",
                            "object": "chat.completion",
                            "created": 1,
                            "model": request.get("model"),
                            "choices": [
                                {
                                    "index": 0,
                                    "finish_reason": "stop",
                                    "message": {
                                        "role": "assistant",
                                        "content": "hello from openai",
                                    },
                                }
                            ],
                            "usage": {
                                "prompt_tokens": 9,
                                "completion_tokens": 5,
                                "total_tokens": 14,
                            },
                        },
                    )

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    # -- answers ---------------------------------------------------------------------

    def _authorized(self, seen: Seen) -> bool:
        if seen.path.startswith("/v1/messages"):
            return seen.headers.get("x-api-key") == self.expect_key
        return seen.headers.get("authorization") == f"Bearer {self.expect_key}"

    def _bad_key_body(self, seen: Seen) -> dict[str, Any]:
        key = self.expect_key
        masked = f"{key[:5]}****{key[-4:]}"
        return {
            "error": {
                "message": f"Incorrect API key provided: {masked}. You can find "
                "your API key at https://platform.openai.com.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        }

    def _events(self, anthropic: bool, request: dict[str, Any]) -> list[bytes]:
        model = request.get("model")
        if anthropic:
            events = [
                (
                    "message_start",
                    {
                        "type": "message_start",
                        "message": {
                            "id": "msg_1",
                            "type": "message",
                            "role": "assistant",
                            "model": model,
                            "content": [],
                            "stop_reason": None,
                            "usage": {"input_tokens": 21, "output_tokens": 1},
                        },
                    },
                ),
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": 0,
                        "content_block": {"type": "text", "text": ""},
                    },
                ),
                *[
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": 0,
                            "delta": {"type": "text_delta", "text": w},
                        },
                    )
                    for w in ("one ", "two ", "three")
                ],
                ("content_block_stop", {"type": "content_block_stop", "index": 0}),
                (
                    "message_delta",
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": "end_turn"},
                        "usage": {"output_tokens": 6},
                    },
                ),
                ("message_stop", {"type": "message_stop"}),
            ]
            return [f"event: {n}\ndata: {json.dumps(d)}\n\n".encode() for n, d in events]
        chunks = [
            {
                "id": "c1",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": model,
                "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}],
                "usage": None,
            }
            for w in ("one ", "two ", "three")
        ]
        if (request.get("stream_options") or {}).get("include_usage"):
            chunks.append(
                {
                    "id": "c1",
                    "object": "chat.completion.chunk",
                    "created": 1,
                    "model": model,
                    "choices": [],
                    "usage": {"prompt_tokens": 13, "completion_tokens": 3, "total_tokens": 16},
                }
            )
        return [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]

    def _stream(
        self,
        handler: http.server.BaseHTTPRequestHandler,
        seen: Seen,
        anthropic: bool,
        request: dict[str, Any],
    ) -> None:
        events = self._events(anthropic, request)
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Set-Cookie", "provider_session=abc; Path=/")
        handler.end_headers()
        completed = False
        try:
            for i, event in enumerate(events):
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                handler.wfile.flush()
                if i == 0:
                    seen.released = self.release_event.wait(self.hold)
                else:
                    time.sleep(self.gap)
            handler.wfile.write(b"0\r\n\r\n")
            handler.wfile.flush()
            completed = True
        except OSError:
            pass
        finally:
            seen.completed = completed
            seen.finished_at = time.monotonic()

    @staticmethod
    def wait_done(seen: Seen, timeout: float = 10.0) -> bool | None:
        """Whether the stream of ``seen`` was written to its end (waits for it to end)."""
        deadline = time.monotonic() + timeout
        while seen.completed is None and time.monotonic() < deadline:
            time.sleep(0.02)
        return seen.completed

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def drop_connections(self) -> None:
        """Close every connection from this side (a provider dropping idle ones)."""
        for conn in self.connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.drop_connections()
        self.httpd.shutdown()
        self.httpd.server_close()
