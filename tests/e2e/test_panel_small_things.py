# ruff: noqa: F811 - the fixtures imported from test_panel are parameters here
"""Issue 20, item 6 (the small things seen in the screenshots), in a real JupyterLab page:
the notebooks-with-access list at the default sidebar width, the Show key button in the
dark theme, Ollama's base URL prefilled, provider labels instead of ids, and no
``openapi.json`` download on page load.

The lab, Chromium and the per-test browser context are test_panel.py's.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Route, expect
from test_panel import (  # noqa: F401 - fixtures used by name
    PANEL,
    TAB,
    Session,
    _set_theme,
    api_url,
    browser,
    create,
    credentials,
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

pytestmark = [pytest.mark.subprocess, pytest.mark.browser]


# -- (a) notebooks with access: one line each at the default width ----------------------

LINE_JS = """li => {
    const path = li.querySelector('.jp-OpenNotebook-grantPath');
    const badge = li.querySelector('.jp-OpenNotebook-grantOpen');
    const revoke = li.querySelector('.jp-OpenNotebook-revoke');
    const box = e => e && e.getBoundingClientRect();
    const lineHeight = parseFloat(getComputedStyle(path).lineHeight)
        || parseFloat(getComputedStyle(path).fontSize) * 1.4;
    return {
        text: path.textContent, title: path.getAttribute('title'),
        lines: path.getClientRects().length,
        height: box(path).height, lineHeight,
        ellipsized: path.scrollWidth > path.clientWidth,
        textOverflow: getComputedStyle(path).textOverflow,
        pathTop: box(path).top, pathBottom: box(path).bottom, pathRight: box(path).right,
        badge: badge && {text: badge.textContent, top: box(badge).top,
                         bottom: box(badge).bottom, left: box(badge).left,
                         height: box(badge).height},
        revokeTop: box(revoke).top, revokeBottom: box(revoke).bottom,
        liRight: box(li).right, panelRight: box(li.closest('.jp-OpenNotebook-panel')).right,
    };
}"""


def _overlap(a_top: float, a_bottom: float, b_top: float, b_bottom: float) -> bool:
    return min(a_bottom, b_bottom) - max(a_top, b_top) > 0


def test_notebooks_with_access_stay_on_one_line_at_the_default_width(session: Session):
    lab = session.lab
    cred = create(lab, name=unique("Work"))
    short = write_notebook(lab, "analysis.ipynb")
    long = write_notebook(lab, "reports/quarterly/revenue-forecast-by-region-2026.ipynb")
    for path in (short, long):
        assert (
            lab.api("PUT", "grants", {"credential_id": cred["id"], "notebook_path": path}).status
            == 201
        )
    session.open_notebook(short)
    panel = session.open_panel()
    # the default sidebar, as a new user has it
    width = panel.bounding_box()["width"]
    assert 200 <= width <= 300, width
    entry = item(panel, cred["name"])
    entry.get_by_role("button", name=re.compile(r"^Notebooks with access")).click()
    rows = entry.locator(".jp-OpenNotebook-grant")
    expect(rows).to_have_count(2)
    measured = {r["text"]: r for r in (row.evaluate(LINE_JS) for row in rows.all())}
    assert set(measured) == {short, long}
    for path, m in measured.items():
        # one line: the name is never broken ("analysis.ipyn" / "b")
        assert m["lines"] == 1 and m["height"] < 1.5 * m["lineHeight"], (path, m)
        # cut, if at all, with an ellipsis and the full name as the tooltip
        assert m["textOverflow"] == "ellipsis" and m["title"] == path, (path, m)
        # Revoke on the same line, inside the panel
        assert _overlap(m["pathTop"], m["pathBottom"], m["revokeTop"], m["revokeBottom"]), m
        assert m["liRight"] <= m["panelRight"] + 0.5, m
    assert measured[long]["ellipsized"], measured[long]  # too long for 250 px: cut
    assert not measured[short]["ellipsized"], measured[short]  # analysis.ipynb: whole
    badge = measured[short]["badge"]
    # the open notebook's badge: whole, on the name's line, right after it
    assert badge is not None and badge["text"] == "(open)", measured[short]
    assert badge["height"] < 1.5 * measured[short]["lineHeight"], badge
    assert _overlap(
        measured[short]["pathTop"], measured[short]["pathBottom"], badge["top"], badge["bottom"]
    ), measured[short]
    assert badge["left"] >= measured[short]["pathRight"] - 0.5, measured[short]
    assert measured[long]["badge"] is None


# -- (b) the Show key button in the dark theme --------------------------------------------

CONTRAST_JS = """el => {
    const parse = c => { const v = c.match(/[\\d.]+/g).map(Number);
                         return {r: v[0], g: v[1], b: v[2], a: v.length > 3 ? v[3] : 1}; };
    const over = (top, bottom) => ({
        r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a),
        b: top.b * top.a + bottom.b * (1 - top.a), a: 1});
    // the background actually painted behind the button: its own over its ancestors'
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
        const bg = parse(getComputedStyle(e).backgroundColor);
        if (bg.a > 0) layers.push(bg);
        if (bg.a >= 1) break;
    }
    let bg = {r: 255, g: 255, b: 255, a: 1};
    for (const layer of layers.reverse()) bg = over(layer, bg);
    const fg = over(parse(getComputedStyle(el).color), bg);
    const lum = c => { const ch = [c.r, c.g, c.b].map(v => { v /= 255;
        return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]; };
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    let opacity = 1;
    for (let e = el; e; e = e.parentElement) opacity *= parseFloat(getComputedStyle(e).opacity);
    return {ratio: (hi + 0.05) / (lo + 0.05), opacity, fg, bg,
            disabled: el.disabled, border: getComputedStyle(el).borderTopStyle};
}"""


@pytest.mark.parametrize(
    ("theme", "light"),
    [
        pytest.param("JupyterLab Dark", False, id="dark"),
        pytest.param("JupyterLab Light", True, id="light"),
    ],
)
def test_show_key_button_reads_as_enabled(session: Session, theme: str, light: bool):
    page = session.page
    try:
        _set_theme(page, theme, light)
        panel = session.open_panel()
        panel.get_by_role("button", name="Add credential").click()
        form(panel).get_by_label("Provider (required)").select_option("openai")
        show = form(panel).get_by_role("button", name="Show API key")
        expect(show).to_be_enabled()
        page.mouse.move(900, 700)  # no hover colour
        m = show.evaluate(CONTRAST_JS)
        print(f"\nShow button, {theme}: contrast {m['ratio']:.2f}:1, opacity {m['opacity']}")
        assert not m["disabled"] and m["opacity"] >= 1, m
        assert m["ratio"] >= 4.5, m
        assert m["border"] != "none", m  # a button's outline, like Edit and Delete
        if not light:
            assert (m["bg"]["r"] + m["bg"]["g"] + m["bg"]["b"]) / 3 < 80, m  # a dark button
    finally:
        if not light:
            _set_theme(page, "JupyterLab Light", True)


# -- (c) Ollama's base URL prefilled -------------------------------------------------------


def test_ollama_base_url_is_prefilled_and_can_be_changed(session: Session):
    lab = session.lab
    panel = session.open_panel()
    panel.get_by_role("button", name="Add credential").click()
    f = form(panel)
    f.get_by_label("Provider (required)").select_option("ollama")
    url = f.get_by_label("Base URL (required)", exact=True)
    expect(url).to_have_value("http://localhost:11434")
    name = unique("Local")
    f.get_by_label("Name (required)", exact=True).fill(name)
    f.get_by_role("button", name="Save").click()
    expect(item(panel, name)).to_contain_text("http://localhost:11434")
    (saved,) = [c for c in credentials(lab) if c["name"] == name]
    assert saved["base_url"] == "http://localhost:11434" and saved["provider"] == "ollama"

    # the user may change it; another provider does not inherit Ollama's address
    panel.get_by_role("button", name="Add credential").click()
    f.get_by_label("Provider (required)").select_option("ollama")
    url.fill("http://gpu-box.example.test:11434")
    other = unique("Remote")
    f.get_by_label("Name (required)", exact=True).fill(other)
    f.get_by_role("button", name="Save").click()
    expect(item(panel, other)).to_be_visible()
    (saved,) = [c for c in credentials(lab) if c["name"] == other]
    assert saved["base_url"] == "http://gpu-box.example.test:11434"

    panel.get_by_role("button", name="Add credential").click()
    f.get_by_label("Provider (required)").select_option("ollama")
    expect(url).to_have_value("http://localhost:11434")
    f.get_by_label("Provider (required)").select_option("openai")
    expect(f.get_by_label("Base URL", exact=True)).to_have_value("")
    # editing shows what is stored, not the prefill
    f.get_by_role("button", name="Cancel").click()
    item(panel, other).get_by_role("button", name=f"Edit {other}").click()
    expect(form(panel).get_by_label("Base URL (required)", exact=True)).to_have_value(
        "http://gpu-box.example.test:11434"
    )


# -- (d) provider labels, not ids -------------------------------------------------------------


def test_server_messages_name_providers_by_label(session: Session):
    page, lab = session.page, session.lab
    taken = create(lab, name=unique("Taken"))
    panel = session.open_panel()
    panel.get_by_role("button", name="Add credential").click()
    f = form(panel)
    f.get_by_label("Provider (required)").select_option("openai")
    f.get_by_label("Name (required)", exact=True).fill(taken["name"])
    f.get_by_label("API key (required)", exact=True).fill(random_api_key())
    f.get_by_role("button", name="Save").click()
    alert = f.get_by_role("alert")
    # the server says "... for provider openai"; the panel says the label
    expect(alert).to_have_text("A credential with this name already exists for OpenAI")
    (post,) = session.api_posts()
    assert "for provider openai" in (post.response().json() or {})["detail"]

    # a field error from the server that names the provider: its label too
    def missing_key(route: Route) -> None:
        if route.request.method == "POST":
            route.fulfill(
                status=422,
                json={
                    "detail": "api_key: is required for provider anthropic",
                    "errors": [
                        {"field": "api_key", "message": "is required for provider anthropic"}
                    ],
                },
            )
        else:
            route.fallback()

    page.route(api_url("credentials"), missing_key)
    f.get_by_role("button", name="Cancel").click()
    panel.get_by_role("button", name="Add credential").click()
    f.get_by_label("Provider (required)").select_option("anthropic")
    f.get_by_label("Name (required)", exact=True).fill(unique("Claude"))
    f.get_by_label("API key (required)", exact=True).fill(random_api_key())
    f.get_by_role("button", name="Save").click()
    expect(f.locator(".jp-OpenNotebook-fieldError")).to_have_text(
        ["API key is required for Anthropic"]
    )
    assert not re.search(r"provider (openai|anthropic)\b", panel.inner_text())


# -- (e) no openapi.json on page load -----------------------------------------------------------


def _api_bytes(responses: list[Any]) -> dict[str, int]:
    """Bytes of the API's GET answers (the WebSocket upgrade has no body)."""
    sizes: dict[str, int] = {}
    for r in responses:
        if "/open-notebook/api/" in r.url and r.request.method == "GET" and r.status == 200:
            route = r.url.split("/open-notebook/api/", 1)[1].split("?", 1)[0]
            sizes[route] = sizes.get(route, 0) + len(r.body())
    return sizes


def test_page_load_does_not_download_the_openapi_description(session: Session):
    page, lab = session.page, session.lab
    testable = create(lab, name=unique("Testable"))
    vertex = create(
        lab,
        name=unique("Vertex"),
        provider="vertex",
        api_key=None,
        project="my-project",
        location="us-central1",
    )
    responses: list[Any] = []
    page.on("response", lambda r: responses.append(r))
    session.requests.clear()
    session.open_lab()
    panel = session.open_panel()
    expect(
        item(panel, testable["name"]).get_by_role(
            "button", name=f"Test connection of {testable['name']}"
        )
    ).to_be_visible()
    # the server cannot test a Vertex credential: no button that would only say so
    expect(item(panel, vertex["name"])).to_be_visible()
    expect(
        item(panel, vertex["name"]).get_by_role("button", name=re.compile("^Test connection"))
    ).to_have_count(0)
    # shown again (a reload of everything): still no spec
    page.locator(TAB).click()
    expect(page.locator(PANEL)).to_be_hidden()
    page.locator(TAB).click()
    expect(item(panel, testable["name"])).to_be_visible()
    page.wait_for_load_state("networkidle")
    urls = [r.url for r in session.requests]
    assert not [u for u in urls if "openapi" in u], urls
    assert any(re.search(r"/open-notebook/api/providers(\?|$)", u) for u in urls), urls
    sizes = _api_bytes(responses)
    spec = lab.request("GET", "open-notebook/api/openapi.json", auth=False)
    print(
        f"\nAPI bytes on load (no spec): {sum(sizes.values())} {json.dumps(sizes)}; "
        f"the spec alone would be {len(spec.text.encode())}"
    )
    assert "openapi.json" not in sizes
    # the answer it reads instead says which providers can be tested
    providers = {p["name"]: p for p in lab.api("GET", "providers").json}
    assert providers["openai"]["connection_test"] is True
    assert providers["vertex"]["connection_test"] is False
