"""Issue 20, item 6, at the API: what the panel reads from ``GET providers`` instead of the
OpenAPI description (``connection_test``), and the add form's prefill (Ollama's base URL).
A real in-process server (pytest-jupyter)."""

from __future__ import annotations

import json

from open_notebook_ext.connection_probe import Probe, probe_for


async def test_providers_say_which_can_be_tested(api):
    r = await api.get("providers")
    assert r.status == 200, r
    providers = {p["name"]: p for p in r.json}
    assert providers["openai"]["connection_test"] is True
    assert providers["ollama"]["connection_test"] is True
    assert providers["vertex"]["connection_test"] is False
    assert providers["voyage"]["connection_test"] is False
    # the flag is what the test route does: a probe exists exactly for those
    full = {"base_url": "https://llm.example.test/v1", "endpoint": "https://az.example.test",
            "api_version": "2024-02-01", "api_key": "sk-x"}
    for name, p in providers.items():
        probe = probe_for({"provider": name, **full})
        assert p["connection_test"] is isinstance(probe, Probe), (name, probe)


async def test_ollama_base_url_has_a_prefill_and_nothing_else_does(api):
    providers = (await api.get("providers")).json
    prefills = {(p["name"], f["name"]): f["prefill"]
                for p in providers for f in p["fields"] if "prefill" in f}
    assert prefills == {("ollama", "base_url"): "http://localhost:11434"}
    # small: the panel reads this on every load (the OpenAPI description is ~85 KB)
    assert len(json.dumps(providers)) < 12_000


async def test_an_untestable_provider_answers_not_available(api):
    """What the hidden button would have said: the route still answers, plainly."""
    created = await api.post("credentials", {"name": "Vertex", "provider": "vertex",
                                             "project": "my-project",
                                             "location": "us-central1"})
    assert created.status == 201, created
    r = await api.post(f"credentials/{created.json['id']}/test", {})
    assert r.status == 200, r
    assert r.json["success"] is False
    assert r.json["message"] == "Connection test is not available for provider vertex"
