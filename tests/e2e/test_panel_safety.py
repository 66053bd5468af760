# ruff: noqa: F811 - the fixtures imported from test_panel are parameters here
"""Issue 20, item 5 (safety), in a real JupyterLab page: renaming a credential that
notebooks use warns before saving, and a save that redacted keys from a notebook's
outputs shows a JupyterLab notification.

The lab, Chromium and the per-test browser context are test_panel.py's.
"""

from __future__ import annotations

import json
import uuid

import pytest
from playwright.sync_api import Page, WebSocket, expect
from test_panel import (  # noqa: F401 - fixtures used by name
    TAB,
    Session,
    browser,
    create,
    form,
    item,
    jp_asyncio_loop,
    jp_server_cleanup,
    lab,
    playwright,
    session,
    unique,
    write_notebook,
)

from support.leaks import random_api_key
from support.notebooks import write_notebook as notebook_file
from support.servers import ServerProcess

pytestmark = [pytest.mark.subprocess, pytest.mark.browser]

TOAST = ".jp-Notification-Toast, .Toastify__toast"


# -- renaming a credential notebooks use ---------------------------------------------------


def test_renaming_a_used_credential_warns_first_with_cancel_focused(session: Session):
    page, lab = session.page, session.lab
    cred = create(lab, name=unique("Old name"))
    used_by = [write_notebook(lab, f"rename-{uuid.uuid4().hex[:6]}.ipynb") for _ in range(2)]
    for path in used_by:
        assert (
            lab.api("PUT", "grants", {"credential_id": cred["id"], "notebook_path": path}).status
            == 201
        )
    new_name = unique("New name")
    panel = session.open_panel()
    entry = item(panel, cred["name"])
    entry.get_by_role("button", name=f"Edit {cred['name']}").click()
    f = form(panel)
    f.get_by_label("Name (required)", exact=True).fill(new_name)
    f.get_by_role("button", name="Save changes").click()

    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Rename credential")
    expect(dialog).to_contain_text(f"Rename “{cred['name']}” (OpenAI) to “{new_name}”?")
    expect(dialog).to_contain_text(
        f"These notebooks will stop working where their code calls "
        f"secrets.get({json.dumps(cred['name'])}) (it would need "
        f"secrets.get({json.dumps(new_name)})): {', '.join(sorted(used_by))}."
    )
    # before anything is saved, and Enter is Cancel
    assert session.api_posts() == []
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    assert session.api_posts() == []
    assert lab.api("GET", f"credentials/{cred['id']}").json["name"] == cred["name"]
    # the form is still open with what was typed
    expect(f.get_by_label("Name (required)", exact=True)).to_have_value(new_name)

    f.get_by_role("button", name="Save changes").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Rename").click()
    expect(item(panel, new_name)).to_be_visible()
    (put,) = session.api_posts()
    assert json.loads(put.post_data or "{}")["name"] == new_name
    assert lab.api("GET", f"credentials/{cred['id']}").json["name"] == new_name


def test_renaming_an_unused_credential_or_keeping_the_name_does_not_ask(session: Session):
    page, lab = session.page, session.lab
    lone = create(lab, name=unique("Lone"))
    used = create(lab, name=unique("Used"))
    path = write_notebook(lab, f"keep-{uuid.uuid4().hex[:6]}.ipynb")
    assert (
        lab.api("PUT", "grants", {"credential_id": used["id"], "notebook_path": path}).status == 201
    )
    panel = session.open_panel()
    item(panel, lone["name"]).get_by_role("button", name=f"Edit {lone['name']}").click()
    renamed = unique("Lone renamed")
    form(panel).get_by_label("Name (required)", exact=True).fill(renamed)
    form(panel).get_by_role("button", name="Save changes").click()
    expect(item(panel, renamed)).to_be_visible()
    # a used one, saved with its name unchanged (a new key): no question either
    item(panel, used["name"]).get_by_role("button", name=f"Edit {used['name']}").click()
    form(panel).get_by_label("New API key", exact=True).fill(random_api_key("sk-new"))
    form(panel).get_by_role("button", name="Save changes").click()
    expect(form(panel)).to_have_count(0)
    assert page.locator(".jp-Dialog").count() == 0
    assert len(session.api_posts()) == 2


# -- a notification when a save redacted keys ------------------------------------------------


def _printing_notebook(lab: ServerProcess, name: str) -> str:
    """A notebook whose one cell prints the key of ``name`` (a mistake redaction catches)."""
    path = f"leaky-{uuid.uuid4().hex[:6]}.ipynb"
    code = f"from open_notebook_ext import secrets\nprint(secrets.get({name!r}))"
    return notebook_file(lab.root, path, code)


def _frames(page: Page) -> list[str]:
    """Every text frame the page receives on the grant-prompt socket."""
    frames: list[str] = []

    def on_socket(ws: WebSocket) -> None:
        if "grant-prompts/socket" in ws.url:
            ws.on(
                "framereceived",
                lambda payload: frames.append(
                    payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
                ),
            )

    page.on("websocket", on_socket)
    return frames


def test_a_save_that_redacts_keys_shows_a_notification(session: Session):
    page, lab = session.page, session.lab
    key = random_api_key("sk-leak")
    cred = create(lab, name=unique("Leaky"), api_key=key)
    path = _printing_notebook(lab, cred["name"])
    assert (
        lab.api("PUT", "grants", {"credential_id": cred["id"], "notebook_path": path}).status == 201
    )
    frames = _frames(page)
    # another tab of the same user, without the notebook open: it is told, shows nothing
    other = session.context.new_page()
    other_frames = _frames(other)
    other.goto(f"{lab.url}lab?token={lab.token}")
    expect(other.locator(TAB)).to_be_visible(timeout=60_000)
    session.open_lab()

    session.open_notebook(path)
    page.evaluate("""async () => {
        const panel = window.jupyterapp.shell.currentWidget;
        await panel.sessionContext.ready;
        panel.content.activeCellIndex = 0;
        await window.jupyterapp.commands.execute('notebook:run-cell');
    }""")
    out = page.locator(".jp-NotebookPanel:visible .jp-OutputArea-output")
    expect(out).to_contain_text(key, timeout=90_000)  # the mistake, on screen
    session.command("docmanager:save")

    toast = page.locator(TOAST).filter(has_text=f"Saving {path} removed 1 stored API key")
    expect(toast).to_be_visible(timeout=30_000)
    expect(toast).to_contain_text("[REDACTED:…]")
    assert key not in toast.inner_text()
    saved = (lab.root / path).read_text(encoding="utf-8")
    assert key not in saved and f"[REDACTED:{cred['name']}]" in saved
    # what the socket carried: the path and a count, no key, no credential name
    redacted = [json.loads(f) for f in frames if '"redacted"' in f]
    assert redacted == [{"type": "redacted", "path": path, "count": 1}], frames
    assert not any(key in f for f in frames + other_frames)
    expect(other.locator(TOAST)).to_have_count(0)
    assert any('"redacted"' in f for f in other_frames), other_frames

    # the notification's action shows the notebook as saved
    toast.get_by_role("button", name="Reload from disk").click()
    expect(out).to_contain_text(f"[REDACTED:{cred['name']}]")
    expect(out).not_to_contain_text(key)
    assert key not in page.content()
    other.close()
