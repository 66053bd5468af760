"""Stand-ins for what the tests cannot reach: an AI provider on loopback."""

from __future__ import annotations

import http.server
import json
import threading

from .servers import free_port


class FakeProvider:
    """Answers like an AI provider: 200 when the expected header holds the expected key."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.expect: tuple[str, str] | None = None  # (header, value)
        self.status_override: int | None = None
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                status = outer.status_override
                if status is None:
                    header, value = outer.expect or ("", "")
                    status = 200 if not header or self.headers.get(header) == value else 401
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("Location", "http://169.254.169.254/latest/")
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"data": [{"id": "model-a"}]}).encode())

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
