# ruff: noqa: F811 - the fixtures imported from test_panel are parameters here
"""The everyday path of issue 20 in a real JupyterLab page: code reads a key and the
page asks (grant prompts), consoles, the "use in code" snippet.

A lab of its own (a short ``grant_prompt_timeout`` for the timeout case), with the
browser fixtures of test_panel.py. The kernel is the notebook's own, started by
JupyterLab; the cell's output is read from the page.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from test_panel import (  # noqa: F401 - fixtures used by name
    DOCS_IMAGES,
    LAB_OVERRIDES,
    PANEL,
    Session,
    browser,
    create,
    grants_of,
    item,
    jp_asyncio_loop,
    jp_server_cleanup,
    playwright,
    session,
    unique,
)

from support.notebooks import reading_cell, write_notebook
from support.servers import ServerProcess

pytestmark = [pytest.mark.subprocess, pytest.mark.browser]

PROMPT_TIMEOUT = 8
DIALOG = ".jp-Dialog.jp-OpenNotebook-grantPrompt"
OUTPUT = ".jp-NotebookPanel:visible .jp-OutputArea-output"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("lab-prompts")
    settings = home / "lab-settings"
    settings.mkdir()
    (settings / "overrides.json").write_text(json.dumps(LAB_OVERRIDES), encoding="utf-8")
    server = ServerProcess(
        home,
        app="lab",
        args=[
            f"--LabApp.app_settings_dir={settings}",
            "--LabApp.expose_app_in_browser=True",
            f"--OpenNotebookApp.grant_prompt_timeout={PROMPT_TIMEOUT}",
        ],
    )
    server.start(timeout=90)
    yield server
    server.stop()


def reading_notebook(lab: ServerProcess, name: str) -> str:
    """A notebook whose one cell reads the key of ``name`` (and prints its length)."""
    path = f"prompt-{uuid.uuid4().hex[:6]}.ipynb"
    return write_notebook(lab.root, path, reading_cell(name))


def run_first_cell(session: Session, path: str) -> None:
    """Open the notebook, wait for its kernel, run its cell (not waiting for the result:
    the cell waits for the dialog)."""
    session.open_notebook(path)
    session.page.evaluate("""async () => {
        const panel = window.jupyterapp.shell.currentWidget;
        await panel.sessionContext.ready;
        panel.content.activeCellIndex = 0;
        void window.jupyterapp.commands.execute('notebook:run-cell');
    }""")


def output(page: Page) -> str:
    out = page.locator(OUTPUT)
    expect(out).to_have_count(1, timeout=90_000)
    return out.inner_text()


def test_allow_in_the_dialog_gives_the_waiting_cell_its_key(session: Session, tmp_path: Path):
    page, lab = session.page, session.lab
    cred = create(lab, name=unique("Work"))
    path = reading_notebook(lab, cred["name"])
    panel = session.open_panel()  # open, so the grant shows up in it too
    run_first_cell(session, path)
    dialog = page.locator(DIALOG)
    expect(dialog).to_be_visible(timeout=60_000)
    expect(dialog).to_contain_text(f"{path} wants to read “{cred['name']}” (OpenAI).")
    # Deny is the default: Enter or a stray click elsewhere does not grant
    expect(dialog.get_by_role("button", name="Deny")).to_be_focused()
    # the README's picture of the prompt (UPDATE_SCREENSHOTS=1 writes it to docs/images/)
    shot = tmp_path / "panel-prompt.png"
    page.screenshot(path=shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, DOCS_IMAGES / shot.name)
    assert grants_of(lab, cred["id"]) == []
    dialog.get_by_role("button", name="Allow").click()
    expect(dialog).to_have_count(0)
    assert output(page).strip() == f"GOT {len(_key_of(lab, cred))}"
    (grant,) = grants_of(lab, cred["id"])
    assert grant["notebook_path"] == path
    expect(
        page.locator(".jp-Notification-Toast, .Toastify__toast").filter(
            has_text=f"{path} can now read “{cred['name']}”."
        )
    ).to_be_visible()
    # the panel shows the new grant (the switch of the notebook in front is on)
    expect(
        item(panel, cred["name"]).get_by_role("switch", name=f"Allow {path} to read this key")
    ).to_be_checked()
    assert session.dialogs == []


def _key_of(lab: ServerProcess, cred: dict) -> str:
    r = lab.api("POST", f"credentials/{cred['id']}/secret", {})
    assert r.status == 200, r.text
    return r.json["api_key"]


def test_deny_and_escape_give_access_denied(session: Session):
    page, lab = session.page, session.lab
    for how in ("deny", "escape"):
        cred = create(lab, name=unique("Nope"))
        path = reading_notebook(lab, cred["name"])
        run_first_cell(session, path)
        dialog = page.locator(DIALOG)
        expect(dialog).to_be_visible(timeout=60_000)
        if how == "deny":
            dialog.get_by_role("button", name="Deny").click()
        else:
            page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)
        text = output(page)
        assert text.startswith("DENIED") and "denied" in text and path in text, (how, text)
        assert grants_of(lab, cred["id"]) == []


def test_unanswered_prompt_times_out(session: Session):
    page, lab = session.page, session.lab
    cred = create(lab, name=unique("Late"))
    path = reading_notebook(lab, cred["name"])
    run_first_cell(session, path)
    dialog = page.locator(DIALOG)
    expect(dialog).to_be_visible(timeout=60_000)
    # nobody answers: after grant_prompt_timeout the cell is denied and the dialog goes
    expect(dialog).to_have_count(0, timeout=(PROMPT_TIMEOUT + 30) * 1000)
    text = output(page)
    assert text.startswith("DENIED") and f"within {PROMPT_TIMEOUT} s" in text
    assert grants_of(lab, cred["id"]) == []


def run_in_console(session: Session, code: str) -> None:
    """Type ``code`` into the console in front and run it (not waiting for it)."""
    session.page.evaluate(
        """async (code) => {
        const panel = window.jupyterapp.shell.currentWidget;
        await panel.sessionContext.ready;
        panel.console.promptCell.model.sharedModel.setSource(code);
        void panel.console.execute(true);
    }""",
        code,
    )


def test_a_console_is_asked_and_has_a_switch(session: Session):
    """Item 2: a console is not a dead end. Its code is asked about, the denial says what
    to do in a console, and the panel offers the switch for the console in front."""
    page, lab = session.page, session.lab
    cred = create(lab, name=unique("Console key"))
    code = (
        "from open_notebook_ext import secrets\n"
        f"try:\n    print('GOT', len(secrets.get({cred['name']!r})))\n"
        "except secrets.AccessDenied as e:\n    print('DENIED', e)\n"
    )
    session.command("console:create", {"kernelPreference": {"name": "python3"}})
    expect(page.locator(".jp-ConsolePanel:visible")).to_have_count(1)
    run_in_console(session, code)
    dialog = page.locator(DIALOG)
    expect(dialog).to_be_visible(timeout=60_000)
    expect(dialog).to_contain_text(f"A console wants to read “{cred['name']}” (OpenAI).")
    expect(dialog).to_contain_text("until the console is closed")
    dialog.get_by_role("button", name="Deny").click()
    outputs = page.locator(".jp-ConsolePanel:visible .jp-OutputArea-output")
    expect(outputs).to_have_count(1, timeout=90_000)
    denied = outputs.first.inner_text()
    assert denied.startswith("DENIED This console was denied")
    assert "Allow this console to read this key" in denied

    panel = session.open_panel()
    allow = item(panel, cred["name"]).get_by_role(
        "switch", name="Allow this console to read this key"
    )
    allow.click()
    expect(allow).to_be_checked()
    (grant,) = grants_of(lab, cred["id"])
    assert grant["notebook_path"].rsplit("/", 1)[-1].startswith("console-")
    run_in_console(session, code)
    expect(outputs).to_have_count(2, timeout=90_000)
    assert outputs.nth(1).inner_text().strip() == f"GOT {len(_key_of(lab, cred))}"
    # closing the console shuts its kernel down: the grant goes with it
    page.evaluate(
        "async () => { await window.jupyterapp.shell.currentWidget.sessionContext.shutdown(); }"
    )
    deadline = time.monotonic() + 20
    while grants_of(lab, cred["id"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert grants_of(lab, cred["id"]) == []


# -- item 3: use in code ---------------------------------------------------------------


def test_use_in_code_copies_the_snippet(session: Session):
    page, lab = session.page, session.lab
    session.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=lab.url.rstrip("/")
    )
    cred = create(lab, name=unique("Snippet"))
    twin = create(lab, name=cred["name"], provider="anthropic")  # the same name twice
    panel = session.open_panel()
    entry = panel.locator(f'[data-credential-id="{cred["id"]}"]')
    expect(entry.locator(".jp-OpenNotebook-snippet")).to_have_text(
        f'secrets.get("{cred["name"]}", provider="openai")'
    )
    entry.get_by_role("button", name=f"Copy the code that reads {cred['name']}").click()
    expect(entry.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == (
        "from open_notebook_ext import secrets\n"
        f'key = secrets.get("{cred["name"]}", provider="openai")\n'
    )
    # alone with its name again: the short form
    assert lab.api("DELETE", f"credentials/{twin['id']}").status == 200
    session.open_lab()
    panel = session.open_panel()
    expect(
        panel.locator(f'[data-credential-id="{cred["id"]}"] .jp-OpenNotebook-snippet')
    ).to_have_text(f'secrets.get("{cred["name"]}")')


# -- item 5: keyboard and safety ---------------------------------------------------------


def test_palette_focuses_the_panel_and_delete_is_safe_and_names_the_notebooks(session: Session):
    page, lab = session.page, session.lab
    cred = create(lab, name=unique("Used"))
    path = reading_notebook(lab, cred["name"])
    assert (
        lab.api("PUT", "grants", {"credential_id": cred["id"], "notebook_path": path}).status == 201
    )
    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette-input").fill("Manage API keys")
    page.keyboard.press("Enter")
    panel = page.locator(PANEL)
    expect(panel).to_be_visible()
    # the focus is in the panel, not on the Launcher behind it
    page.wait_for_function(
        "id => document.getElementById(id).contains(document.activeElement)", arg=PANEL[1:]
    )
    before = {f for f in (lab.root.iterdir())}
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    assert {f for f in lab.root.iterdir()} == before  # no untitled.py from the Launcher

    item(panel, cred["name"]).get_by_role("button", name=f"Delete {cred['name']}").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text(f"This notebook will stop working: {path}")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Enter")  # Enter on the focused Cancel: nothing deleted
    expect(dialog).to_have_count(0)
    assert lab.api("GET", f"credentials/{cred['id']}").status == 200
