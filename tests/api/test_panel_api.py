"""Issue 20, item 6, at the API: what the panel reads from ``GET providers`` instead of the
OpenAPI description (``connection_test``), and the add form's prefill (Ollama's base URL).
A real in-process server (pytest-jupyter)."""

from __future__ import annotations

import json

from open_notebook_ext.vault.probe import Probe, probe_for


async def test_providers_say_which_can_be_tested(api):
    r = await api.get("providers")
    assert r.status == 200, r
    providers = {p["name"]: p for p in r.json}
    assert providers["openai"]["connection_test"] is True
    assert providers["ollama"]["connection_test"] is True
    assert providers["vertex"]["connection_test"] is False
    assert providers["voyage"]["connection_test"] is False
    # the flag is what the test route does: a probe exists exactly for those
    full = {
        "base_url": "https://llm.example.test/v1",
        "endpoint": "https://az.example.test",
        "api_version": "2024-02-01",
        "api_key": "sk-x",
    }
    for name, p in providers.items():
        probe = probe_for({"provider": name, **full})
        assert p["connection_test"] is isinstance(probe, Probe), (name, probe)


async def test_ollama_base_url_has_a_prefill_and_nothing_else_does(api):
    providers = (await api.get("providers")).json
    prefills = {
        (p["name"], f["name"]): f["prefill"]
        for p in providers
        for f in p["fields"]
        if "prefill" in f
    }
    assert prefills == {("ollama", "base_url"): "http://localhost:11434"}
    # small: the panel reads this on every load (the OpenAPI description is ~85 KB)
    assert len(json.dumps(providers)) < 12_000


async def test_an_untestable_provider_answers_not_available(api):
    """What the hidden button would have said: the route still answers, plainly."""
    created = await api.post(
        "credentials",
        {
            "name": "Vertex",
            "provider": "vertex",
            "project": "my-project",
            "location": "us-central1",
        },
    )
    assert created.status == 201, created
    r = await api.post(f"credentials/{created.json['id']}/test", {})
    assert r.status == 200, r
    assert r.json["success"] is False
    assert r.json["message"] == "Connection test is not available for provider vertex"


# -- item 5: the redaction notice's channel ---------------------------------------------------


async def test_notify_reaches_the_pages_from_another_thread():
    """A contents hook may run off the event loop: notify hands the message to the loop."""
    import asyncio
    import threading

    from open_notebook_ext.vault.prompts import GrantPrompts

    prompts = GrantPrompts(60)
    got: list[dict] = []
    other: list[dict] = []
    prompts.connect("alice", got.append)
    prompts.connect("bob", other.append)
    thread = threading.Thread(
        target=prompts.notify, args=("alice", {"type": "redacted", "path": "a.ipynb", "count": 1})
    )
    thread.start()
    thread.join()
    for _ in range(50):
        if len(got) > 1:
            break
        await asyncio.sleep(0.01)
    assert got[1:] == [{"type": "redacted", "path": "a.ipynb", "count": 1}]
    assert [m["type"] for m in other] == ["snapshot"]  # only the owner's pages
    prompts.notify("alice", {"type": "redacted", "path": "b.ipynb", "count": 2})  # on the loop
    assert got[-1]["path"] == "b.ipynb"


def test_redactor_reports_a_redaction_and_a_failing_report_does_not_block_the_save(caplog):
    from open_notebook_ext.vault.redact import Redactor

    key = "sk-report-0123456789"
    redactor = Redactor(lambda owner: [("Work", key)], lambda owner: 1, lambda: "alice")
    calls: list[tuple[str, str, int]] = []
    redactor.on_redacted = lambda *a: calls.append(a)
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "source": "",
                "metadata": {},
                "outputs": [{"output_type": "stream", "name": "stdout", "text": f"{key}\n{key}\n"}],
            }
        ],
        "metadata": {},
    }
    model = {"type": "notebook", "content": nb}
    redactor.pre_save_hook(model, "a.ipynb")
    assert calls == [("alice", "a.ipynb", 2)]
    assert key not in json.dumps(model)

    def broken(*_: object) -> None:
        raise RuntimeError("no loop")

    redactor.on_redacted = broken
    model["content"]["cells"][0]["outputs"][0]["text"] = key
    redactor.pre_save_hook(model, "b.ipynb")  # does not raise
    assert key not in json.dumps(model)
    assert "Could not tell the page" in caplog.text and key not in caplog.text
