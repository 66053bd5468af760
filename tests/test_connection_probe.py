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
async def test_key_sent_in_the_providers_header(
    api, ext, provider, name, extra, path, header, template
):
    key = random_api_key()
    provider.expect = (header, template.format(key=key))
    c = await api.create_credential(
        provider=name, api_key=key, base_url=provider.url + "/v1", **extra
    )
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
    c = await api.create_credential(
        provider="azure", api_key=key, endpoint=provider.url, api_version="2024-06-01"
    )
    r = await api.post(f"credentials/{c['id']}/test", {})
    assert r.json["success"] is True, r
    assert provider.requests[-1][0] == "/openai/models?api-version=2024-06-01"
    provider.expect = None
    r = await api.post(
        "credentials", {"name": "local", "provider": "ollama", "base_url": provider.url}
    )
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
    v = await api.post(
        "credentials",
        {"name": "v", "provider": "vertex", "project": "p", "location": "europe-west1"},
    )
    r = await api.post(f"credentials/{v.json['id']}/test", {})
    assert r.json == {
        "provider": "vertex",
        "success": False,
        "message": "Connection test is not available for provider vertex",
    }
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
        key = random_api_key()
        c = await api.create_credential(base_url=provider.url + "/v1", api_key=key)
        r = await api.post(f"credentials/{c['id']}/test", {})
        assert r.status == 200
        assert r.json["success"] is False and r.json["message"].startswith("URL refused")
        assert provider.requests == []
        for addr in (
            "http://169.254.169.254/v1",
            "http://[::ffff:169.254.169.254]/v1",
            "http://[64:ff9b::a9fe:a9fe]/v1",
        ):
            r = await api.put(f"credentials/{c['id']}", {"base_url": addr, "api_key": key})
            assert r.status == 200, r
            r = await api.post(f"credentials/{c['id']}/test", {})
            assert r.json["success"] is False and "refused" in r.json["message"], addr


# -- a stored key never follows a moved URL (issue 15, finding 4) ----------------------


async def browser_session(api, jp_base_url) -> dict[str, str]:
    """Headers of a logged-in browser: the login cookie and the _xsrf token, no token."""
    r = await api.get("credentials")
    cookie = "; ".join(h.split(";")[0] for h in r.headers.get_list("Set-Cookie"))
    login = await api.http.fetch(f"{jp_base_url}login", raise_error=False)
    xsrf = next(h for h in login.headers.get_list("Set-Cookie") if h.startswith("_xsrf")).split(
        ";"
    )[0]
    return {"Cookie": f"{cookie}; {xsrf}", "X-XSRFToken": xsrf.split("=", 1)[1]}


@pytest.fixture
def attacker() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    yield fake
    fake.httpd.shutdown()


def sent_keys(fake: FakeProvider) -> list[str]:
    return [v for _, headers in fake.requests for v in headers.values()]


async def test_moving_the_url_needs_the_key_and_never_sends_the_stored_one(
    api, ext, jp_base_url, provider, attacker
):
    """The attack: a browser session (cookie + _xsrf only) points the credential at its own
    host, then asks for a connection test. The PUT must be refused without the key."""
    key = random_api_key()
    c = await api.create_credential(api_key=key, base_url=provider.url + "/v1")
    browser = await browser_session(api, jp_base_url)
    for change in (
        {"base_url": attacker.url + "/v1"},
        {"base_url": attacker.url + "/v1", "name": "renamed"},
        {"base_url": None},  # clearing: the key would go to the default host
        {"base_url": ""},
        {"base_url": "  "},
    ):
        r = await api.put(f"credentials/{c['id']}", change, auth=None, headers=browser)
        assert r.status == 422, (change, r)
        assert r.json["errors"] == [{"field": "api_key", "message": r.json["errors"][0]["message"]}]
        assert "base_url" in r.json["errors"][0]["message"]
        assert attacker.url not in r.text
        r = await api.post(f"credentials/{c['id']}/test", {}, auth=None, headers=browser)
        assert r.status == 200 and r.json["success"] is True, r
    assert (await api.get(f"credentials/{c['id']}")).json == c  # nothing was written
    assert attacker.requests == []
    assert f"Bearer {key}" in sent_keys(provider)

    # the same value again is no change; other fields change freely
    r = await api.put(
        f"credentials/{c['id']}",
        {"base_url": provider.url + "/v1", "name": "same place"},
        auth=None,
        headers=browser,
    )
    assert r.status == 200 and r.json["name"] == "same place", r

    # with the key in the same request the move is the user's own: the new key goes there
    new_key = random_api_key("sk-typed")
    attacker.expect = ("Authorization", f"Bearer {new_key}")
    r = await api.put(
        f"credentials/{c['id']}",
        {"base_url": attacker.url + "/v1", "api_key": new_key},
        auth=None,
        headers=browser,
    )
    assert r.status == 200 and r.json["base_url"] == attacker.url + "/v1", r
    r = await api.post(f"credentials/{c['id']}/test", {})
    assert r.json["success"] is True, r
    assert f"Bearer {new_key}" in sent_keys(attacker)
    assert not [v for v in sent_keys(attacker) if key in v]


# Every field that decides where a key goes, on a provider that uses it.
DESTINATIONS = [
    ("openai", {}, "base_url"),
    ("openai_compatible", {}, "base_url"),
    ("anthropic_compatible", {}, "base_url"),
    ("omlx", {}, "base_url"),
    *[
        ("azure", {"api_version": "2024-06-01"}, f)
        for f in ("endpoint", "endpoint_llm", "endpoint_embedding", "endpoint_stt", "endpoint_tts")
    ],
]


def test_the_cases_cover_every_destination_field():
    from open_notebook_ext.providers import KEY_DESTINATION_FIELDS

    assert {f for _, _, f in DESTINATIONS} == set(KEY_DESTINATION_FIELDS)


@pytest.mark.parametrize(
    ("name", "extra", "field"), DESTINATIONS, ids=[f"{n}-{f}" for n, _, f in DESTINATIONS]
)
async def test_every_destination_field_needs_the_key(
    api, ext, provider, attacker, name, extra, field
):
    from open_notebook_ext.providers import KEY_DESTINATION_FIELDS, PROVIDERS

    assert field in KEY_DESTINATION_FIELDS
    key = random_api_key()
    fields = (
        {"endpoint": provider.url, **extra}
        if name == "azure"
        else {"base_url": provider.url + "/v1"}
    )
    fields[field] = provider.url + "/v1" if field == "base_url" else provider.url
    c = await api.create_credential(provider=name, api_key=key, **fields)
    for value in (attacker.url, None):
        r = await api.put(f"credentials/{c['id']}", {field: value})
        if value is None and field in PROVIDERS[name].required:
            assert r.status == 422 and r.json["errors"][0]["field"] == field  # required
            continue
        assert r.status == 422, (field, value, r)
        assert r.json["errors"] == [{"field": "api_key", "message": r.json["errors"][0]["message"]}]
        assert field in r.json["detail"]
    assert (await api.get(f"credentials/{c['id']}")).json == c
    r = await api.put(f"credentials/{c['id']}", {field: attacker.url, "api_key": key})
    assert r.status == 200 and r.json[field] == attacker.url, r
    assert attacker.requests == []


async def test_a_credential_without_a_stored_key_moves_freely(api, provider, attacker):
    r = await api.post(
        "credentials", {"name": "local", "provider": "ollama", "base_url": provider.url}
    )
    assert r.status == 201
    r = await api.put(f"credentials/{r.json['id']}", {"base_url": attacker.url})
    assert r.status == 200 and r.json["base_url"] == attacker.url, r


@pytest.mark.parametrize("location", ["evil.example.com/#", "x.evil.example", "a b", "us/1"])
async def test_vertex_location_cannot_name_another_host(api, location):
    r = await api.post(
        "credentials", {"name": "v", "provider": "vertex", "project": "p-1", "location": location}
    )
    assert r.status == 422 and r.json["errors"][0]["field"] == "location", r
    assert location not in r.text
    r = await api.post(
        "credentials",
        {"name": "v", "provider": "vertex", "project": "p/../../x", "location": "us-central1"},
    )
    assert r.status == 422 and r.json["errors"][0]["field"] == "project", r
