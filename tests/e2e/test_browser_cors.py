"""A real browser (Debian's Chromium via Playwright) against the API's browser rules.

A page served from an allowed origin (a second loopback port) reads error
bodies from the API with ``fetch(..., {credentials: "include"})``; the same
page served from a disallowed origin gets a CORS failure and reads nothing.
Script in JupyterLab's own page, which holds the server token, cannot read a
key; ``<img>`` tags on another site's page cannot lock the user out.
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from open_notebook_ext.vault.secret_handlers import FROM_A_BROWSER
from support.leaks import random_api_key
from support.servers import free_port

# SQLite only: a browser against origins; the database plays no part.
pytestmark = pytest.mark.sqlite_only

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

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

    def start(host: str = "127.0.0.1") -> str:
        port = free_port()
        handler = functools.partial(
            http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "site")
        )
        httpd = http.server.ThreadingHTTPServer((host, port), handler)
        threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(httpd)
        return f"http://{host}:{port}"

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
    invalid = {
        "method": "POST",
        "headers": auth,
        "body": '{"name": " ", "provider": "openai", "api_key": "sk-xxxxxxxxxxxxxxxx"}',
    }

    # A fresh context first: no login cookie yet, so no credentials at all.
    page = browser.new_context().new_page()
    page.goto(allowed + "/index.html")
    got = page.evaluate("([u, i]) => call(u, i)", [api + "credentials", {}])
    assert got["status"] == 401, got
    assert got["body"] == {"detail": "Authentication required"}
    got = page.evaluate("([u, i]) => call(u, i)", [api + "credentials", invalid])
    assert got["status"] == 422, got
    assert "name" in got["body"]["detail"]
    got = page.evaluate(
        "([u, i]) => call(u, i)", [api + "credentials/credential:nope", {"headers": auth}]
    )
    assert got == {"status": 404, "body": {"detail": "Credential not found"}, "retryAfter": None}
    ok = page.evaluate(
        "([u, i]) => call(u, i)",
        [
            api + "credentials",
            {
                "method": "POST",
                "headers": auth,
                "body": '{"name": "from-browser", "provider": "openai", '
                '"api_key": "sk-browserbrowserbrowser"}',
            },
        ],
    )
    assert ok["status"] == 201, ok
    page.close()

    page = browser.new_context().new_page()
    page.goto(disallowed + "/index.html")
    for url, init in (
        (api + "credentials", invalid),
        (api + "credentials", {"headers": auth}),
        (api + "credentials/credential:nope", {"headers": auth}),
    ):
        got = page.evaluate("([u, i]) => call(u, i)", [url, init])
        assert "error" in got and "Failed to fetch" in got["error"], got
    page.close()
    # the refused preflight kept the write from ever being sent
    listed = server.api("GET", "credentials").json
    assert [c["name"] for c in listed] == ["from-browser"]


READ_KEYS_FROM_THE_PAGE = """async ([api, credentialId]) => {
  // What any script in JupyterLab's page can do: take the token from the page config.
  const token = JSON.parse(document.getElementById("jupyter-config-data").textContent).token;
  const headers = {Authorization: "token " + token, "Content-Type": "application/json"};
  const calls = {
    byName: [api + "secrets/get", {method: "POST", headers, body: '{"name": "Work"}'}],
    byId: [api + "credentials/" + credentialId + "/secret", {method: "POST", headers}],
    list: [api + "secrets", {headers}],
    credentials: [api + "credentials", {headers}],
  };
  const out = {tokenLength: token.length};
  for (const [name, [url, init]] of Object.entries(calls)) {
    const r = await fetch(url, init);
    out[name] = {status: r.status, body: await r.text()};
  }
  return out;
}"""


def test_script_in_the_jupyterlab_page_cannot_read_keys(browser, server_factory, tmp_path):
    """Issue 15, finding 3: the page's own token, a same-origin fetch, and the key came
    back. Now the secret routes refuse whatever carries a browser's Origin or
    Sec-Fetch-* headers; the same token from a non-browser client still reads it."""
    settings = tmp_path / "lab-settings"
    settings.mkdir()
    # no news or update checks (they would reach out of loopback), as in test_panel.py
    (settings / "overrides.json").write_text(
        json.dumps(
            {
                "@jupyterlab/apputils-extension:notification": {
                    "fetchNews": "false",
                    "checkForUpdates": False,
                }
            }
        )
    )
    lab = server_factory(app="lab", args=[f"--LabApp.app_settings_dir={settings}"]).start(
        timeout=90
    )
    key = random_api_key()
    cred = lab.api(
        "POST", "credentials", {"name": "Work", "provider": "openai", "api_key": key}
    ).json
    page = browser.new_context().new_page()
    page.goto(f"{lab.url}lab?token={lab.token}", wait_until="domcontentloaded")
    got = page.evaluate(READ_KEYS_FROM_THE_PAGE, [lab.url + "open-notebook/api/", cred["id"]])
    page.close()
    assert got["tokenLength"] == len(lab.token)  # the page really holds the server token
    assert got["credentials"]["status"] == 200  # ...which works on the other routes
    for name in ("byName", "byId", "list"):
        assert got[name]["status"] == 403, (name, got[name])
        assert FROM_A_BROWSER in got[name]["body"]
        assert key not in got[name]["body"]
    # not a blanket refusal: the same token from a kernel-like client reads the key
    assert lab.api("POST", "secrets/get", {"name": "Work"}).json["api_key"] == key


def test_img_tags_on_another_site_do_not_lock_the_user_out(
    browser, static_site, server_factory, tmp_path
):
    """Issue 15, finding 6: ten ``<img src=".../providers?token=x">`` on any page counted
    as ten failed guesses from the user's own address, and the real token then got 429
    for a minute (renewed by every visit). The page here is another site (127.0.0.2)."""
    server = server_factory().start()
    api = server.url + "open-notebook/api/"
    imgs = "".join(f'<img src="{api}providers?token=guess{i}">' for i in range(10))
    (tmp_path / "site" / "imgs.html").write_text(f"<!doctype html><body>{imgs}</body>")
    evil = static_site("127.0.0.2")
    page = browser.new_context().new_page()
    page.goto(evil + "/imgs.html")  # "load": every image has been fetched (and failed)
    page.close()
    pattern = re.compile(r"401 GET /open-notebook/api/providers\?token=")
    deadline = time.monotonic() + 10
    while len(pattern.findall(server.log)) < 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(pattern.findall(server.log)) == 10, server.log[-2000:]  # they all arrived
    assert server.api("GET", "providers").status == 200  # the real token still works
    wrong = server.api("GET", "providers", auth=False, headers={"Authorization": "token no"})
    assert wrong.status == 401  # and the address is not blocked at all
    assert "Blocking" not in server.log
