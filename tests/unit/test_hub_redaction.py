"""Client mode's redaction keys (hub/redaction.py) against a stand-in service."""

from __future__ import annotations

import http.server
import json
import logging
import threading
from urllib.parse import parse_qs, urlsplit

from support.servers import free_port


class Service:
    """Answers GET .../redaction/keys like the service, and records what it was sent."""

    def __init__(self) -> None:
        self.marker, self.keys, self.seen, self.down = "m1", [["K", "sk-aaaaaaaaaa"]], [], False
        self.port = free_port()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                outer.seen.append((self.path, self.headers.get("Authorization")))
                if outer.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                if query.get("marker") == [outer.marker]:
                    body = {"marker": outer.marker, "unchanged": True}
                else:
                    body = {
                        "marker": outer.marker,
                        "keys": [{"name": n, "key": k} for n, k in outer.keys],
                    }
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/on/open-notebook/api/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_keys_are_fetched_once_per_change_and_kept_when_the_service_is_down(caplog):
    from open_notebook_ext.hub.redaction import ServiceKeys
    from open_notebook_ext.vault.redact import Redactor

    service = Service()
    try:
        keys = ServiceKeys(service.api, "hub-token-xyz", timeout=2)
        redactor = Redactor(keys.load_keys, keys.change_marker, lambda: "alice")
        model = {
            "type": "notebook",
            "content": {
                "cells": [
                    {
                        "cell_type": "code",
                        "source": "",
                        "metadata": {},
                        "outputs": [
                            {"output_type": "stream", "name": "stdout", "text": "sk-aaaaaaaaaa"}
                        ],
                    }
                ],
                "metadata": {},
            },
        }
        redactor.pre_save_hook(model, "a.ipynb")
        assert model["content"]["cells"][0]["outputs"][0]["text"] == "[REDACTED:K]"
        assert service.seen[0] == (
            "/services/on/open-notebook/api/redaction/keys",
            "token hub-token-xyz",
        )
        # unchanged: the marker alone, no new build
        for _ in range(3):
            redactor.automaton("alice")
        assert keys.fetches == 1 and redactor.builds == 1
        assert service.seen[-1][0].endswith("?marker=m1")
        # changed at the service: fetched and rebuilt
        service.marker, service.keys = "m2", [["K", "sk-aaaaaaaaaa"], ["L", "sk-bbbbbbbbbb"]]
        assert redactor.automaton("alice").redact("x sk-bbbbbbbbbb")[0] == "x [REDACTED:L]"
        assert keys.fetches == 2
        # down: the keys known so far still apply, and the failure is logged without the token
        service.down = True
        with caplog.at_level(logging.ERROR):
            assert redactor.automaton("alice").redact("sk-bbbbbbbbbb")[0] == "[REDACTED:L]"
        assert "HTTP 503" in caplog.text and "hub-token-xyz" not in caplog.text
    finally:
        service.close()
