"""A real browser (Debian's Chromium via Playwright) honours our CORS headers.

A page served from an allowed origin (a second loopback port) reads error
bodies from the API with ``fetch(..., {credentials: "include"})``; the same
page served from a disallowed origin gets a CORS failure and reads nothing.
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>client</title></head>
<body><script>
async function call(url, init) {
  try {
    const r = await fetch(url, Object.assign({credentials: "include"}, init));
    return {status: r.status, body: await r.json(),
            retryAfter: r.headers.get("Retry-After")};
  } catch (e) {
    return {error: e.name + ": " + e.message};
  }
}
</script></body></html>
"""


@pytest.fixture
def jp_asyncio_loop() -> Iterator[asyncio.AbstractEventLoop]:
    # pytest-jupyter's autouse loop fixture would adopt (and close) the event loop
    # Playwright's sync API runs in its greenlet; these tests need a loop of their own.
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def static_site(tmp_path: Path) -> Iterator[object]:
    """Serve PAGE on a fresh loopback port; returns a factory of origins."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text(PAGE)
    servers = []

    def start() -> str:
        port = free_port()
        handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                    directory=str(tmp_path / "site"))
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{port}"

    yield start
    for httpd in servers:
        httpd.shutdown()


def test_allowed_origin_reads_errors_disallowed_gets_cors_failure(
    browser, static_site, server_factory
):
    allowed, disallowed = static_site(), static_site()
    server = server_factory(env={"OPEN_NOTEBOOK_CORS_ORIGINS": allowed}).start()
    api = server.url + "open-notebook/api/"
    auth = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
    invalid = {"method": "POST", "headers": auth,
               "body": '{"name": " ", "provider": "openai", "api_key": "sk-xxxxxxxxxxxxxxxx"}'}

    # A fresh context first: no login cookie yet, so no credentials at all.
    page = browser.new_context().new_page()
    page.goto(allowed + "/index.html")
    got = page.evaluate("([u, i]) => call(u, i)", [api + "credentials", {}])
    assert got["status"] == 401, got
    assert got["body"] == {"detail": "Authentication required"}
    got = page.evaluate("([u, i]) => call(u, i)", [api + "credentials", invalid])
    assert got["status"] == 422, got
    assert "name" in got["body"]["detail"]
    got = page.evaluate("([u, i]) => call(u, i)", [api + "credentials/credential:nope",
                                                   {"headers": auth}])
    assert got == {"status": 404, "body": {"detail": "Credential not found"},
                   "retryAfter": None}
    ok = page.evaluate("([u, i]) => call(u, i)", [api + "credentials", {
        "method": "POST", "headers": auth,
        "body": '{"name": "from-browser", "provider": "openai", '
                '"api_key": "sk-browserbrowserbrowser"}'}])
    assert ok["status"] == 201, ok
    page.close()

    page = browser.new_context().new_page()
    page.goto(disallowed + "/index.html")
    for url, init in ((api + "credentials", invalid), (api + "credentials", {"headers": auth}),
                      (api + "credentials/credential:nope", {"headers": auth})):
        got = page.evaluate("([u, i]) => call(u, i)", [url, init])
        assert "error" in got and "Failed to fetch" in got["error"], got
    page.close()
    # the refused preflight kept the write from ever being sent
    listed = server.api("GET", "credentials").json
    assert [c["name"] for c in listed] == ["from-browser"]
