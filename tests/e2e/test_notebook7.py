# ruff: noqa: F811 - the fixtures imported from test_panel are parameters here
"""Issue 20, item 7: the Credentials panel in Jupyter Notebook 7, in a real ``jupyter
notebook`` (the ``notebook`` 7 package of the test dependencies) driven with Chromium:
its tree view (the file browser page) and its notebook view, where the panel lives in
the left area (View > Left Sidebar > Show Credentials, or the command palette).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from test_panel import (  # noqa: F401 - fixtures used by name
    LAB_OVERRIDES,
    PANEL,
    TIMEOUT_MS,
    browser,
    create,
    credentials,
    form,
    grants_of,
    item,
    jp_asyncio_loop,
    jp_server_cleanup,
    playwright,
    unique,
    write_notebook,
)

from support.leaks import random_api_key
from support.notebooks import reading_cell, write_notebook
from support.servers import ServerProcess

pytestmark = [pytest.mark.subprocess, pytest.mark.browser]

PROMPT_DIALOG = ".jp-Dialog.jp-OpenNotebook-grantPrompt"


@pytest.fixture(scope="module")
def nb7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """``jupyter notebook`` (Notebook 7) with the extension."""
    pytest.importorskip("notebook", minversion="7")  # a test dependency (pyproject.toml)
    home = tmp_path_factory.mktemp("nb7")
    settings = home / "settings"
    settings.mkdir()
    (settings / "overrides.json").write_text(json.dumps(LAB_OVERRIDES), encoding="utf-8")
    server = ServerProcess(
        home,
        app="notebook",
        args=[
            f"--JupyterNotebookApp.app_settings_dir={settings}",
            "--JupyterNotebookApp.expose_app_in_browser=True",
            "--OpenNotebookApp.grant_prompt_timeout=60",
        ],
    )
    server.start(timeout=90)
    yield server
    server.stop()


@pytest.fixture
def page(browser: Browser, nb7: ServerProcess) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 860})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"{e}\n{e.stack}"))
    yield page
    context.close()
    # Notebook 7.6 itself throws "Cannot read properties of undefined (reading 'schema')"
    # from its own bundle when the View menu opens (with any left panel, the Extension
    # Manager too): only errors from this extension's code count here.
    assert [e for e in errors if "open-notebook-ext" in e] == []


def _open(page: Page, nb7: ServerProcess, path: str) -> None:
    """Open a Notebook 7 page (``tree`` or ``notebooks/<path>``) and wait for the app."""
    page.goto(f"{nb7.url}{path}?token={nb7.token}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored")


def _show_from_view_menu(page: Page) -> Locator:
    """View > Left Sidebar > Show Credentials, as a user finds it."""
    panel = page.locator(PANEL)
    expect(panel).to_be_hidden()
    page.get_by_role("menuitem", name="View").click()
    page.locator(".lm-Menu-item", has_text="Left Sidebar").hover()
    page.get_by_role("menuitem", name="Show Credentials").click()
    expect(panel).to_be_visible()
    expect(panel.get_by_role("heading", name="Credentials")).to_be_visible()
    return panel


def test_tree_view_has_the_panel_in_the_left_area(page: Page, nb7: ServerProcess):
    existing = create(nb7, name=unique("Work"))
    _open(page, nb7, "tree")
    expect(page.locator(".jp-DirListing")).to_be_visible(timeout=60_000)  # the tree view
    panel = _show_from_view_menu(page)
    expect(item(panel, existing["name"])).to_be_visible()
    # in the shell's left area, beside the file browser
    assert page.evaluate(
        "id => [...window.jupyterapp.shell.widgets('left')].some(w => w.id === id)", PANEL[1:]
    )
    panel_box, main_box = panel.bounding_box(), page.locator(".jp-DirListing").bounding_box()
    assert panel_box["x"] + panel_box["width"] <= main_box["x"] + 1, (panel_box, main_box)
    # adding works as in JupyterLab
    name = unique("Added in Notebook 7")
    panel.get_by_role("button", name="Add credential").click()
    f = form(panel)
    f.get_by_label("Provider (required)").select_option("anthropic")
    f.get_by_label("Name (required)", exact=True).fill(name)
    f.get_by_label("API key (required)", exact=True).fill(random_api_key("sk-ant"))
    f.get_by_role("button", name="Save").click()
    expect(item(panel, name)).to_be_visible()
    assert any(c["name"] == name and c["provider"] == "anthropic" for c in credentials(nb7))
    # no notebook in front of the tree: no grant switch
    expect(item(panel, name).get_by_role("switch")).to_have_count(0)


def test_tree_view_palette_opens_and_focuses_the_panel(page: Page, nb7: ServerProcess):
    _open(page, nb7, "tree")
    expect(page.locator(".jp-DirListing")).to_be_visible(timeout=60_000)
    expect(page.locator(PANEL)).to_be_hidden()
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".lm-CommandPalette-input")
    expect(palette).to_be_visible()
    palette.fill("Manage API keys")
    expect(
        page.locator(".lm-CommandPalette-item", has_text="Credentials: Manage API keys")
    ).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator(PANEL)).to_be_visible()
    page.wait_for_function(
        "id => document.getElementById(id).contains(document.activeElement)", arg=PANEL[1:]
    )


def _reading_notebook(nb7: ServerProcess, name: str) -> str:
    path = f"nb7-{uuid.uuid4().hex[:6]}.ipynb"
    return write_notebook(Path(nb7.root), path, reading_cell(name))


def test_notebook_view_switch_and_grant_prompt(page: Page, nb7: ServerProcess):
    switched = create(nb7, name=unique("Switched"))
    asked = create(nb7, name=unique("Asked"))
    path = _reading_notebook(nb7, asked["name"])
    _open(page, nb7, f"notebooks/{path}")
    expect(page.locator(".jp-NotebookPanel")).to_be_visible(timeout=60_000)
    panel = _show_from_view_menu(page)
    # the notebook of this page is the one in front: its switch grants it
    allow = item(panel, switched["name"]).get_by_role(
        "switch", name=f"Allow {path} to read this key"
    )
    expect(allow).not_to_be_checked()
    allow.click()
    expect(allow).to_be_checked()
    assert [g["notebook_path"] for g in grants_of(nb7, switched["id"])] == [path]

    # code that asks for a key it was not granted: the page asks, Allow gives it the key
    page.evaluate("""async () => {
        const panel = window.jupyterapp.shell.currentWidget;
        await panel.sessionContext.ready;
        panel.content.activeCellIndex = 0;
        void window.jupyterapp.commands.execute('notebook:run-cell');
    }""")
    dialog = page.locator(PROMPT_DIALOG)
    expect(dialog).to_be_visible(timeout=90_000)
    expect(dialog).to_contain_text(f"{path} wants to read “{asked['name']}” (OpenAI).")
    expect(dialog.get_by_role("button", name="Deny")).to_be_focused()
    dialog.get_by_role("button", name="Allow").click()
    out = page.locator(".jp-NotebookPanel .jp-OutputArea-output")
    expect(out).to_have_count(1, timeout=90_000)
    key = nb7.api("POST", f"credentials/{asked['id']}/secret", {}).json["api_key"]
    assert out.inner_text().strip() == f"GOT {len(key)}"
    (grant,) = grants_of(nb7, asked["id"])
    assert grant["notebook_path"] == path
    expect(
        item(panel, asked["name"]).get_by_role("switch", name=f"Allow {path} to read this key")
    ).to_be_checked()
    assert key not in page.content()


def test_the_notebooks_panel_tests_need_notebook_7():
    """The dependency is declared (``make install`` puts it in the test environment)."""
    import tomllib

    pyproject = tomllib.loads(
        (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    )
    assert any(
        dep.replace(" ", "").startswith("notebook>=7")
        for dep in pyproject["project"]["optional-dependencies"]["test"]
    )
    from importlib.metadata import version

    assert int(version("notebook").split(".")[0]) == 7
