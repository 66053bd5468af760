"""Credential CRUD over HTTP against a real server and a real SQLite file."""

from __future__ import annotations

import re

import pytest

from support.db import count, execute
from support.leaks import random_api_key

PROVIDER_NAMES_SAMPLE = ("openai", "anthropic", "ollama", "azure", "vertex")


def db_rows(ext) -> int:
    return count(ext, "on_credentials")


async def test_crud_round_trip(api):
    key = random_api_key()
    r = await api.post(
        "credentials",
        {
            "name": " Work key ",
            "provider": "OpenAI",
            "api_key": key,
            "base_url": "https://proxy.example.org/v1",
        },
    )
    assert r.status == 201, r
    created = r.json
    assert created["id"].startswith("credential:")
    assert created["name"] == "Work key"  # surrounding whitespace dropped
    assert created["provider"] == "openai"
    assert created["has_api_key"] is True
    assert created["api_key_hint"] == "\u2022\u2022\u2022\u2022" + key[-4:]
    assert created["decryption_error"] is None
    assert created["base_url"] == "https://proxy.example.org/v1"
    assert created["modalities"] == ["language", "embedding", "speech_to_text", "text_to_speech"]
    assert created["created"] == created["updated"]
    assert created["model_count"] == 0
    assert "api_key" not in created

    r = await api.get(f"credentials/{created['id']}")
    assert r.status == 200
    assert r.json == created

    r = await api.get("credentials")
    assert r.status == 200
    assert r.json == [created]

    r = await api.delete(f"credentials/{created['id']}")
    assert r.status == 200
    assert r.json == {"message": "Credential deleted successfully", "deleted_models": 0}
    r = await api.get(f"credentials/{created['id']}")
    assert r.status == 404
    assert r.json == {"detail": "Credential not found"}
    assert (await api.get("credentials")).json == []


async def test_list_filters_and_paging(api):
    for name in ("a", "b", "c"):
        await api.create_credential(name=name)
    await api.create_credential(name="claude", provider="anthropic")

    names = [c["name"] for c in (await api.get("credentials")).json]
    assert names == ["claude", "a", "b", "c"]  # by provider, then creation order
    r = await api.get("credentials?provider=openai")
    assert [c["name"] for c in r.json] == ["a", "b", "c"]
    r = await api.get("credentials/by-provider/anthropic")
    assert [c["name"] for c in r.json] == ["claude"]
    assert (await api.get("credentials/by-provider/groq")).json == []
    r = await api.get("credentials?limit=2&offset=1")
    assert [c["name"] for c in r.json] == ["a", "b"]
    for bad in ("limit=-1", "limit=abc", "offset=x", "limit=1000000"):
        r = await api.get(f"credentials?{bad}")
        assert r.status == 422, bad
        assert bad.split("=")[0] in r.json["detail"]


async def test_pages_of_the_list(api, ext):
    """limit/offset: pages concatenate to the whole list (ties in creation time broken
    by id), nothing lost or repeated; past the end and limit=0 are empty lists; bounds
    are a 422 naming the parameter, never echoing the value; no key in any page; a
    write shows in the next page read (the kept lists are per version)."""
    keys = [random_api_key() for _ in range(7)]
    for i, key in enumerate(keys):
        await api.create_credential(name=f"k{i}", provider=("openai", "groq")[i % 2], api_key=key)
    execute(ext, "UPDATE on_credentials SET created = '2026-01-01 00:00:00.000000'")
    whole = (await api.get("credentials")).json
    assert len({c["id"] for c in whole}) == 7
    for size in (1, 3, 7, 50):
        pages = [
            (await api.get(f"credentials?limit={size}&offset={o}")).json for o in range(0, 7, size)
        ]
        assert [c for page in pages for c in page] == whole, size
    assert (await api.get("credentials?offset=7")).json == []
    assert (await api.get("credentials?limit=0")).json == []
    assert (await api.get("credentials?provider=groq&limit=2&offset=1")).json == [
        c for c in whole if c["provider"] == "groq"
    ][1:3]
    for bad in ("limit=100001", "offset=100001", "offset=-5", "limit=1.5"):
        r = await api.get(f"credentials?{bad}")
        assert r.status == 422, bad
        assert set(r.json) == {"detail", "errors"}
        assert bad.split("=")[0] in r.json["detail"]
        assert bad.split("=")[1] not in r.json["detail"].replace("100000", "")
    r = await api.put(f"credentials/{whole[3]['id']}", {"name": "renamed"})
    assert r.status == 200
    assert (await api.get("credentials?limit=1&offset=3")).json[0]["name"] == "renamed"
    assert (await api.get("credentials")).json[3]["name"] == "renamed"
    for query in ("", "?limit=3", "?limit=3&offset=3", "?provider=openai"):
        text = (await api.get(f"credentials{query}")).text
        assert not any(k in text or k[-8:] in text for k in keys), query


async def test_put_field_semantics(api, ext):
    key = random_api_key()
    c = await api.create_credential(name="one", api_key=key, base_url="https://a.example/v1")

    # A field left out is unchanged; name changes.
    r = await api.put(f"credentials/{c['id']}", {"name": "renamed"})
    assert r.status == 200, r
    assert r.json["name"] == "renamed"
    assert r.json["base_url"] == "https://a.example/v1"
    assert r.json["api_key_hint"] == c["api_key_hint"]
    assert r.json["updated"] >= c["updated"]

    # null clears an optional field; base_url decides where the key goes, so clearing it
    # needs the key too (see test_connection_probe.py)
    r = await api.put(f"credentials/{c['id']}", {"base_url": None})
    assert r.status == 422 and r.json["errors"][0]["field"] == "api_key"
    r = await api.put(f"credentials/{c['id']}", {"base_url": None, "api_key": key})
    assert r.status == 200 and r.json["base_url"] is None and r.json["name"] == "renamed"

    # api_key given replaces the key (hint follows; the new key decrypts)
    new_key = random_api_key("sk-new")
    r = await api.put(f"credentials/{c['id']}", {"api_key": new_key})
    assert r.status == 200
    assert r.json["api_key_hint"] == "\u2022\u2022\u2022\u2022" + new_key[-4:]
    from sqlalchemy import select

    from open_notebook_ext.db.orm import Credential

    with ext.db.session() as s:
        token = s.scalar(select(Credential.api_key_encrypted).where(Credential.id == c["id"]))
    assert ext.keyring.decrypt(token) == new_key

    # api_key null means unchanged, not removed
    r = await api.put(f"credentials/{c['id']}", {"api_key": None})
    assert r.status == 200 and r.json["has_api_key"] is True

    # short keys get no hint
    r = await api.put(f"credentials/{c['id']}", {"api_key": "short-key"})
    assert r.json["api_key_hint"] is None and r.json["has_api_key"] is True


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        ({"name": "x", "provider": "nope", "api_key": "k" * 20}, 422, "provider", "openai"),
        ({"name": "  ", "provider": "openai", "api_key": "k" * 20}, 422, "name", "blank"),
        ({"name": "x", "provider": "openai", "api_key": "   "}, 422, "api_key", "blank"),
        ({"name": "x", "provider": "openai"}, 422, "api_key", "required"),
        ({"provider": "openai", "api_key": "k" * 20}, 422, "name", "required"),
        ({"name": "x", "api_key": "k" * 20}, 422, "provider", "required"),
        ({"name": 5, "provider": "openai", "api_key": "k" * 20}, 422, "name", "string"),
        ({"name": "x\x00y", "provider": "openai", "api_key": "k" * 20}, 422, "name", "control"),
        ({"name": "x" * 201, "provider": "openai", "api_key": "k" * 20}, 422, "name", "200"),
        (
            {"name": "x", "provider": "openai", "api_key": "k" * 20, "base_url": "ftp://h/"},
            422,
            "base_url",
            "http",
        ),
        (
            {"name": "x", "provider": "openai", "api_key": "k" * 20, "modalities": ["telepathy"]},
            422,
            "modalities",
            "language",
        ),
        ({"name": "x", "provider": "vertex", "project": "p"}, 422, "location", "required"),
        (
            {
                "name": "x",
                "provider": "vertex",
                "project": "p",
                "location": "l",
                "api_key": "k" * 20,
            },
            422,
            "api_key",
            "not used",
        ),
        ({"name": "x", "provider": "azure", "api_key": "k" * 20}, 422, "endpoint", "required"),
        (
            {"name": "x", "provider": "openai", "api_key": "k" * 20, "num_ctx": "big"},
            422,
            "num_ctx",
            "integer",
        ),
        ([1, 2], 422, "", "JSON object"),
    ],
)
async def test_create_validation_writes_nothing(api, ext, body, status, field, message):
    r = await api.post("credentials", body)
    assert r.status == status, r
    assert r.headers["Content-Type"].startswith("application/json")
    assert message in r.json["detail"]
    if field:
        assert field in [e["field"] for e in r.json["errors"]]
    assert db_rows(ext) == 0


async def test_unknown_provider_names_valid_ones(api):
    r = await api.post("credentials", {"name": "x", "provider": "skynet", "api_key": "k" * 20})
    assert r.status == 422
    for name in PROVIDER_NAMES_SAMPLE:
        assert name in r.json["detail"]
    assert "skynet" not in r.json["detail"]  # the sent value is not echoed back


@pytest.mark.parametrize("raw", ["{not json", "", "   ", b"\xff\xfe"])
async def test_malformed_json_is_400(api, ext, raw):
    r = await api.post("credentials", raw=raw)
    assert r.status == 400, r
    assert r.json["detail"] in (
        "Invalid JSON in request body",
        "Request body is empty; expected JSON",
    )
    assert db_rows(ext) == 0


async def test_duplicate_name_within_provider_is_409(api, ext):
    await api.create_credential(name="dup")
    r = await api.post(
        "credentials", {"name": "dup", "provider": "openai", "api_key": random_api_key()}
    )
    assert r.status == 409, r
    assert "already exists" in r.json["detail"]
    assert r.json["errors"] == [{"field": "name", "message": r.json["detail"]}]
    assert db_rows(ext) == 1
    # the same name under another provider is fine
    await api.create_credential(name="dup", provider="anthropic")
    # renaming onto an existing name conflicts too, and changes nothing
    other = await api.create_credential(name="other")
    r = await api.put(f"credentials/{other['id']}", {"name": "dup"})
    assert r.status == 409
    assert (await api.get(f"credentials/{other['id']}")).json["name"] == "other"


async def test_put_errors_change_nothing(api):
    c = await api.create_credential(name="keep", base_url="https://keep.example/v1")
    for body, status in (
        ({"name": ""}, 422),
        ({"name": None}, 422),
        ({"base_url": "javascript:alert(1)"}, 422),
        ({"name": "new", "api_key": ""}, 422),  # one bad field: nothing applied
        ({"project": "p"}, 422),  # not an openai field
    ):
        r = await api.put(f"credentials/{c['id']}", body)
        assert r.status == status, (body, r)
    r = await api.put(f"credentials/{c['id']}", raw="{oops")
    assert r.status == 400
    after = (await api.get(f"credentials/{c['id']}")).json
    assert after == c


async def test_unknown_id_is_404_everywhere(api):
    for method in ("GET", "PUT", "DELETE"):
        body = {"name": "x"} if method == "PUT" else None
        r = await api.request(method, "credentials/credential:doesnotexist", body)
        assert r.status == 404, (method, r)
        assert r.json == {"detail": "Credential not found"}


async def test_unknown_path_under_api_is_json_404(api):
    for path in ("nope", "credentials/a/b/c", ""):
        r = await api.get(path)
        assert r.status == 404, (path, r)
        assert r.json == {"detail": "Not Found"}


async def test_method_not_allowed_is_json(api):
    r = await api.delete("credentials")
    assert r.status == 405
    assert r.headers["Content-Type"].startswith("application/json")
    assert "detail" in r.json


async def test_providers_lists_fields(api):
    r = await api.get("providers")
    assert r.status == 200
    by_name = {p["name"]: p for p in r.json}
    assert list(by_name)[:3] == ["openai", "anthropic", "google"]
    assert by_name["openai"]["requires_api_key"] is True
    assert {f["name"] for f in by_name["azure"]["fields"]} >= {"api_key", "endpoint", "api_version"}
    vertex = {f["name"]: f for f in by_name["vertex"]["fields"]}
    assert "api_key" not in vertex and vertex["project"]["required"] is True
    assert by_name["ollama"]["requires_api_key"] is False
    key_field = next(f for f in by_name["openai"]["fields"] if f["name"] == "api_key")
    assert key_field["secret"] is True


async def test_ollama_needs_no_key_and_no_encryption(api):
    r = await api.post(
        "credentials", {"name": "local", "provider": "ollama", "base_url": "http://localhost:11434"}
    )
    assert r.status == 201, r
    assert r.json["has_api_key"] is False and r.json["api_key_hint"] is None


async def test_responses_carry_server_timing(api):
    """Server-Timing (W3C) gives the server's own time, on answers and errors alike."""
    created = (
        await api.post(
            "credentials", {"name": "t", "provider": "openai", "api_key": random_api_key()}
        )
    ).json
    for path, status in (
        (f"credentials/{created['id']}", 200),
        ("credentials/nope", 404),
        ("credentials", 200),
    ):
        r = await api.get(path)
        assert r.status == status
        match = re.fullmatch(r"app;dur=(\d+\.\d\d)", r.headers["Server-Timing"])
        assert match and 0 <= float(match.group(1)) < 60_000, r.headers["Server-Timing"]
