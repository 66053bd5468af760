"""Client mode in process: an OpenNotebookApp with ``hub_service_url`` pointing at a fake
service on loopback (a standard-library HTTP server that records what it gets).

What the user's server checks itself before anything is sent (authentication, a secret
read from a browser page), what it sends (the hub token, never the caller's credentials
or relay headers it did not set), what comes back (status, body, headers, not cookies),
and its answers when the service refuses the server's token or cannot be reached. The
live version, with a real hub and service: integration/test_hub_client.py.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from open_notebook_ext.hub.forward import SERVICE_REFUSED_SERVER, SERVICE_UNREACHABLE
from support.servers import free_port

pytestmark = pytest.mark.sqlite_only  # no database in client mode

HUB_TOKEN = "hub-" + "s" * 32


class FakeService:
    """Answers every request with ``status`` and ``body``; records method, path, headers."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.status = 200
        self.body: Any = [{"id": "cred_1", "name": "Work"}]
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.seen.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                    }
                )
                raw = json.dumps(outer.body).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("Set-Cookie", "service=1")
                self.send_header("Retry-After", "7")
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/services/open-notebook/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def service() -> Iterator[FakeService]:
    fake = FakeService()
    yield fake
    fake.close()


@pytest.fixture
def extension_config(service: FakeService, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", HUB_TOKEN)
    return {"hub_service_url": service.base}


async def test_requests_go_to_the_service_with_the_hub_token(api, service, ext, jp_data_dir):
    r = await api.get(
        "credentials?limit=5", headers={"Cookie": "a=b", "X-Forwarded-For": "1.2.3.4"}
    )
    assert r.status == 200, r
    assert r.json == service.body
    assert r.headers["Retry-After"] == "7"  # the service's headers come back...
    # ...but not its cookies (Jupyter may set its own)
    assert not [c for c in r.headers.get_list("Set-Cookie") if "service=1" in c]
    assert r.headers["Cache-Control"] == "no-store"  # and ours are still set
    [seen] = service.seen
    assert seen["path"] == "/services/open-notebook/open-notebook/api/credentials?limit=5"
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["authorization"] == f"token {HUB_TOKEN}"
    assert api.token not in json.dumps(headers)  # the caller's Jupyter token stays here
    assert "cookie" not in headers and "x-forwarded-for" not in headers
    # a token in the URL authenticates here and is not passed on
    r = await api.get(f"credentials?token={api.token}&q=x", auth=None)
    assert r.status == 200, r
    assert service.seen[-1]["path"].endswith("/open-notebook/api/credentials?q=x")
    body = {"name": "Work", "provider": "openai", "api_key": "sk-abc"}
    r = await api.post("credentials", body)
    assert r.status == 200 and json.loads(service.seen[-1]["body"]) == body
    # no store of its own: no database opened, no key file created
    assert not hasattr(ext, "backend")
    assert not list(Path(jp_data_dir).rglob("encryption.key"))


async def test_checked_here_before_anything_is_sent(api, service):
    assert (await api.get("credentials", auth=None)).status == 401
    r = await api.post("credentials/cred_1/secret", {}, headers={"Origin": "http://evil.example"})
    assert r.status == 403 and "browser" in r.json["detail"]
    # the panel's grant-prompt socket is not relayed (yet)
    r = await api.get("grant-prompts/socket")
    assert r.status == 501 and "client mode" in r.json["detail"]
    # a kernel token this server never issued
    r = await api.post("secrets/get", {"name": "Work"}, headers={"Authorization": "Bearer onk_x"})
    assert r.status == 401, r
    assert service.seen == []


async def test_relay_headers_are_this_servers_own(api, service):
    """A caller cannot name notebooks for the service: only a kernel token does that."""
    forged = {"X-Open-Notebook-Kernel": "k1", "X-Open-Notebook-Notebooks": '["granted.ipynb"]'}
    r = await api.post("secrets/get", {"name": "Work"}, headers=forged)
    assert r.status == 200, r
    headers = {k.lower() for k in service.seen[-1]["headers"]}
    assert "x-open-notebook-kernel" not in headers
    assert "x-open-notebook-notebooks" not in headers


async def test_a_refused_server_token_is_a_502_not_a_login(api, service):
    service.status, service.body = 401, {"detail": "Invalid authentication credentials"}
    r = await api.get("credentials")
    assert r.status == 502, r
    assert r.json == {"detail": SERVICE_REFUSED_SERVER}
    assert "WWW-Authenticate" not in r.headers
    # on the proxy's paths a 401 is the provider's (a bad key): the SDK gets it as it is
    r = await api.post("proxy/cred_1/v1/chat/completions", {"model": "m"})
    assert r.status == 401 and r.json == service.body
    # the service's 403 (a token without the access scope) passes through as it is
    service.status, service.body = 403, {"detail": "no access scope"}
    r = await api.get("credentials")
    assert r.status == 403 and r.json == {"detail": "no access scope"}


async def test_an_unreachable_service_is_a_503(api, service):
    service.close()
    r = await api.get("credentials")
    assert r.status == 503, r
    assert r.json == {"detail": SERVICE_UNREACHABLE}
    assert r.headers["Retry-After"] == "5"
