"""The secret routes refuse anything a browser sent (issue 15, finding 3).

JupyterLab's page holds the server token (its page config), so script running in
that page — an extension, a rendered output, an XSS — could read every key with
``fetch(".../secrets/get", {headers: {Authorization: "token " + token}})``: the
routes refused cross-origin ``Origin`` values but took a same-origin one.
Browsers send ``Origin`` on every POST and ``Sec-Fetch-*`` on every request to a
secure or local origin; kernels, curl and ``open_notebook_ext.secrets`` send
neither. ``tests/test_browser_cors.py`` does the same from a real Chromium.
"""

from __future__ import annotations

import pytest

from helpers import random_api_key
from open_notebook_ext.handlers.secrets import FROM_A_BROWSER

# SQLite only: headers are judged before any database call.
pytestmark = pytest.mark.sqlite_only

ALLOWED = "https://lab.example.org"


@pytest.fixture
def extension_config():
    return {"allowed_origins": [ALLOWED]}


def secret_routes(credential_id: str) -> list[tuple[str, str, dict | None]]:
    return [
        ("POST", f"credentials/{credential_id}/secret", {}),
        ("POST", "secrets/get", {"name": "Work"}),
        ("GET", "secrets", None),
    ]


async def test_every_browser_mark_is_refused(api, jp_http_port):
    key = random_api_key()
    c = await api.create_credential(name="Work", api_key=key)
    same_origin = f"http://127.0.0.1:{jp_http_port}"
    marks = [
        {"Origin": same_origin},
        {"Origin": ALLOWED},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
        {"Sec-Fetch-Mode": "cors"},
        {"Sec-Fetch-Mode": "no-cors"},
    ]
    for method, path, body in secret_routes(c["id"]):
        plain = await api.request(method, path, body)
        assert plain.status == 200, (path, plain)  # kernels and curl: no marks, served
        for mark in marks:
            r = await api.request(method, path, body, headers=mark)
            assert r.status == 403, (path, mark, r)
            assert r.json == {"detail": FROM_A_BROWSER}
            assert key not in r.text and "api_key_hint" not in r.text
            assert not [h for h in r.headers if h.lower().startswith("access-control")]
            assert r.headers["Content-Type"].startswith("application/json")


async def test_the_refusal_comes_before_authentication(api):
    """No token, a wrong one, or a kernel token: the browser is told the same thing
    (and no wrong token from a browser page counts as a guess)."""
    c = await api.create_credential(name="Work")
    for auth in (None, "Bearer wrong", "Bearer onk_forged"):
        headers = {"Origin": "https://evil.example"}
        if auth:
            headers["Authorization"] = auth
        r = await api.post(f"credentials/{c['id']}/secret", {}, auth=None, headers=headers)
        assert r.status == 403 and r.json == {"detail": FROM_A_BROWSER}, (auth, r)
