"""Open Notebook's env-status and migrate-from-env, the panel's import of chosen
providers, and the .env import: variable names are shown, values never are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from open_notebook_ext.vault.provider_env import PROVIDER_ENV
from support.leaks import bytes_contain, files_under, random_api_key

OPENAI = random_api_key("sk-envopenai")
ANTHROPIC = random_api_key("sk-ant-env")
GEMINI = random_api_key("AIza-env")
VALUES = (OPENAI, ANTHROPIC, GEMINI)


@pytest.fixture
def extension_config(monkeypatch, request):
    for name in {v for spec in PROVIDER_ENV.values() for v in spec.variables}:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC)
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI)
    monkeypatch.setenv("GROQ_API_KEY", "   ")  # blank: not configured
    marker = request.node.get_closest_marker("env")
    for name, value in (marker.args[0] if marker else {}).items():
        monkeypatch.setenv(name, value)
    return {"generate_key": False} if request.node.get_closest_marker("no_key") else {}


def assert_no_values(api, logs, ext, values=VALUES, audit=True):
    for value in values:
        for reply in api.replies:
            assert value not in reply.text and value not in str(reply.headers)
        assert value not in logs.text
        if ext.db.path is not None:
            for f in files_under(ext.db.path.parent):
                if f.name != "encryption.key":
                    assert not bytes_contain(f, value), f
        if audit:
            assert value not in Path(ext.audit_log).read_text()


async def test_env_status_is_open_notebooks_flat_map(api, logs, ext):
    r = await api.get("credentials/env-status")
    assert r.status == 200
    status = r.json
    assert list(status) == list(PROVIDER_ENV)  # every provider, Open Notebook's order
    assert {p for p, on in status.items() if on} == {"openai", "anthropic", "google"}
    assert status["groq"] is False
    assert_no_values(api, logs, ext, audit=False)


async def test_env_import_lists_names_and_imports_only_the_chosen(api, logs, ext):
    await api.create_credential(name="Mine", provider="anthropic")
    listed = (await api.get("credentials/env-import")).json
    env = {p["provider"]: p for p in listed["environment"]}
    assert env["openai"]["variables"] == ["OPENAI_API_KEY"]
    assert env["google"]["variables"] == ["GEMINI_API_KEY"]
    assert env["anthropic"]["credentials"] == 1 and env["openai"]["credentials"] == 0
    assert "groq" not in env  # blank
    assert listed["dotenv"] == {"path": ".env", "exists": False, "providers": []}

    r = await api.post("credentials/migrate-from-env", {"providers": ["openai"]})
    assert r.status == 200, r
    assert r.json["migrated"] == ["openai"] and r.json["skipped"] == []
    creds = (await api.get("credentials")).json
    assert sorted(c["provider"] for c in creds) == ["anthropic", "openai"]

    # Open Notebook's call: no body, every configured provider, existing ones skipped
    r = await api.post("credentials/migrate-from-env")
    assert r.status == 200, r
    body = r.json
    assert body["message"] == "Migration complete. Migrated 1 providers."
    assert body["migrated"] == ["google"]
    assert body["skipped"] == ["openai", "anthropic"]
    assert "groq" in body["not_configured"] and body["errors"] == []
    creds = {c["provider"]: c for c in (await api.get("credentials")).json}
    assert creds["google"]["name"] == "Default (Migrated from env)"
    # the stored keys are the environment's (read back with the server's token)
    for provider, value in (("openai", OPENAI), ("google", GEMINI)):
        secret = await api.post(f"credentials/{creds[provider]['id']}/secret", {})
        assert secret.json["api_key"] == value
    api.replies = [x for x in api.replies if "api_key" not in x.text]  # those two, on purpose
    events = [json.loads(line) for line in Path(ext.audit_log).read_text().splitlines()]
    imported = [e for e in events if e.get("source") == "environment"]
    assert sorted(e["provider"] for e in imported) == ["google", "openai"]
    assert_no_values(api, logs, ext)


@pytest.mark.env({"OPENAI_BASE_URL": f"not-a-url-{OPENAI}"})
async def test_a_bad_variable_fails_the_whole_import_without_echoing_it(api, logs, ext):
    r = await api.post("credentials/migrate-from-env")
    assert r.status == 422, r
    assert {e["field"] for e in r.json["errors"]} == {"openai.base_url"}
    assert (await api.get("credentials")).json == []  # anthropic and google not written
    r = await api.post("credentials/migrate-from-env", {"providers": ["nope", "openai"]})
    assert r.status == 422 and "nope" in r.json["detail"]
    r = await api.post("credentials/migrate-from-env", {"providers": "openai"})
    assert r.status == 422
    # the good ones alone import
    r = await api.post("credentials/migrate-from-env", {"providers": ["anthropic"]})
    assert r.status == 200 and r.json["migrated"] == ["anthropic"]
    assert_no_values(api, logs, ext)


@pytest.mark.no_key
@pytest.mark.sqlite_only
async def test_without_an_encryption_key_nothing_is_imported(api, logs, ext):
    r = await api.post("credentials/migrate-from-env")
    assert r.status == 400
    assert "encryption key" in r.json["detail"].lower()
    assert (await api.get("credentials")).json == []
    assert_no_values(api, logs, ext)


async def test_dotenv_is_imported_on_request_and_removed_only_when_asked(
    api, logs, ext, jp_root_dir
):
    dotenv_key = random_api_key("sk-ant-dotenv")
    other = random_api_key("sk-unrelated")
    path = Path(jp_root_dir) / ".env"
    path.write_text(
        f'# jupyter-ai\nANTHROPIC_API_KEY="{dotenv_key}"\n'
        f"export MISTRAL_API_KEY='{other}'\nUNRELATED=1\n"
    )
    listed = (await api.get("credentials/env-import")).json["dotenv"]
    assert listed["exists"] is True
    assert {p["provider"]: p["variables"] for p in listed["providers"]} == {
        "anthropic": ["ANTHROPIC_API_KEY"],
        "mistral": ["MISTRAL_API_KEY"],
    }

    r = await api.post("credentials/import-dotenv", {"providers": ["anthropic"]})
    assert r.status == 200, r
    assert r.json["migrated"] == ["anthropic"] and r.json["dotenv_removed"] is False
    assert dotenv_key in path.read_text()  # not asked: left alone
    cred = (await api.get("credentials")).json[0]
    assert cred["name"] == "Default (Imported from .env)"
    assert (await api.post(f"credentials/{cred['id']}/secret", {})).json["api_key"] == dotenv_key
    api.replies.pop()

    r = await api.post(
        "credentials/import-dotenv", {"providers": ["mistral"], "remove_imported": True}
    )
    assert r.status == 200 and r.json["dotenv_variables_removed"] == ["MISTRAL_API_KEY"]
    text = path.read_text()
    assert other not in text and dotenv_key in text and "UNRELATED=1" in text
    r = await api.post("credentials/import-dotenv", {"remove_imported": "yes"})
    assert r.status == 422
    assert_no_values(api, logs, ext, values=(dotenv_key, other))
