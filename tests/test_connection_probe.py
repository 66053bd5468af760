"""POST credentials/{id}/test against a fake provider on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from dbtools import execute
from helpers import FakeProvider, random_api_key


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    yield fake
    fake.httpd.shutdown()


@pytest.fixture
def extension_config():
    return {"allow_private_targets": True, "connection_test_timeout": 5.0}


CASES = [
    # provider, extra fields, path the probe must hit, header, header value template
    ("openai", {}, "/v1/models", "Authorization", "Bearer {key}"),
    ("groq", {}, "/v1/models", "Authorization", "Bearer {key}"),
    ("anthropic", {}, "/v1/models", "x-api-key", "{key}"),
    ("google", {}, "/v1/models", "x-goog-api-key", "{key}"),
    ("elevenlabs", {}, "/v1/models", "xi-api-key", "{key}"),
    ("deepgram", {}, "/v1/projects", "Authorization", "Token {key}"),
]


@pytest.mark.parametrize(("name", "extra", "path", "header", "template"), CASES)
async def test_key_sent_in_the_providers_header(api, ext, provider, name, extra, path, header,
                                                template):
    key = random_api_key()
    provider.expect = (header, template.format(key=key))
    c = await api.create_credential(provider=name, api_key=key,
                                    base_url=provider.url + "/v1", **extra)
    r = await api.post(f"credentials/{c['id']}/test", {})
    assert r.status == 200, r
    assert r.json == {"provider": name, "success": True, "message": "Connection successful"}
    sent_path, sent_headers = provider.requests[-1]
    assert sent_path == path
    assert sent_headers[header.lower()] == template.format(key=key)
    # a wrong key: the provider says no, we say so, and the key is nowhere in the answer
    wrong = random_api_key("sk-wrong")
    await api.put(f"credentials/{c['id']}", {"api_key": wrong})
    r = await api.post(f"credentials/{c['id']}/test", {})
    assert r.json["success"] is False and "rejected the API key (HTTP 401)" in r.json["message"]
    assert wrong not in r.text and key not in r.text


async def test_azure_and_ollama(api, provider):
    key = random_api_key()
    provider.expect = ("api-key", key)
    c = await api.create_credential(provider="azure", api_key=key, endpoint=provider.url,
                                    api_version="2024-06-01")
    r = await api.post(f"credentials/{c['id']}/test", {})
    assert r.json["success"] is True, r
    assert provider.requests[-1][0] == "/openai/models?api-version=2024-06-01"
    provider.expect = None
    r = await api.post("credentials", {"name": "local", "provider": "ollama",
                                       "base_url": provider.url})
    r = await api.post(f"credentials/{r.json['id']}/test", {})
    assert r.json["success"] is True and provider.requests[-1][0] == "/api/tags"


async def test_failures_are_answers_not_errors(api, ext, provider, logs):
    key = random_api_key()
    c = await api.create_credential(api_key=key, base_url=provider.url + "/v1")
    provider.status_override = 404
    r = await api.post(f"credentials/{c['id']}/test", {})
    assert r.status == 200 and "check the base URL" in r.json["message"]
    provider.status_override = 302  # redirects are not followed with the key
    r = await api.post(f"credentials/{c['id']}/test", {})
    assert r.json["success"] is False and "redirect" in r.json["message"].lower()
    assert not [p for p, _ in provider.requests if "latest" in p]
    provider.httpd.shutdown()
    provider.httpd.server_close()
    r = await api.post(f"credentials/{c['id']}/test", {})
    assert r.json["success"] is False and r.json["message"].startswith("Could not connect")
    v = await api.post("credentials", {"name": "v", "provider": "vertex", "project": "p",
                                       "location": "europe-west1"})
    r = await api.post(f"credentials/{v.json['id']}/test", {})
    assert r.json == {"provider": "vertex", "success": False,
                      "message": "Connection test is not available for provider vertex"}
    assert key not in logs.text


async def test_missing_or_undecryptable_is_404_or_422_never_500(api, ext, provider):
    assert (await api.post("credentials/credential:nope/test", {})).status == 404
    c = await api.create_credential(base_url=provider.url + "/v1")
    execute(ext, "UPDATE on_credentials SET api_key_encrypted = 'gAAAAAbroken'")
    r = await api.post(f"credentials/{c['id']}/test", {})
    assert r.status == 422 and "cannot be decrypted" in r.json["detail"]
    assert provider.requests == []


async def test_tests_are_audited(api, ext, provider):
    c = await api.create_credential(base_url=provider.url + "/v1")
    await api.post(f"credentials/{c['id']}/test", {})
    events = [json.loads(line) for line in ext.audit.path.read_text().splitlines()]
    tested = [e for e in events if e.get("action") == "tested"]
    assert tested and tested[0]["credential_id"] == c["id"] and tested[0]["success"] is True


class TestPrivateTargetsRefusedByDefault:
    @pytest.fixture
    def extension_config(self):
        return {}

    async def test_loopback_base_url_is_refused(self, api, provider):
        c = await api.create_credential(base_url=provider.url + "/v1")
        r = await api.post(f"credentials/{c['id']}/test", {})
        assert r.status == 200
        assert r.json["success"] is False and r.json["message"].startswith("URL refused")
        assert provider.requests == []
        for addr in ("http://169.254.169.254/v1", "http://[::ffff:169.254.169.254]/v1",
                     "http://[64:ff9b::a9fe:a9fe]/v1"):
            await api.put(f"credentials/{c['id']}", {"base_url": addr})
            r = await api.post(f"credentials/{c['id']}/test", {})
            assert r.json["success"] is False and "refused" in r.json["message"], addr
