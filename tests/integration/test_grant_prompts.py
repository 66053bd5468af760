"""Grant prompts over the API: a real server, a real kernel, a page's WebSocket.

The browser side (the dialog, Allow and Deny clicked, cookie login, XSRF) is in
test_panel.py; here the page is a WebSocket client with the server's token, which
is what the prompt socket sees from JupyterLab too.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import websocket

from support.kernels import Kernel
from support.leaks import random_api_key
from support.servers import ServerProcess

pytestmark = pytest.mark.subprocess

NOTEBOOK = "analysis.ipynb"
GET = (
    "from open_notebook_ext import secrets\n"
    "try:\n    print('KEY', secrets.get('Work'))\n"
    "except secrets.AccessDenied as e:\n    print('DENIED', e)\n"
)


class Page:
    """What the JupyterLab page does: listen on the prompt socket."""

    def __init__(self, server: ServerProcess, origin: str | None = None, auth: bool = True) -> None:
        url = server.url.replace("http://", "ws://") + "open-notebook/api/grant-prompts/socket"
        headers = [f"Authorization: token {server.token}"] if auth else []
        kw: dict[str, Any] = {"header": headers, "timeout": 30}
        kw["origin"] = origin if origin else server.url.rstrip("/")
        self.ws = websocket.create_connection(url, **kw)

    def receive(self) -> dict[str, Any]:
        return json.loads(self.ws.recv())

    def next_prompt(self) -> dict[str, Any]:
        while True:
            message = self.receive()
            if message["type"] == "prompt":
                return message["prompt"]

    def close(self) -> None:
        self.ws.close()


class Background:
    """A cell running in a thread (it waits for the page's answer)."""

    def __init__(self, kernel: Kernel, code: str) -> None:
        self.result: list[str] = []
        self.thread = threading.Thread(target=lambda: self.result.append(kernel.run(code, 120)))
        self.thread.start()

    def output(self) -> str:
        self.thread.join(120)
        assert self.result, "the cell did not finish"
        return self.result[0]


@pytest.fixture
def make_server(server_factory) -> Any:
    def make(timeout: float = 60, args: list[str] | None = None) -> ServerProcess:
        s = server_factory(
            env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": "prompt test passphrase"},
            args=[f"--OpenNotebookApp.grant_prompt_timeout={timeout}", *(args or [])],
        ).start()
        (s.root / NOTEBOOK).write_text('{"cells": []}')
        return s

    return make


def work(server: ServerProcess) -> tuple[dict[str, Any], str]:
    key = random_api_key()
    r = server.api("POST", "credentials", {"name": "Work", "provider": "openai", "api_key": key})
    assert r.status == 201, r.text
    return r.json, key


def audit(server: ServerProcess, kind_action: str) -> list[dict[str, Any]]:
    events = [
        json.loads(line) for line in (server.data_dir / "audit.jsonl").read_text().splitlines()
    ]
    return [e for e in events if e.get("action") == kind_action]


def test_no_page_open_means_no_wait(make_server):
    """With the timeout at 10 minutes, a kernel whose owner has no page open is denied at
    once: the cell finishes (it would hit run()'s 60 s limit if it waited)."""
    server = make_server(timeout=600)
    work(server)
    kernel = Kernel(server, NOTEBOOK)
    try:
        out = kernel.run(GET, timeout=60)
    finally:
        kernel.shutdown()
    assert out.startswith("DENIED") and "Grant it in the Credentials panel" in out
    assert audit(server, "asked") == []


def test_allow_from_the_page_grants_and_the_waiting_call_gets_the_key(make_server):
    server = make_server()
    cred, key = work(server)
    page = Page(server)
    assert page.receive() == {"type": "snapshot", "prompts": []}
    kernel = Kernel(server, NOTEBOOK)
    try:
        kernel_token = kernel.run(
            "from open_notebook_ext import secrets;print(secrets._config()[1])"
        ).strip()
        cell = Background(kernel, GET)
        prompt = page.next_prompt()
        assert prompt["credential_name"] == "Work" and prompt["provider"] == "openai"
        assert prompt["notebook_path"] == NOTEBOOK and prompt["session_type"] == "notebook"
        assert key not in json.dumps(prompt)
        (listed,) = server.api("GET", "grant-prompts").json
        # the same prompt; expires_in counts down between the socket's message and this GET
        assert {k: v for k, v in listed.items() if k != "expires_in"} == {
            k: v for k, v in prompt.items() if k != "expires_in"
        }
        assert 0 < listed["expires_in"] <= prompt["expires_in"]
        # a kernel token cannot answer (code must not approve its own request)
        r = server.api(
            "POST",
            f"grant-prompts/{prompt['id']}",
            {"decision": "allow"},
            auth=False,
            headers={"Authorization": f"Bearer {kernel_token}"},
        )
        assert r.status == 401
        # nor a page of another origin, even with the token
        r = server.api(
            "POST",
            f"grant-prompts/{prompt['id']}",
            {"decision": "allow"},
            headers={"Origin": "http://evil.example"},
        )
        assert r.status == 403
        r = server.api("POST", f"grant-prompts/{prompt['id']}", {"decision": "maybe"})
        assert r.status == 422
        r = server.api("POST", f"grant-prompts/{prompt['id']}", {"decision": "allow"})
        assert r.status == 200, r.text
        assert r.json["grant"]["notebook_path"] == NOTEBOOK
        assert cell.output().strip() == f"KEY {key}"
        assert page.receive() == {"type": "closed", "id": prompt["id"], "outcome": "allow"}
        grants = server.api("GET", f"grants?credential_id={cred['id']}").json
        assert [g["notebook_path"] for g in grants] == [NOTEBOOK]
        # the prompt is over: answering again is 404
        assert (
            server.api("POST", f"grant-prompts/{prompt['id']}", {"decision": "deny"}).status == 404
        )
    finally:
        page.close()
        kernel.shutdown()
    assert [e["notebook_path"] for e in audit(server, "asked")] == [NOTEBOOK]
    assert len(audit(server, "allow")) == 1
    (granted,) = audit(server, "granted")
    assert granted["via"] == "prompt"
    for text in (server.log, (server.data_dir / "audit.jsonl").read_text()):
        assert key not in text


def test_deny_and_the_same_read_again_is_not_asked_twice(make_server):
    server = make_server()
    work(server)
    page = Page(server)
    kernel = Kernel(server, NOTEBOOK)
    try:
        first, second = Background(kernel, GET), None
        prompt = page.next_prompt()
        r = server.api("POST", f"grant-prompts/{prompt['id']}", {"decision": "deny"})
        assert r.status == 200 and r.json["grant"] is None
        out = first.output()
        assert out.startswith("DENIED") and "denied" in out and NOTEBOOK in out
        # asked again right away (code in a retry loop): no second dialog, denied at once
        second = kernel.run(GET)
        assert second.startswith("DENIED")
    finally:
        page.close()
        kernel.shutdown()
    assert len(audit(server, "asked")) == 1
    assert server.api("GET", "grants").json == []


def test_one_prompt_per_notebook_and_credential_and_the_timeout(make_server):
    server = make_server(timeout=3)
    work(server)
    page = Page(server)
    kernel = Kernel(server, NOTEBOOK)
    try:
        # two reads at once from two threads of the same kernel: one prompt
        cell = Background(
            kernel,
            (
                "import threading\nfrom open_notebook_ext import secrets\nout = []\n"
                "def read():\n    try:\n        secrets.get('Work')\n"
                "    except secrets.AccessDenied as e:\n        out.append(str(e))\n"
                "ts = [threading.Thread(target=read) for _ in range(2)]\n"
                "[t.start() for t in ts]; [t.join() for t in ts]\nprint(len(out), out[0])\n"
            ),
        )
        page.next_prompt()
        out = cell.output()
        assert out.startswith("2 ") and "nobody answered" in out and "3 s" in out
        assert page.receive()["outcome"] == "expired"
    finally:
        page.close()
        kernel.shutdown()
    assert len(audit(server, "asked")) == 1 and len(audit(server, "expired")) == 1


def test_the_page_going_away_ends_the_prompt(make_server):
    server = make_server(timeout=600)
    work(server)
    page = Page(server)
    kernel = Kernel(server, NOTEBOOK)
    try:
        cell = Background(kernel, GET)
        page.next_prompt()
        page.close()  # the tab was closed: denied after a few seconds, not 600
        assert cell.output().startswith("DENIED")
    finally:
        kernel.shutdown()
    assert len(audit(server, "no_page")) == 1


def test_the_socket_wants_a_login_and_this_origin(make_server):
    server = make_server(args=["--OpenNotebookApp.allowed_origins=https://allowed.example.org"])
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        Page(server, auth=False)
    assert refused.value.status_code == 401
    assert json.loads(refused.value.resp_body) == {"detail": "Authentication required"}
    for origin in ("http://evil.example", "https://allowed.example.org"):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            Page(server, origin=origin)
        assert refused.value.status_code == 403
        assert json.loads(refused.value.resp_body) == {
            "detail": "Grant prompts are answered from a JupyterLab page of this server only"
        }
    # a plain GET (no upgrade) and a method the socket does not have: JSON errors
    r = server.api("GET", "grant-prompts/socket")
    assert (r.status, r.json) == (400, {"detail": 'Can "Upgrade" only to "WebSocket"'}), r.text
    r = server.api("POST", "grant-prompts/socket", {})
    assert r.status == 405 and r.headers["Allow"] == "GET, OPTIONS", r.text
    # and nothing is held for a refused page
    work(server)
    kernel = Kernel(server, NOTEBOOK)
    try:
        assert kernel.run(GET).startswith("DENIED")
    finally:
        kernel.shutdown()
    assert audit(server, "asked") == []
    assert "Traceback" not in server.log


def test_a_console_can_be_granted_and_its_grant_ends_with_it(make_server):
    """Item 2: a console's path names no file; its grant is bound to its kernel."""
    server = make_server()
    cred, key = work(server)
    path = "console-1-0b7c6d1e-95a3-4c3f-9a57-2a1d3c7a9f10"
    r = server.request(
        "POST",
        "api/sessions",
        {"path": path, "type": "console", "name": "Console 1", "kernel": {"name": "python3"}},
    )
    assert r.status == 201, r.text
    kernel = Kernel.attach(server, r.json["kernel"]["id"], r.json["id"])
    try:
        denied = kernel.run(GET)
        assert denied.startswith("DENIED This console")
        assert "Allow this console to read this key" in denied
        r = server.api("PUT", "grants", {"credential_id": cred["id"], "notebook_path": path})
        assert r.status == 201, r.text
        assert kernel.run(GET).strip() == f"KEY {key}"
    finally:
        kernel.shutdown()
    # the console's kernel is gone: so is its grant (a later console never inherits it)
    deadline = time.monotonic() + 10
    while (
        server.api("GET", f"grants?credential_id={cred['id']}").json and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert server.api("GET", f"grants?credential_id={cred['id']}").json == []
    # a path that is neither a file nor a console is still refused
    r = server.api("PUT", "grants", {"credential_id": cred["id"], "notebook_path": path})
    assert r.status == 422
