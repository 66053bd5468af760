"""jupyter-ai v3 with the real packages (the .venv-ai `make test` builds): AI Settings
stores keys as encrypted credentials, Jupyternaut's model call and %%ai get the stored
key at a fake provider on loopback, no .env appears, kernels get none of the keys."""

from __future__ import annotations

import asyncio
import http.server
import json
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from support.kernels import Kernel
from support.leaks import random_api_key
from support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
AI_VENV = ROOT / ".venv-ai"
PERSONA = "jupyter-ai-personas::jupyter_ai_jupyternaut::JupyternautPersona"
NOTEBOOK = "ai.ipynb"
pytestmark = [pytest.mark.subprocess, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def ai_bin() -> Path:
    """The jupyter-ai venv; built here when `make test` has not built it yet."""
    if not (AI_VENV / ".installed").exists():
        subprocess.run(["make", "-C", str(ROOT), "jupyter-ai-venv"], check=True, timeout=1200)
    return AI_VENV / "bin"


class FakeOpenAI:
    """Chat completions, streamed or not; records the Authorization header of each."""

    def __init__(self) -> None:
        self.port = free_port()
        self.seen: list[dict[str, str]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.seen.append(
                    {
                        "path": self.path,
                        "authorization": self.headers.get("Authorization", ""),
                        "stream": str(bool(body.get("stream"))),
                    }
                )
                if body.get("stream"):
                    chunks = [
                        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": word}}]}
                        for word in ("Hello ", "from ", "fake")
                    ]
                    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                    data = b"".join(
                        b"data: "
                        + json.dumps(
                            {
                                "id": "c1",
                                "object": "chat.completion.chunk",
                                "created": 1,
                                "model": "gpt-4o-mini",
                                **c,
                            }
                        ).encode()
                        + b"\n\n"
                        for c in chunks
                    )
                    data += b"data: [DONE]\n\n"
                    kind = "text/event-stream"
                else:
                    data = json.dumps(
                        {
                            "id": "c1",
                            "object": "chat.completion",
                            "created": 1,
                            "model": "gpt-4o-mini",
                            "choices": [
                                {
                                    "index": 0,
                                    "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": "Hello from fake"},
                                }
                            ],
                            "usage": {
                                "prompt_tokens": 1,
                                "completion_tokens": 3,
                                "total_tokens": 4,
                            },
                        }
                    ).encode()
                    kind = "application/json"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


@pytest.fixture
def fake():
    f = FakeOpenAI()
    yield f
    f.httpd.shutdown()


@pytest.fixture
def dotenv_key() -> str:
    return random_api_key("sk-ant-dotenv")


@pytest.fixture
def server(server_factory, ai_bin, tmp_path, dotenv_key):
    home = tmp_path / "home"
    (home / "work").mkdir(parents=True)
    # an existing jupyter-ai .env: not loaded any more, kept until the user says so
    (home / "work" / ".env").write_text(f'ANTHROPIC_API_KEY="{dotenv_key}"\n')
    config = home / ".jupyter"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"JupyternautExtension": {"initial_language_model": "openai/gpt-4o-mini"}})
    )
    s = server_factory(
        home,
        bin_dir=ai_bin,
        env={
            "OPEN_NOTEBOOK_ENCRYPTION_KEY": "jupyter-ai test passphrase",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        },
    )
    s.start(timeout=240)
    (s.root / NOTEBOOK).write_text(
        '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    return s


def chat(server, text: str, timeout: float = 120) -> list[dict[str, Any]]:
    """Send a message to Jupyternaut over jupyterlab-chat's WebSocket (no browser)."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    async def run() -> list[dict[str, Any]]:
        url = f"ws://127.0.0.1:{server.port}/api/chat/ws/test.chat"
        ws = await websocket_connect(
            HTTPRequest(url, headers={"Authorization": f"token {server.token}"})
        )
        frames: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        sent = False
        while time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(ws.read_message(), 5)
            except asyncio.TimeoutError:
                raw = ""
            if raw is None:
                break
            if raw:
                frames.append(json.loads(raw))
            if not sent and PERSONA in json.dumps(frames):
                ws.write_message(
                    json.dumps(
                        {
                            "type": "client",
                            "action": "send",
                            "id": str(uuid.uuid4()),
                            "body": text,
                            "mentions": [PERSONA],
                            "metadata": {"to_persona": PERSONA},
                        }
                    )
                )
                sent = True
            replies = [
                f
                for f in frames
                if f.get("action") in ("message", "update")
                and (f.get("message") or {}).get("sender") == PERSONA
            ]
            if any("fake" in json.dumps(r) for r in replies):
                break
        ws.close()
        assert sent, "Jupyternaut never joined the chat"
        return frames

    return asyncio.run(run())


def run_cell(kernel: Kernel, code: str, timeout: float = 120) -> str:
    """Everything a cell shows (streams, results, displays) as text."""
    out: list[str] = []

    def hook(msg: dict) -> None:
        c = msg["content"]
        if msg["msg_type"] == "stream":
            out.append(c["text"])
        elif msg["msg_type"] in ("execute_result", "display_data"):
            out.append(str(c["data"].get("text/plain", "")))
            out.append(str(c["data"].get("text/markdown", "")))
        elif msg["msg_type"] == "error":
            out.append(f"ERROR {c['ename']}: {c['evalue']}")

    kernel.client.execute_interactive(code, output_hook=hook, timeout=timeout)
    return "".join(out)


def test_jupyternaut_and_magic_use_the_stored_key(server, fake, dotenv_key):
    key = random_api_key("sk-jnaut")
    root = server.root
    # the existing .env is neither loaded nor touched
    assert "no longer loaded" in server.log and "ANTHROPIC_API_KEY" in server.log
    listed = server.request("GET", "api/jupyternaut/secrets").json
    assert "ANTHROPIC_API_KEY" not in listed["editable_secrets"]

    # AI Settings saves a key and a base URL: one encrypted credential, no .env change
    r = server.request(
        "PUT",
        "api/jupyternaut/secrets",
        {"updated_secrets": {"OPENAI_API_KEY": key, "OPENAI_BASE_URL": fake.url}},
    )
    assert r.status == 204, r.text
    creds = server.api("GET", "credentials").json
    assert [(c["name"], c["provider"], c["base_url"]) for c in creds] == [
        ("jupyter-ai", "openai", fake.url)
    ]
    secret = server.api("POST", f"credentials/{creds[0]['id']}/secret", {}).json
    assert secret["api_key"] == key
    listed = server.request("GET", "api/jupyternaut/secrets").json
    assert {"OPENAI_API_KEY", "OPENAI_BASE_URL"} <= set(listed["editable_secrets"])
    unknown = server.request(
        "PUT", "api/jupyternaut/secrets", {"updated_secrets": {"MY_TOOL_TOKEN": key}}
    )
    assert unknown.status == 500 and "MY_TOOL_TOKEN" in unknown.text and key not in unknown.text

    # Jupyternaut's own model call reaches the fake provider with the stored key
    frames = chat(server, "@Jupyternaut hello")
    assert any(
        s["authorization"] == f"Bearer {key}" and s["stream"] == "True" for s in fake.seen
    ), (fake.seen, frames[-3:])

    # a kernel gets none of the keys the server process now holds
    server.api("PUT", "grants", {"credential_id": creds[0]["id"], "notebook_path": NOTEBOOK})
    kernel = Kernel(server, NOTEBOOK)
    try:
        env = json.loads(kernel.run("import os, json; print(json.dumps(dict(os.environ)))"))
        assert not [k for k, v in env.items() if key in v or dotenv_key in v]
        assert "OPENAI_API_KEY" not in env and "OPENAI_BASE_URL" not in env
        # %%ai after %load_ext open_notebook_ext and %secrets env
        fake.seen.clear()
        applied = run_cell(kernel, "%load_ext open_notebook_ext\n%secrets env jupyter-ai")
        assert "set OPENAI_API_KEY" in applied
        answer = run_cell(kernel, "%load_ext jupyter_ai_magic_commands")
        answer = run_cell(kernel, "%%ai openai/gpt-4o-mini -f text\nSay hello", timeout=180)
        assert "Hello from fake" in answer, answer
        assert fake.seen and fake.seen[-1]["authorization"] == f"Bearer {key}"
    finally:
        kernel.shutdown()

    # deleting the key in AI Settings deletes the credential
    r = server.request(
        "PUT", "api/jupyternaut/secrets", {"updated_secrets": {"OPENAI_API_KEY": None}}
    )
    assert r.status == 204
    assert server.api("GET", "credentials").json == []

    # the .env is imported on request only, and stays until the user says so
    assert (root / ".env").read_text() == f'ANTHROPIC_API_KEY="{dotenv_key}"\n'
    assert not (root / ".gitignore").exists()
    r = server.api("POST", "credentials/import-dotenv", {"providers": ["anthropic"]})
    assert r.status == 200 and r.json["migrated"] == ["anthropic"]
    assert (root / ".env").exists()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the bridge follows the credential events
        listed = server.request("GET", "api/jupyternaut/secrets").json
        if "ANTHROPIC_API_KEY" in listed["editable_secrets"]:
            break
        time.sleep(0.2)
    assert "ANTHROPIC_API_KEY" in listed["editable_secrets"]

    events = [
        json.loads(line) for line in (server.data_dir / "audit.jsonl").read_text().splitlines()
    ]
    assert [e["action"] for e in events if e.get("source") == "jupyter-ai"] == [
        "created",
        "deleted",
    ]
    log = server.log
    for value in (key, dotenv_key):
        assert value not in log
        assert value not in (server.data_dir / "audit.jsonl").read_text()
