"""Bugs schemathesis found (tests/test_fuzz_api.py), pinned one by one."""

from __future__ import annotations

import pytest

# SQLite only: HTTP semantics and request validation; the database plays no part.
pytestmark = pytest.mark.sqlite_only

ALLOWED = "https://lab.example.org"
EVIL = "https://evil.example.com"


@pytest.fixture
def extension_config():
    return {"allowed_origins": [ALLOWED]}


@pytest.mark.parametrize("origin", [None, ALLOWED, EVIL])
@pytest.mark.parametrize(("method", "path", "allow"), [
    ("PUT", "openapi.json", "GET, OPTIONS"),
    ("PATCH", "credentials", "GET, POST, OPTIONS"),
    ("DELETE", "credentials/status", "GET, OPTIONS"),
    ("POST", "audit", "GET, OPTIONS"),
    ("HEAD", "credentials", "GET, POST, OPTIONS"),
])
async def test_an_undefined_method_is_405_with_allow(api, method, path, allow, origin):
    """RFC 9110: a 405 names the methods in Allow. A write from a disallowed origin is
    refused (403) before the method is looked at, as every other write from there."""
    headers = {"Origin": origin} if origin else {}
    r = await api.request(method, path, None if method == "HEAD" else {"x": 1},
                          headers=headers)
    if origin == EVIL and method != "HEAD":
        assert r.status == 403 and r.json == {"detail": "Origin not allowed"}, r
        assert "Allow" not in r.headers
    else:
        assert r.status == 405, r
        assert r.headers["Allow"] == allow
        if method != "HEAD":
            assert r.json == {"detail": "Method Not Allowed"}
    if origin == ALLOWED:
        assert r.headers["Access-Control-Allow-Origin"] == ALLOWED
    else:
        assert "Access-Control-Allow-Origin" not in r.headers


@pytest.mark.parametrize("score", [False, True, "0.5"])
async def test_search_minimum_score_must_be_a_number(api, score):
    r = await api.post("search", {"query": "word", "minimum_score": score})
    assert r.status == 422, r
    assert r.json["errors"] == [{"field": "minimum_score", "message": "must be a number"}]


@pytest.mark.parametrize("score", [0, 1, 0.5])
async def test_search_minimum_score_numbers_are_accepted(api, score):
    r = await api.post("search", {"query": "word", "minimum_score": score})
    assert r.status == 200, r


async def test_audit_since_empty_is_422(api):
    r = await api.get("audit?since=")
    assert r.status == 422, r
    assert r.json["errors"][0]["field"] == "since"


async def test_notebook_description_null_is_empty(api):
    r = await api.post("notebooks", {"name": "n", "description": None})
    assert r.status == 200, r
    assert r.json["description"] == ""


async def test_sources_offset_over_the_documented_maximum_is_422(api):
    assert (await api.get("sources?offset=100000")).status == 200
    r = await api.get("sources?offset=100001")
    assert r.status == 422, r
