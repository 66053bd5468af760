"""The JupyterLab "Credentials" panel, in a real browser against a real ``jupyter lab``.

One lab server (and one Chromium) per module; every test opens its own
browser context, so cookies and storage start empty, and creates the
credentials it needs under unique names, so the tests do not depend on each
other's order. Debian's /usr/bin/chromium is driven with Playwright for Python.

Set ``UPDATE_SCREENSHOTS=1`` to rewrite the screenshots in docs/images/.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sqlite3
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Locator,
    Page,
    Playwright,
    Request,
    Route,
    expect,
    sync_playwright,
)

from support.fakes import FakeProvider
from support.leaks import random_api_key
from support.notebooks import write_notebook as notebook_file
from support.servers import ServerProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PANEL_ID = "open-notebook-credentials"
PANEL = f"#{PANEL_ID}"
TAB = f'.jp-SideBar [data-id="{PANEL_ID}"]'
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
TIMEOUT_MS = 20_000

# Turn off JupyterLab's "fetch news?" toast and update check: they would cover
# the page and make requests to the outside world.
LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

# Auto-waiting assertions: generous on a busy two-core machine.
expect.set_options(timeout=TIMEOUT_MS)


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


# -- fixtures ------------------------------------------------------------------


@pytest.fixture
def jp_asyncio_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """pytest-jupyter's autouse loop fixture would take (and close) Playwright's loop."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def jp_server_cleanup() -> None:
    """No in-process server here: nothing for pytest-jupyter to clean up."""
    return


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """``jupyter lab`` with the extension, a generated key, a private HOME."""
    home = tmp_path_factory.mktemp("lab")
    settings = home / "lab-settings"
    settings.mkdir()
    (settings / "overrides.json").write_text(json.dumps(LAB_OVERRIDES), encoding="utf-8")
    server = ServerProcess(
        home,
        app="lab",
        args=[
            f"--LabApp.app_settings_dir={settings}",
            # window.jupyterapp: lets a test run JupyterLab commands (theme change).
            "--LabApp.expose_app_in_browser=True",
            # Connection tests reach the fake provider on 127.0.0.1.
            "--OpenNotebookApp.allow_private_targets=True",
            "--OpenNotebookApp.connection_test_timeout=10",
        ],
    )
    server.start(timeout=90)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Session:
    """A fresh browser context on the lab, with what the page said and did."""

    page: Page
    context: BrowserContext
    lab: ServerProcess
    console: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def open_lab(self) -> None:
        # ?reset: start from the default layout, whatever an earlier test left.
        self.page.goto(f"{self.lab.url}lab?reset&token={self.lab.token}")
        expect(self.page.locator(TAB)).to_be_visible(timeout=60_000)
        # Once the layout is restored JupyterLab opens a Launcher and focuses it,
        # which would take the focus from whatever a test is typing into: wait for it.
        self.page.evaluate("() => window.jupyterapp.restored")
        expect(self.page.locator(".jp-Launcher")).to_be_focused()

    def open_panel(self) -> Locator:
        """Click the key tab in the left sidebar (unless the panel is open) and wait."""
        panel = self.page.locator(PANEL)
        if not panel.is_visible():
            self.page.locator(TAB).click()
        expect(panel).to_be_visible()
        expect(panel.locator(".jp-OpenNotebook-banners")).to_be_visible()
        return panel

    def command(self, command: str, args: dict[str, Any] | None = None) -> None:
        """Run a JupyterLab command and wait for it (its result stays in the page)."""
        self.page.evaluate(
            "async ([id, args]) => { await window.jupyterapp.commands.execute(id, args); }",
            [command, args or {}],
        )

    def open_notebook(self, path: str) -> None:
        """Open (or bring to the front) a notebook in the main area."""
        self.command("docmanager:open", {"path": path})
        current_tab = self.page.locator("#jp-main-dock-panel .lm-TabBar-tab.jp-mod-current")
        expect(current_tab).to_have_text(path.rsplit("/", 1)[-1])
        expect(self.page.locator("#jp-main-dock-panel .jp-NotebookPanel:visible")).to_have_count(1)

    def storage(self) -> str:
        return self.page.evaluate(
            "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"
        )

    def api_posts(self) -> list[Request]:
        return [
            r
            for r in self.requests
            if r.method in ("POST", "PUT") and "/open-notebook/api/credentials" in r.url
        ]


@pytest.fixture
def session(browser: Browser, lab: ServerProcess) -> Iterator[Session]:
    context = browser.new_context(viewport={"width": 1200, "height": 860})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    s = Session(page, context, lab)
    page.on("console", lambda m: s.console.append(_console_text(m)))
    page.on("pageerror", lambda e: s.console.append(f"pageerror: {e}"))
    page.on("request", lambda r: s.requests.append(r))

    def on_dialog(dialog: Dialog) -> None:
        s.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    s.open_lab()
    yield s
    context.close()


def _console_text(message: ConsoleMessage) -> str:
    return f"{message.type}: {message.text}"


# -- helpers -------------------------------------------------------------------


def create(lab: ServerProcess, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("api"), "provider": "openai", "api_key": random_api_key(), **fields}
    r = lab.api("POST", "credentials", body)
    assert r.status == 201, r.text
    return r.json


def credentials(lab: ServerProcess) -> list[dict[str, Any]]:
    r = lab.api("GET", "credentials")
    assert r.status == 200, r.text
    return r.json


def stored_token(lab: ServerProcess, credential_id: str) -> str:
    with sqlite3.connect(lab.data_dir / "open_notebook.db") as db:
        (token,) = db.execute(
            "SELECT api_key_encrypted FROM on_credentials WHERE id = ?", (credential_id,)
        ).fetchone()
    return token


def item(panel: Locator, name: str) -> Locator:
    """The list entry of the credential called ``name`` (its accessible name)."""
    return panel.get_by_role("listitem", name=name, exact=True)


def form(panel: Locator) -> Locator:
    return panel.locator("form.jp-OpenNotebook-form")


def api_url(path: str) -> re.Pattern[str]:
    """Requests to ``open-notebook/api/<path>`` (regex), with JupyterLab's cache-buster query."""
    return re.compile(rf".*/open-notebook/api/{path}(\?[^/]*)?$")


UNLABELLED_JS = """root => {
    const controls = root.querySelectorAll('button, input, select, textarea, a[href]');
    const name = el => (el.getAttribute('aria-label') || '').trim()
        || (el.labels && [...el.labels].map(l => l.textContent).join('').trim())
        || (el.getAttribute('aria-labelledby') || '').split(' ')
             .map(id => document.getElementById(id)?.textContent || '').join('').trim()
        || (el.tagName !== 'INPUT' && el.tagName !== 'SELECT' ? el.textContent.trim() : '')
        || (el.getAttribute('title') || '').trim();
    return [...controls].filter(el => !name(el)).map(el => el.outerHTML.slice(0, 120));
}"""


def unlabelled_controls(root: Locator) -> list[str]:
    """The controls under ``root`` without an accessible name."""
    return root.evaluate(UNLABELLED_JS)


def key_hint(key: str) -> str:
    return "\u2022\u2022\u2022\u2022" + key[-4:]


# -- opening the panel -----------------------------------------------------------


def test_sidebar_tab_opens_panel_with_generated_key_banner(session: Session):
    page, lab = session.page, session.lab
    tab = page.locator(TAB)
    expect(tab).to_have_attribute("title", "Credentials")
    expect(page.locator(PANEL)).to_be_hidden()
    panel = session.open_panel()
    expect(panel.get_by_role("heading", name="Credentials")).to_be_visible()
    banner = panel.locator('[data-banner="generated"]')
    expect(banner).to_be_visible()
    # one calm line (issue 20): the detail behind a "details" link, dismissible
    expect(banner).to_have_text("Using a generated encryption key.details")
    line_height = banner.bounding_box()["height"]
    assert line_height < 40, line_height
    banner.get_by_role("button", name="details").click()
    key_file = str(lab.data_dir / "encryption.key")
    expect(banner).to_contain_text(key_file)
    expect(banner).to_contain_text("OPEN_NOTEBOOK_ENCRYPTION_KEY")
    expect(banner).to_contain_text("OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE")
    # variable names are not broken mid-word
    for code in banner.locator("code.jp-OpenNotebook-nowrap").all():
        assert code.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"
    banner.get_by_role("button", name="Dismiss the generated key notice").click()
    expect(banner).to_have_count(0)
    session.open_lab()  # a later visit: still dismissed, in this browser
    panel = session.open_panel()
    expect(panel.locator('[data-banner="generated"]')).to_have_count(0)
    page.evaluate("() => localStorage.clear()")
    expect(panel.locator('[data-banner="no-key"], [data-banner="mismatch"]')).to_have_count(0)
    expect(panel.get_by_role("button", name="Add credential")).to_be_enabled()
    # local kernels: one quiet line says what a grant does and does not protect
    isolation = panel.locator('[data-isolation="none"]')
    expect(isolation).to_contain_text("grants limit what the API hands out")


def test_command_palette_opens_panel(session: Session):
    page = session.page
    expect(page.locator(PANEL)).to_be_hidden()
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".lm-CommandPalette-input")
    expect(palette).to_be_focused()
    palette.fill("Manage API keys")
    option = page.locator(".lm-CommandPalette-item", has_text="Credentials: Manage API keys")
    expect(option).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator(PANEL)).to_be_visible()
    expect(page.locator(PANEL).get_by_role("heading", name="Credentials")).to_be_visible()


# -- add, edit, replace, delete ---------------------------------------------------


def test_add_credential_shows_hint_and_key_leaves_no_trace(session: Session):
    page, lab = session.page, session.lab
    name = unique("Work")
    key = random_api_key("sk-panel")
    panel = session.open_panel()
    panel.get_by_role("button", name="Add credential").click()
    f = form(panel)
    expect(f.get_by_role("heading", name="Add a credential")).to_be_visible()
    f.get_by_label("Provider (required)").select_option("openai")
    f.get_by_label("Name (required)", exact=True).fill(name)
    key_input = f.get_by_label("API key (required)", exact=True)
    expect(key_input).to_have_attribute("type", "password")
    key_input.fill(key)
    toggle = f.get_by_role("button", name="Show API key")
    toggle.click()
    expect(key_input).to_have_attribute("type", "text")
    expect(f.get_by_role("button", name="Hide API key")).to_have_attribute("aria-pressed", "true")
    f.get_by_role("button", name="Hide API key").click()
    expect(key_input).to_have_attribute("type", "password")
    # While typing, the key is the input's value, never an attribute of the DOM.
    assert key not in page.content()
    f.get_by_label("Base URL", exact=True).fill("https://llm.example.test/v1")
    f.get_by_role("button", name="Save").click()

    entry = item(panel, name)
    expect(entry).to_be_visible()
    expect(entry.locator(".jp-OpenNotebook-hint")).to_have_text(key_hint(key))
    expect(entry).to_contain_text("https://llm.example.test/v1")
    expect(entry).to_contain_text("Created")
    group = panel.locator('section[data-provider="openai"]')
    expect(group.get_by_role("heading", name=re.compile(r"^OpenAI \(\d+\)$"))).to_be_visible()
    expect(group.get_by_role("listitem", name=name, exact=True)).to_have_count(1)
    expect(form(panel)).to_have_count(0)
    notice = panel.get_by_role("status").filter(has_text=f"Added credential “{name}”")
    expect(notice).to_be_visible()

    (saved,) = [c for c in credentials(lab) if c["name"] == name]
    assert saved["has_api_key"] and saved["api_key_hint"] == key_hint(key)
    assert saved["base_url"] == "https://llm.example.test/v1"
    # The key went to the server exactly once, in the POST body...
    posts = session.api_posts()
    assert len(posts) == 1 and json.loads(posts[0].post_data or "{}")["api_key"] == key
    # ...and is nowhere in the page, its storage or the console afterwards.
    assert key not in page.content()
    assert key not in session.storage()
    assert not any(key in line for line in session.console)
    assert (
        page.locator("input").evaluate_all(
            "(inputs, key) => inputs.some(i => i.value.includes(key))", key
        )
        is False
    )


def test_edit_name_keeps_the_key(session: Session):
    lab = session.lab
    cred = create(lab, name=unique("Old name"))
    token_before = stored_token(lab, cred["id"])
    new_name = unique("New name")
    panel = session.open_panel()
    item(panel, cred["name"]).get_by_role("button", name=f"Edit {cred['name']}").click()
    f = form(panel)
    expect(f.get_by_role("heading", name=f"Edit “{cred['name']}”")).to_be_visible()
    name_input = f.get_by_label("Name (required)", exact=True)
    expect(name_input).to_have_value(cred["name"])
    expect(f.get_by_label("New API key", exact=True)).to_have_value("")
    expect(f).to_contain_text(f"keep the current key ({cred['api_key_hint']})")
    name_input.fill(new_name)
    f.get_by_role("button", name="Save").click()

    expect(item(panel, new_name)).to_be_visible()
    expect(item(panel, cred["name"])).to_have_count(0)
    expect(item(panel, new_name).locator(".jp-OpenNotebook-hint")).to_have_text(
        cred["api_key_hint"]
    )
    expect(item(panel, new_name)).to_contain_text("Updated")
    (put,) = session.api_posts()
    assert put.method == "PUT" and "api_key" not in json.loads(put.post_data or "{}")
    after = lab.api("GET", f"credentials/{cred['id']}").json
    assert after["name"] == new_name and after["api_key_hint"] == cred["api_key_hint"]
    # PUT without api_key: the stored ciphertext is untouched, not re-encrypted.
    assert stored_token(lab, cred["id"]) == token_before


def test_replace_key(session: Session):
    page, lab = session.page, session.lab
    cred = create(lab, name=unique("Rotate"))
    token_before = stored_token(lab, cred["id"])
    new_key = random_api_key("sk-rotated")
    panel = session.open_panel()
    item(panel, cred["name"]).get_by_role("button", name=f"Edit {cred['name']}").click()
    f = form(panel)
    f.get_by_label("New API key", exact=True).fill(new_key)
    f.get_by_role("button", name="Save").click()

    expect(form(panel)).to_have_count(0)
    expect(item(panel, cred["name"]).locator(".jp-OpenNotebook-hint")).to_have_text(
        key_hint(new_key)
    )
    after = lab.api("GET", f"credentials/{cred['id']}").json
    assert after["api_key_hint"] == key_hint(new_key) and after["name"] == cred["name"]
    assert stored_token(lab, cred["id"]) != token_before
    assert new_key not in page.content()
    assert new_key not in session.storage()
    assert not any(new_key in line for line in session.console)


def test_changing_the_url_asks_for_the_key(session: Session):
    """Issue 15, finding 4: the server refuses a new base URL (or endpoint) without the key,
    so the stored key can never be pointed at another host; the form asks for the key as
    soon as a URL field changes, says why, and sends nothing until it is given."""
    lab = session.lab
    cred = create(lab, name=unique("Moved"), base_url="https://a.example.test/v1")
    panel = session.open_panel()
    item(panel, cred["name"]).get_by_role("button", name=f"Edit {cred['name']}").click()
    f = form(panel)
    url = f.get_by_label("Base URL", exact=True)
    key = f.get_by_label("New API key", exact=True)
    expect(key).to_have_attribute("aria-required", "false")

    url.fill("https://b.example.test/v1")
    key = f.get_by_label("API key (required)", exact=True)
    expect(key).to_have_attribute("aria-required", "true")
    help_line = f.locator('.jp-OpenNotebook-help[data-reason="moved"]')
    expect(help_line).to_contain_text("Base URL changed: enter the API key again")
    expect(help_line).to_contain_text("only sent to the address it was saved with")
    f.get_by_role("button", name="Save").click()
    expect(f.locator(".jp-OpenNotebook-fieldError")).to_have_text(
        [
            "API key is required because Base URL changed: a stored key is only sent to the "
            "address it was saved with"
        ]
    )
    expect(key).to_be_focused()
    assert session.api_posts() == []

    # back to the stored value: no change, no key needed; cleared: a change again
    url.fill("https://a.example.test/v1")
    expect(f.get_by_label("New API key", exact=True)).to_have_attribute("aria-required", "false")
    url.fill("")
    expect(f.get_by_label("API key (required)", exact=True)).to_be_visible()

    # with the key the move goes through, in one request
    new_key = random_api_key("sk-moved")
    url.fill("https://b.example.test/v1")
    f.get_by_label("API key (required)", exact=True).fill(new_key)
    f.get_by_role("button", name="Save").click()
    expect(form(panel)).to_have_count(0)
    (put,) = session.api_posts()
    sent = json.loads(put.post_data or "{}")
    assert sent["base_url"] == "https://b.example.test/v1" and sent["api_key"] == new_key
    after = lab.api("GET", f"credentials/{cred['id']}").json
    assert after["base_url"] == "https://b.example.test/v1"
    assert after["api_key_hint"] == key_hint(new_key)


def test_server_refuses_a_moved_url_without_the_key(session: Session):
    """The server is the authority: a form that did not ask (replayed request) gets a 422
    on the key field, which the form shows next to it."""
    lab = session.lab
    cred = create(lab, name=unique("Pinned"), base_url="https://a.example.test/v1")
    r = lab.api("PUT", f"credentials/{cred['id']}", {"base_url": "https://evil.example.test"})
    assert r.status == 422 and r.json["errors"][0]["field"] == "api_key", r.text
    assert lab.api("GET", f"credentials/{cred['id']}").json["base_url"] == cred["base_url"]


def test_delete_asks_first(session: Session):
    page, lab = session.page, session.lab
    cred = create(lab, name=unique("Disposable"))
    panel = session.open_panel()
    delete = item(panel, cred["name"]).get_by_role("button", name=f"Delete {cred['name']}")

    delete.click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(cred["name"])
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(item(panel, cred["name"])).to_be_visible()
    assert lab.api("GET", f"credentials/{cred['id']}").status == 200

    delete.click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Delete").click()
    expect(item(panel, cred["name"])).to_have_count(0)
    expect(
        panel.get_by_role("status").filter(has_text=f"Deleted credential “{cred['name']}”")
    ).to_be_visible()
    assert lab.api("GET", f"credentials/{cred['id']}").status == 404


# -- validation ------------------------------------------------------------------


def test_client_side_validation_is_inline_and_sends_nothing(session: Session):
    lab = session.lab
    before = len(credentials(lab))
    panel = session.open_panel()
    panel.get_by_role("button", name="Add credential").click()
    f = form(panel)
    f.get_by_role("button", name="Save").click()
    expect(f.locator(".jp-OpenNotebook-fieldError")).to_have_text(["Provider is required"])

    f.get_by_label("Provider (required)").select_option("openai")
    f.get_by_label("Name (required)", exact=True).fill("   ")
    f.get_by_label("Base URL", exact=True).fill("ftp://files.example.test")
    f.get_by_role("button", name="Save").click()

    expect(f.get_by_role("alert")).to_have_text("Please correct the fields marked below.")
    name_input = f.get_by_label("Name (required)", exact=True)
    expect(name_input).to_have_attribute("aria-invalid", "true")
    expect(name_input).to_be_focused()
    errors = f.locator(".jp-OpenNotebook-fieldError")
    expect(errors).to_have_text(
        [
            "Name must not be blank",
            "API key must not be blank",
            "Base URL must be an http:// or https:// URL with a host",
        ]
    )
    # Each message is tied to its field for screen readers.
    described = name_input.get_attribute("aria-describedby") or ""
    expect(panel.locator(f"#{described.split()[0]}")).to_have_text("Name must not be blank")
    assert session.api_posts() == []
    assert len(credentials(lab)) == before

    name_input.fill("x" * 201)
    f.get_by_role("button", name="Save").click()
    expect(errors.first).to_have_text("Name must be at most 200 characters")
    assert session.api_posts() == []


def test_server_side_error_is_inline_not_raw_json(session: Session):
    lab = session.lab
    existing = create(lab, name=unique("Taken"))
    panel = session.open_panel()
    panel.get_by_role("button", name="Add credential").click()
    f = form(panel)
    f.get_by_label("Provider (required)").select_option("openai")
    f.get_by_label("Name (required)", exact=True).fill(existing["name"])
    f.get_by_label("API key (required)", exact=True).fill(random_api_key())
    f.get_by_role("button", name="Save").click()

    alert = f.get_by_role("alert")
    expect(alert).to_have_text(  # the provider's label, not its id (issue 20)
        "A credential with this name already exists for OpenAI"
    )
    name_input = f.get_by_label("Name (required)", exact=True)
    expect(name_input).to_have_attribute("aria-invalid", "true")
    expect(f.locator(".jp-OpenNotebook-fieldError")).to_have_text(
        ["Name is already used by another credential of this provider"]
    )
    (post,) = session.api_posts()
    response = post.response()
    assert response is not None and response.status == 409
    panel_text = panel.inner_text()
    assert '{"detail"' not in panel_text and '"detail"' not in panel_text
    # The form stays open with what was typed, so the name can be changed.
    expect(name_input).to_have_value(existing["name"])
    assert [c["name"] for c in credentials(lab)].count(existing["name"]) == 1


def test_server_field_errors_go_next_to_their_field(session: Session):
    """A 422 ``errors`` list (here forced: the server's own answer, replayed) lands inline."""
    page = session.page
    body = {
        "detail": "base_url: must be an http:// or https:// URL with a host",
        "errors": [
            {"field": "base_url", "message": "must be an http:// or https:// URL with a host"}
        ],
    }

    def reject(route: Route) -> None:
        if route.request.method == "POST":
            route.fulfill(status=422, content_type="application/json", body=json.dumps(body))
        else:
            route.fallback()

    page.route(api_url("credentials"), reject)
    panel = session.open_panel()
    panel.get_by_role("button", name="Add credential").click()
    f = form(panel)
    f.get_by_label("Provider (required)").select_option("openai")
    f.get_by_label("Name (required)", exact=True).fill(unique("ok"))
    f.get_by_label("API key (required)", exact=True).fill(random_api_key())
    f.get_by_role("button", name="Save").click()
    expect(f.get_by_role("alert")).to_have_text(
        "The server did not accept the fields marked below."
    )
    expect(f.locator(".jp-OpenNotebook-fieldError")).to_have_text(
        ["Base URL must be an http:// or https:// URL with a host"]
    )
    expect(f.get_by_label("Base URL", exact=True)).to_have_attribute("aria-invalid", "true")


# -- security --------------------------------------------------------------------


def test_markup_in_a_name_is_text(session: Session):
    page, lab = session.page, session.lab
    name = f"<img src=x onerror=alert(1)> {uuid.uuid4().hex[:6]}"
    cred = create(lab, name=name, base_url="https://example.test/<b>bold</b>")
    notebook = write_notebook(
        lab, f"<b>nb</b> <img src=y onerror=alert(2)> {uuid.uuid4().hex[:6]}.ipynb"
    )
    assert (
        lab.api("PUT", "grants", {"credential_id": cred["id"], "notebook_path": notebook}).status
        == 201
    )
    panel = session.open_panel()
    entry = item(panel, name)
    expect(entry.locator(".jp-OpenNotebook-credentialName")).to_have_text(name)
    # The notebook list, its explanation and the activity show the markup as text.
    entry.get_by_role("button", name=re.compile(r"^Notebooks with access")).click()
    expect(entry.locator(".jp-OpenNotebook-grantPath")).to_have_text([notebook])
    expect(entry).to_contain_text(f"secrets.get({json.dumps(name)})")
    activity = panel.get_by_role("region", name="Activity")
    granted = activity.get_by_role("listitem").filter(has_text="Notebook allowed to read the key")
    expect(granted.first.locator(".jp-OpenNotebook-eventName")).to_have_text(name)
    expect(granted.first.locator(".jp-OpenNotebook-eventNotebook")).to_have_text(notebook)
    # The edit form's title and the delete dialog show the name too.
    entry.get_by_role("button", name=f"Edit {name}").click()
    expect(form(panel).get_by_role("heading")).to_have_text(f"Edit “{name}”")
    entry.get_by_role("button", name=f"Delete {name}").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text(name)
    assert dialog.locator("img").count() == 0
    dialog.get_by_role("button", name="Cancel").click()

    assert panel.locator("img").count() == 0
    assert panel.locator("b").count() == 0
    assert session.dialogs == []
    assert "&lt;img src=x onerror=alert(1)&gt;" in panel.inner_html()
    assert lab.api("GET", f"credentials/{cred['id']}").status == 200


def test_decryption_error_is_a_red_badge(session: Session):
    lab = session.lab
    cred = create(lab, name=unique("Broken"))
    foreign = Fernet(Fernet.generate_key()).encrypt(b"sk-other-key-0000").decode()
    with sqlite3.connect(lab.data_dir / "open_notebook.db") as db:
        db.execute(
            "UPDATE on_credentials SET api_key_encrypted = ? WHERE id = ?", (foreign, cred["id"])
        )
    try:
        message = lab.api("GET", f"credentials/{cred['id']}").json["decryption_error"]
        assert message
        panel = session.open_panel()
        badge = item(panel, cred["name"]).locator(".jp-OpenNotebook-badge")
        expect(badge).to_have_text(message)
        color = badge.evaluate("e => getComputedStyle(e).backgroundColor")
        r, g, b = (int(v) for v in re.findall(r"\d+", color)[:3])
        assert r > 150 and g < 100 and b < 100, color
        expect(panel.locator('[data-banner="undecryptable"]')).to_be_visible()
    finally:
        lab.api("DELETE", f"credentials/{cred['id']}")


# -- status banners and states -----------------------------------------------------


def _status(**overrides: Any) -> dict[str, Any]:
    status = {
        "encryption_configured": True,
        "key_source": "env",
        "key_file": None,
        "key_check": "ok",
        "counts": {"total": 0, "by_provider": {}, "undecryptable": 0},
    }
    status.update(overrides)
    return status


@pytest.mark.parametrize(
    ("status", "banner", "text", "can_add"),
    [
        pytest.param(
            _status(encryption_configured=False, key_source="none", key_check="not_configured"),
            "no-key",
            "No encryption key is configured",
            False,
            id="no-key",
        ),
        pytest.param(
            _status(
                key_check="mismatch", counts={"total": 2, "by_provider": {}, "undecryptable": 2}
            ),
            "mismatch",
            "jupyter open-notebook rotate",
            True,
            id="mismatch",
        ),
        pytest.param(
            _status(),
            "configured",
            "OPEN_NOTEBOOK_ENCRYPTION_KEY environment variable",
            True,
            id="env",
        ),
    ],
)
def test_status_banner(session: Session, status: dict, banner: str, text: str, can_add: bool):
    """Banners for key states this server is not in, from a status answer the page is given."""
    session.page.route(api_url("credentials/status"), lambda route: route.fulfill(json=status))
    panel = session.open_panel()
    shown = panel.locator(f'[data-banner="{banner}"]')
    expect(shown).to_contain_text(text)
    expect(panel.locator('[data-banner="generated"]')).to_have_count(0)
    add = panel.get_by_role("button", name="Add credential")
    if banner == "mismatch":
        # Issue 15, finding 8: the server refuses key writes while the key does not match,
        # so the banner must not advise re-entering keys; it names the fix instead.
        expect(shown).to_contain_text("Encryption key mismatch")
        expect(shown).to_contain_text("Start Jupyter with the original key")
        expect(shown).to_contain_text('OPEN_NOTEBOOK_ENCRYPTION_KEYS="<this key>,<original key>"')
        expect(shown).to_contain_text("no API key can be added or replaced")
        assert "enter a new API key" not in shown.inner_text()
    if can_add:
        expect(add).to_be_enabled()
    else:
        expect(shown).to_contain_text("OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE")
        expect(add).to_be_disabled()
        expect(shown).to_have_attribute("role", "alert")


def test_key_mismatch_blocks_key_entry(session: Session):
    """With the real server's key check at mismatch (another key's check value stored),
    the banner shows, the form's key field is disabled and says why, and the server
    answers a key write with 409 naming the fix."""
    lab = session.lab
    cred = create(lab, name=unique("Mixed"))
    db = lab.data_dir / "open_notebook.db"
    with sqlite3.connect(db) as conn:
        (original,) = conn.execute("SELECT value FROM on_meta WHERE key = 'key_check'").fetchone()
    from open_notebook_ext.vault.keyring import KeyRing

    foreign = KeyRing([Fernet.generate_key()]).make_check()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE on_meta SET value = ? WHERE key = 'key_check'", (foreign,))
    try:
        assert lab.api("GET", "credentials/status").json["key_check"] == "mismatch"
        r = lab.api("PUT", f"credentials/{cred['id']}", {"api_key": random_api_key()})
        assert r.status == 409 and "jupyter open-notebook rotate" in r.json["detail"]
        panel = session.open_panel()
        expect(panel.locator('[data-banner="mismatch"]')).to_contain_text(
            "jupyter open-notebook rotate"
        )
        item(panel, cred["name"]).get_by_role("button", name=f"Edit {cred['name']}").click()
        f = form(panel)
        expect(f.get_by_label("New API key", exact=True)).to_be_disabled()
        expect(f.locator('.jp-OpenNotebook-help[data-reason="mismatch"]')).to_contain_text(
            "Keys cannot be stored while the encryption key does not match"
        )
        f.get_by_role("button", name="Cancel").click()
    finally:
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE on_meta SET value = ? WHERE key = 'key_check'", (original,))
    assert lab.api("GET", "credentials/status").json["key_check"] == "ok"


def test_empty_and_loading_states(session: Session):
    page, lab = session.page, session.lab
    for cred in credentials(lab):
        lab.api("DELETE", f"credentials/{cred['id']}")
    held: list[Route] = []
    page.route(api_url("credentials"), lambda route: held.append(route), times=1)
    page.locator(TAB).click()
    panel = page.locator(PANEL)
    expect(panel.locator('[data-state="loading"]')).to_have_text("Loading credentials…")
    expect(panel.locator('[data-state="loading"]')).to_have_attribute("aria-busy", "true")
    assert len(held) == 1
    held[0].continue_()
    # (the Activity section's own empty state, on a fresh lab, is data-state="empty" too)
    expect(panel.locator('.jp-OpenNotebook-state[data-state="empty"]')).to_contain_text(
        "No credentials yet."
    )
    # the empty state says the name is what code uses, in JupyterLab terms
    expect(panel.locator('[data-state="names"]')).to_contain_text(
        'in a notebook or console, secrets.get("Work") reads the key'
    )
    expect(panel.locator('[data-state="loading"]')).to_have_count(0)


def test_server_down_then_retry(session: Session):
    page, lab = session.page, session.lab
    cred = create(lab, name=unique("Back again"))
    pattern = api_url("credentials")
    page.route(pattern, lambda route: route.abort("connectionrefused"))
    panel = session.page.locator(PANEL)
    page.locator(TAB).click()
    error = panel.locator('[data-state="error"]')
    expect(error).to_contain_text("Cannot reach the Jupyter server")
    expect(error).to_have_attribute("role", "alert")
    page.unroute(pattern)
    error.get_by_role("button", name="Try again").click()
    expect(item(panel, cred["name"])).to_be_visible()


def test_session_expired(session: Session):
    page = session.page
    page.route(
        api_url("credentials"),
        lambda route: route.fulfill(
            status=401,
            json={"detail": "Invalid authentication credentials"},
            headers={"WWW-Authenticate": "Bearer"},
        ),
    )
    page.locator(TAB).click()
    state = page.locator(PANEL).locator('[data-state="unauthenticated"]')
    expect(state).to_contain_text("session has expired")
    expect(state.get_by_role("button", name="Reload page")).to_be_visible()
    assert "Invalid authentication credentials" not in state.inner_text()


# -- connection test --------------------------------------------------------------


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    """A fake AI provider on 127.0.0.1 (the lab allows private targets)."""
    fake = FakeProvider()
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


def test_connection_test_button_only_when_the_api_offers_it(session: Session):
    """The button follows ``connection_test`` in ``GET providers`` (issue 20: not the
    54 KB OpenAPI description read on every load)."""
    page, lab = session.page, session.lab
    cred = create(lab, name=unique("Testable"))
    providers = lab.api("GET", "providers").json
    assert [p["connection_test"] for p in providers if p["name"] == "openai"] == [True]
    untestable = [{**p, "connection_test": False} for p in providers]
    page.route(api_url("providers"), lambda route: route.fulfill(json=untestable))
    panel = session.open_panel()
    expect(item(panel, cred["name"])).to_be_visible()
    expect(panel.get_by_role("button", name=re.compile("^Test connection"))).to_have_count(0)

    page.unroute(api_url("providers"))
    panel.get_by_role("button", name="Refresh credentials").click()
    expect(
        item(panel, cred["name"]).get_by_role("button", name=f"Test connection of {cred['name']}")
    ).to_be_visible()


def test_connection_test_against_a_provider(session: Session, provider: FakeProvider):
    """Busy state, success with the right key, failure after the key is replaced in the panel."""
    page, lab = session.page, session.lab
    key = random_api_key("sk-good")
    provider.expect = ("Authorization", f"Bearer {key}")
    cred = create(lab, name=unique("Probe"), api_key=key, base_url=provider.url + "/v1")
    held: list[Route] = []
    page.route(api_url("credentials/[^/]+/test"), lambda route: held.append(route), times=1)
    panel = session.open_panel()
    entry = item(panel, cred["name"])
    button = entry.get_by_role("button", name=f"Test connection of {cred['name']}")
    result = entry.locator(".jp-OpenNotebook-testResult")
    expect(result).to_have_attribute("aria-live", "polite")
    expect(result).to_have_text("")
    button.click()

    # While the request is out: a busy button and a spoken "testing" line.
    expect(button).to_be_disabled()
    expect(button).to_have_text("Testing…")
    expect(result).to_have_text("Testing the connection…")
    expect(result).to_have_attribute("data-test-state", "running")
    assert len(held) == 1
    held[0].continue_()
    expect(result).to_have_text("Connection test passed: Connection successful")
    expect(result).to_have_attribute("data-test-state", "success")
    expect(button).to_be_enabled()
    expect(button).to_have_text("Test connection")
    assert provider.requests[-1][0] == "/v1/models"
    assert provider.requests[-1][1]["authorization"] == f"Bearer {key}"

    # Replace the key with one the provider refuses; the old result goes away.
    wrong = random_api_key("sk-wrong")
    entry.get_by_role("button", name=f"Edit {cred['name']}").click()
    form(panel).get_by_label("New API key", exact=True).fill(wrong)
    form(panel).get_by_role("button", name="Save").click()
    expect(form(panel)).to_have_count(0)
    expect(entry.locator(".jp-OpenNotebook-hint")).to_have_text(key_hint(wrong))
    expect(result).to_have_text("")
    button.click()
    expect(result).to_contain_text("Connection test failed: ")
    expect(result).to_contain_text("rejected the API key (HTTP 401)")
    expect(result).to_have_attribute("data-test-state", "failure")
    assert provider.requests[-1][1]["authorization"] == f"Bearer {wrong}"
    color = result.evaluate("e => getComputedStyle(e).color")
    r, g, b = (int(v) for v in re.findall(r"\d+", color)[:3])
    assert r > 150 and g < 100 and b < 100, color

    html = page.content()
    assert key not in html and wrong not in html
    assert key not in session.storage() and wrong not in session.storage()
    assert not any(key in line or wrong in line for line in session.console)
    assert (
        page.locator("input").evaluate_all(
            "(inputs, keys) => inputs.some(i => keys.some(k => i.value.includes(k)))", [key, wrong]
        )
        is False
    )


def test_connection_test_errors_are_text(session: Session, provider: FakeProvider):
    """A 404 (deleted elsewhere) and a 422 (undecryptable key) show the server's message."""
    lab = session.lab
    gone = create(lab, name=unique("Gone"), base_url=provider.url + "/v1")
    broken = create(lab, name=unique("Undecryptable"), base_url=provider.url + "/v1")
    panel = session.open_panel()
    expect(item(panel, broken["name"])).to_be_visible()
    assert lab.api("DELETE", f"credentials/{gone['id']}").status == 200
    foreign = Fernet(Fernet.generate_key()).encrypt(b"sk-other-key-0000").decode()
    with sqlite3.connect(lab.data_dir / "open_notebook.db") as db:
        db.execute(
            "UPDATE on_credentials SET api_key_encrypted = ? WHERE id = ?", (foreign, broken["id"])
        )
    try:
        for cred, text in [
            (gone, "Could not test the connection: Credential not found"),
            (broken, "cannot be decrypted"),
        ]:
            entry = item(panel, cred["name"])
            entry.get_by_role("button", name=f"Test connection of {cred['name']}").click()
            result = entry.locator(".jp-OpenNotebook-testResult")
            expect(result).to_contain_text(text)
            expect(result).to_contain_text("Could not test the connection: ")
            expect(result).to_have_attribute("data-test-state", "error")
            assert '"detail"' not in result.inner_text()
        assert provider.requests == []
    finally:
        lab.api("DELETE", f"credentials/{broken['id']}")


# -- notebooks with access ----------------------------------------------------------


def write_notebook(lab: ServerProcess, path: str) -> str:
    """An empty Python notebook at ``path`` under the lab's root; returns the path."""
    return notebook_file(lab.root, path)


def grants_of(lab: ServerProcess, credential_id: str) -> list[dict[str, Any]]:
    r = lab.api("GET", f"grants?credential_id={urllib.parse.quote(credential_id)}")
    assert r.status == 200, r.text
    return r.json


def test_notebook_access_toggle_list_and_revoke(session: Session):
    page, lab = session.page, session.lab
    cred = create(lab, name=unique("Shared"))
    other = create(lab, name=unique("Unrelated"))
    hexid = uuid.uuid4().hex[:6]
    path = write_notebook(lab, f"proj {hexid}/analysis-{hexid}.ipynb")
    nb_name = path.rsplit("/", 1)[-1]
    # A grant made elsewhere (the API), for a notebook that is not open.
    elsewhere = lab.api(
        "PUT",
        "grants",
        {
            "credential_id": cred["id"],
            "notebook_path": write_notebook(lab, f"elsewhere-{hexid}.ipynb"),
        },
    ).json
    session.open_notebook(path)
    panel = session.open_panel()
    entry = item(panel, cred["name"])
    allow = entry.get_by_role("switch", name=f"Allow {nb_name} to read this key")
    expect(allow).not_to_be_checked()
    disclosure = entry.get_by_role("button", name=re.compile(r"^Notebooks with access"))
    expect(disclosure).to_have_text("Notebooks with access (1)")
    expect(disclosure).to_have_attribute("aria-expanded", "false")

    # On: a grant for exactly this notebook's path.
    allow.click()
    expect(allow).to_be_checked()
    expect(disclosure).to_have_text("Notebooks with access (2)")
    expect(
        panel.get_by_role("status").filter(has_text=f"{nb_name} can now read “{cred['name']}”.")
    ).to_be_visible()
    (granted,) = [g for g in grants_of(lab, cred["id"]) if g["notebook_path"] == path]
    assert granted["credential_name"] == cred["name"]
    assert grants_of(lab, other["id"]) == []

    # The list, with the one-line explanation.
    disclosure.click()
    expect(disclosure).to_have_attribute("aria-expanded", "true")
    body = panel.locator(f"#{disclosure.get_attribute('aria-controls')}")
    expect(body).to_contain_text(f'secrets.get("{cred["name"]}")')
    listed = body.get_by_role("listitem")
    expect(listed.locator(".jp-OpenNotebook-grantPath")).to_have_text(
        sorted([path, elsewhere["notebook_path"]])
    )
    assert unlabelled_controls(panel) == []

    # Off (keyboard: Space on the switch): the grant is gone, the other one stays.
    allow.focus()
    page.keyboard.press("Space")
    expect(allow).not_to_be_checked()
    expect(listed.locator(".jp-OpenNotebook-grantPath")).to_have_text([elsewhere["notebook_path"]])
    assert [g["notebook_path"] for g in grants_of(lab, cred["id"])] == [elsewhere["notebook_path"]]

    # Another widget in front: no switch; this notebook again: the switch is back.
    session.command("launcher:create")
    expect(entry.get_by_role("switch")).to_have_count(0)
    session.open_notebook(path)
    expect(allow).to_be_visible()

    # Revoke from the list asks first.
    allow.click()
    expect(allow).to_be_checked()
    revoke = body.get_by_role("button", name=f"Revoke access of {path}")
    revoke.click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text(path)
    expect(dialog).to_contain_text(cred["name"])
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert len(grants_of(lab, cred["id"])) == 2
    revoke.click()
    dialog.get_by_role("button", name="Revoke").click()
    expect(allow).not_to_be_checked()
    expect(body.get_by_role("button", name=f"Revoke access of {path}")).to_have_count(0)
    assert [g["notebook_path"] for g in grants_of(lab, cred["id"])] == [elsewhere["notebook_path"]]


def test_notebook_access_follows_a_rename(session: Session):
    """The switch follows the open notebook's new name, and so does its grant."""
    page, lab = session.page, session.lab
    cred = create(lab, name=unique("Follow"))
    hexid = uuid.uuid4().hex[:6]
    path = write_notebook(lab, f"before-{hexid}.ipynb")
    session.open_notebook(path)
    panel = session.open_panel()
    entry = item(panel, cred["name"])
    entry.get_by_role("switch", name=f"Allow {path} to read this key").click()
    expect(entry.get_by_role("switch")).to_be_checked()
    assert [g["notebook_path"] for g in grants_of(lab, cred["id"])] == [path]

    renamed = f"after-{hexid}.ipynb"
    page.evaluate(
        "async ([a, b]) => { await window.jupyterapp.serviceManager.contents.rename(a, b); }",
        [path, renamed],
    )
    allow = entry.get_by_role("switch", name=f"Allow {renamed} to read this key")
    expect(allow).to_be_checked()
    entry.get_by_role("button", name=re.compile(r"^Notebooks with access")).click()
    expect(entry.locator(".jp-OpenNotebook-grantPath")).to_have_text([renamed])
    assert [g["notebook_path"] for g in grants_of(lab, cred["id"])] == [renamed]


# -- activity ------------------------------------------------------------------------


def test_activity_lists_create_and_delete(session: Session):
    page, lab = session.page, session.lab
    cred = create(lab, name=unique("Audited"))
    panel = session.open_panel()
    activity = panel.get_by_role("region", name="Activity")
    events = activity.get_by_role("listitem")
    created = events.filter(has_text=cred["name"])
    expect(created).to_have_count(1)
    expect(created.locator(".jp-OpenNotebook-eventWhat")).to_have_text("Credential created")
    expect(created.locator(".jp-OpenNotebook-eventName")).to_have_text(cred["name"])
    expect(created).to_contain_text("from 127.0.0.1")
    expect(created.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-"))

    # Deleting in the panel: the new event is listed first, without a manual refresh.
    item(panel, cred["name"]).get_by_role("button", name=f"Delete {cred['name']}").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Delete").click()
    expect(item(panel, cred["name"])).to_have_count(0)
    expect(events.filter(has_text=cred["name"]).locator(".jp-OpenNotebook-eventWhat")).to_have_text(
        ["Credential deleted", "Credential created"]
    )
    expect(events.first.locator(".jp-OpenNotebook-eventName")).to_have_text(cred["name"])

    # What happens elsewhere shows up on the refresh button: a key read with the
    # server's token, and a request with a wrong token.
    later_key = random_api_key("sk-later")
    later = create(lab, name=unique("Later"), api_key=later_key)
    read = lab.api("POST", f"credentials/{later['id']}/secret")
    assert read.status == 200 and later_key in read.text
    wrong = lab.request(
        "GET",
        "open-notebook/api/credentials",
        auth=False,
        headers={"Authorization": "token not-the-token"},
    )
    assert wrong.status == 401
    expect(events.filter(has_text=later["name"])).to_have_count(0)
    activity.get_by_role("button", name="Refresh activity").click()
    expect(events.nth(0).locator(".jp-OpenNotebook-eventWhat")).to_have_text(
        "Authentication failed"
    )
    expect(events.nth(0)).to_contain_text("GET /open-notebook/api/credentials")
    expect(events.nth(0)).to_have_class(re.compile(r"\bjp-mod-error\b"))
    expect(events.nth(1).locator(".jp-OpenNotebook-eventWhat")).to_have_text(
        "Key read with a server token"
    )
    expect(events.nth(1).locator(".jp-OpenNotebook-eventName")).to_have_text(later["name"])
    expect(events.nth(2).locator(".jp-OpenNotebook-eventWhat")).to_have_text("Credential created")

    # ...and when the panel is shown again.
    last = create(lab, name=unique("Last"))
    page.locator(TAB).click()
    expect(panel).to_be_hidden()
    page.locator(TAB).click()
    expect(events.first.locator(".jp-OpenNotebook-eventName")).to_have_text(last["name"])
    # The panel's answer is the server's, newest first.
    served = lab.api("GET", "audit?limit=3").json
    assert served[0]["credential_name"] == last["name"] and served[0]["action"] == "created"
    # No key in the page, though one was read.
    assert later_key not in page.content()


# -- keyboard and screen readers ------------------------------------------------------


def test_keyboard_only_add_and_cancel(session: Session):
    page, lab = session.page, session.lab
    name = unique("Keyboard")
    key = random_api_key("sk-kbd")
    panel = session.open_panel()
    add = panel.get_by_role("button", name="Add credential")
    add.focus()
    page.keyboard.press("Enter")
    f = form(panel)
    provider = f.get_by_label("Provider (required)")
    expect(provider).to_be_focused()
    page.keyboard.press("Escape")
    expect(form(panel)).to_have_count(0)
    expect(add).to_be_focused()

    page.keyboard.press("Enter")
    expect(provider).to_be_focused()
    provider.select_option("anthropic")  # a native select: arrow keys change it
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # past the provider's "API keys page" link
    expect(f.get_by_label("Name (required)", exact=True)).to_be_focused()
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    expect(f.get_by_label("API key (required)", exact=True)).to_be_focused()
    page.keyboard.type(key)
    page.keyboard.press("Enter")
    expect(item(panel, name)).to_be_visible()
    assert any(c["name"] == name and c["provider"] == "anthropic" for c in credentials(lab))


def test_every_control_has_an_accessible_name(session: Session):
    create(session.lab, name=unique("Labelled"), base_url="https://example.test")
    panel = session.open_panel()
    panel.get_by_role("button", name="Add credential").click()
    form(panel).get_by_label("Provider (required)").select_option("azure")
    assert unlabelled_controls(panel) == []
    count = panel.locator("button, input, select").count()
    assert count > 12  # the azure form (5+ inputs) and the list's buttons were checked


# -- theme and screenshots --------------------------------------------------------------


def _luminance(css_color: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css_color)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _set_theme(page: Page, theme: str, light: bool) -> None:
    page.evaluate(
        "theme => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme
    )
    expect(page.locator("body")).to_have_attribute(
        "data-jp-theme-light", "true" if light else "false", timeout=30_000
    )


def _widen_sidebar(page: Page, width: int) -> None:
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(width, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()


def _screenshot_setup(lab: ServerProcess, provider: FakeProvider) -> None:
    """A small, fixed set of credentials, grants and events for the pictures."""
    for cred in credentials(lab):
        lab.api("DELETE", f"credentials/{cred['id']}")
    # The Activity section shows only what happens from here on.
    (lab.data_dir / "audit.jsonl").write_text("", encoding="utf-8")
    work = create(
        lab,
        name="Work",
        api_key="sk-proj-" + "x" * 30 + "a1B2",
        base_url="https://api.openai.com/v1",
    )
    create(lab, name="Personal", api_key="sk-" + "y" * 30 + "9zQ4")
    create(lab, name="Claude", provider="anthropic", api_key="sk-ant-" + "z" * 30 + "Kc7d")
    # A local Ollama: the fake provider answers its model list.
    create(
        lab,
        name="Local models",
        provider="ollama",
        api_key=None,
        base_url=f"http://localhost:{provider.port}",
    )
    for path in ("analysis.ipynb", "reports/weekly.ipynb"):
        write_notebook(lab, path)
    lab.api("PUT", "grants", {"credential_id": work["id"], "notebook_path": "reports/weekly.ipynb"})


@pytest.mark.parametrize(
    ("theme", "light"),
    [
        pytest.param("JupyterLab Light", True, id="light"),
        pytest.param("JupyterLab Dark", False, id="dark"),
    ],
)
def test_theme_renders_and_screenshot(
    session: Session, tmp_path: Path, provider: FakeProvider, theme: str, light: bool
):
    page, lab = session.page, session.lab
    _screenshot_setup(lab, provider)
    shots: dict[str, Path] = {}

    def screenshot(name: str) -> None:
        shot = tmp_path / name
        page.screenshot(path=shot, clip={"x": 0, "y": 0, "width": 720, "height": 1000})
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        shots[name] = shot

    page.set_viewport_size({"width": 1200, "height": 1000})
    try:
        _set_theme(page, theme, light)
        if light:
            session.open_notebook("analysis.ipynb")
        panel = session.open_panel()
        expect(item(panel, "Claude")).to_be_visible()
        background = panel.evaluate("e => getComputedStyle(e).backgroundColor")
        text = (
            item(panel, "Work")
            .locator(".jp-OpenNotebook-credentialName")
            .evaluate("e => getComputedStyle(e).color")
        )
        if light:
            assert _luminance(background) > 0.8 and _luminance(text) < 0.3, (background, text)
        else:
            assert _luminance(background) < 0.3 and _luminance(text) > 0.6, (background, text)
        _widen_sidebar(page, 440)
        if light:
            # The list: a passed connection test, the open notebook allowed to read a key.
            local = item(panel, "Local models")
            local.get_by_role("button", name="Test connection of Local models").click()
            expect(local.locator(".jp-OpenNotebook-testResult")).to_have_text(
                "Connection test passed: Connection successful"
            )
            work = item(panel, "Work")
            work.get_by_role("switch", name="Allow analysis.ipynb to read this key").click()
            expect(work.get_by_role("switch")).to_be_checked()
            work.get_by_role("button", name=re.compile("^Notebooks with access")).click()
            expect(work.locator(".jp-OpenNotebook-grantPath")).to_have_count(2)
            page.mouse.move(700, 600)  # no hover highlight in the picture
            screenshot("panel-light.png")
        else:
            # The add form with an error, then the Activity section.
            panel.get_by_role("button", name="Add credential").click()
            form(panel).get_by_label("Provider (required)").select_option("openai")
            form(panel).get_by_label("Name (required)", exact=True).fill("Team account")
            form(panel).get_by_label("API key (required)", exact=True).fill("sk-not-a-real-key")
            form(panel).get_by_label("Base URL", exact=True).fill("ftp://wrong")
            form(panel).get_by_role("button", name="Save").click()
            expect(form(panel).locator(".jp-OpenNotebook-fieldError")).to_have_count(1)
            screenshot("panel-dark.png")
            form(panel).get_by_role("button", name="Cancel").click()
            local = item(panel, "Local models")
            local.get_by_role("button", name="Test connection of Local models").click()
            expect(local.locator(".jp-OpenNotebook-testResult")).to_contain_text("passed")
            item(panel, "Personal").get_by_role("button", name="Delete Personal").click()
            page.locator(".jp-Dialog").get_by_role("button", name="Delete").click()
            activity = panel.get_by_role("region", name="Activity")
            expect(activity.get_by_role("listitem").first).to_contain_text("Credential deleted")
            expect(activity.get_by_role("listitem").nth(1)).to_contain_text(
                "Connection test passed"
            )
            activity.locator(".jp-OpenNotebook-title").evaluate(
                "e => e.scrollIntoView({block: 'start'})"
            )
            screenshot("panel-activity.png")
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
            for name, shot in shots.items():
                shutil.copyfile(shot, DOCS_IMAGES / name)
    finally:
        if not light:
            _set_theme(page, "JupyterLab Light", True)
