"""Bugs schemathesis found (integration/test_fuzz_api.py), pinned one by one."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

# SQLite only: HTTP semantics and request validation; the database plays no part.
pytestmark = pytest.mark.sqlite_only


ALLOWED = "https://lab.example.org"


EVIL = "https://evil.example.com"


@pytest.fixture
def extension_config():
    return {"allowed_origins": [ALLOWED]}


@pytest.mark.parametrize("origin", [None, ALLOWED, EVIL])
@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "openapi.json", "GET, OPTIONS"),
        ("PATCH", "credentials", "GET, POST, OPTIONS"),
        ("DELETE", "credentials/status", "GET, OPTIONS"),
        ("POST", "audit", "GET, OPTIONS"),
        ("HEAD", "credentials", "GET, POST, OPTIONS"),
    ],
)
async def test_an_undefined_method_is_405_with_allow(api, method, path, allow, origin):
    """RFC 9110: a 405 names the methods in Allow. A write from a disallowed origin is
    refused (403) before the method is looked at, as every other write from there."""
    headers = {"Origin": origin} if origin else {}
    r = await api.request(method, path, None if method == "HEAD" else {"x": 1}, headers=headers)
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


@pytest.mark.parametrize("query", [False, True])
async def test_invalid_utf8_in_the_url_is_400_without_echo(api, query):
    path = "credentials?provider=%C0%AE" if query else "credentials/%C0%AEsk-secret%FF"
    r = await api.get(path, headers={"Origin": ALLOWED})
    assert r.status == 400, r
    assert r.json["detail"].endswith("invalid UTF-8" + ("" if query else " in the URL"))
    assert "\\x" not in r.text and "sk-secret" not in r.text
    assert r.headers["Access-Control-Allow-Origin"] == ALLOWED


DEEP = b"[" * 100_000 + b"]" * 100_000  # json.loads recursed into a RecursionError: 500


SURROGATE = "a\ud800b"  # not Unicode text: the database driver failed to encode it: 500


def _properties(spec: dict, schema: dict) -> set[str]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    names = set(schema.get("properties", {}))
    for part in schema.get("allOf", []) + schema.get("oneOf", []) + schema.get("anyOf", []):
        names |= _properties(spec, part)
    return names


def json_operations() -> list[tuple[str, str, list[str]]]:
    """(method, path, property names) of every operation that takes a JSON body."""
    from open_notebook_ext.http.meta import openapi_spec

    spec = openapi_spec()
    out = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody", {}) if isinstance(op, dict) else {}
            content = body.get("content", {})
            if "application/json" in content and not body.get("x-forwarded-as-is"):
                # (the proxy's body goes to the provider unread: test_proxy.py)
                props = _properties(spec, content["application/json"]["schema"])
                out.append((method.upper(), path, sorted(props)))
    return out


JSON_OPERATIONS = json_operations()


async def make_ids(api):
    c = await api.create_credential(name="Work")
    nb = (await api.post("notebooks", {"name": "n"})).json
    note = (await api.post("notes", {"content": "c"})).json
    source = (await api.post("sources", {"type": "text", "content": "t"})).json
    return {
        "credential_id": c["id"],
        "notebook_id": nb["id"],
        "note_id": note["id"],
        "source_id": source["id"],
        "prompt_id": "prompt:none",
    }


def test_every_json_route_is_covered():
    assert len(JSON_OPERATIONS) >= 16
    assert all(props for _, _, props in JSON_OPERATIONS), JSON_OPERATIONS
    forwarded = {
        path
        for path, item in openapi_paths().items()
        for op in item.values()
        if isinstance(op, dict) and op.get("requestBody", {}).get("x-forwarded-as-is")
    }
    assert forwarded == {"/proxy/{credential_id}/{path}"}  # only the proxy's body is not ours


def openapi_paths() -> dict:
    from open_notebook_ext.http.meta import openapi_spec

    return openapi_spec()["paths"]


async def test_deeply_nested_json_is_400_on_every_json_route(api, logs):
    ids = await make_ids(api)
    for method, path, _ in JSON_OPERATIONS:
        r = await api.request(method, path.lstrip("/").format(**ids), raw=DEEP)
        assert r.status == 400, (method, path, r)
        assert r.json == {
            "detail": "Invalid JSON in request body: nested more than 64 levels deep"
        }, (method, path)
    assert "RecursionError" not in logs.text and "Traceback" not in logs.text


@pytest.mark.parametrize("depth", [64, 65])
async def test_the_depth_limit(api, depth):
    body = b'{"name": "n", "x": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"
    r = await api.post("notebooks", raw=body)
    assert (r.status == 400) is (depth > 64), r


async def test_lone_surrogates_are_400_in_every_string_field(api, logs):
    ids = await make_ids(api)
    sent = 0
    for method, path, props in JSON_OPERATIONS:
        url = path.lstrip("/").format(**ids)
        for prop in props:
            for body in ({prop: SURROGATE}, {prop: [SURROGATE]}, {prop: {SURROGATE: 1}}):
                raw = json.dumps(body)  # "\\ud800" escaped, as any JSON encoder writes it
                r = await api.request(method, url, raw=raw)
                sent += 1
                assert r.status == 400, (method, path, body, r)
                assert "lone surrogate" in r.json["detail"], (method, path, r)
        # the raw UTF-8 bytes of a surrogate too (json.loads of bytes lets them through)
        r = await api.request(method, url, raw=b'{"' + props[0].encode() + b'": "\xed\xa0\x80"}')
        assert r.status == 400 and "lone surrogate" in r.json["detail"], (method, path, r)
    assert sent > 60
    assert "Traceback" not in logs.text and "UnicodeEncodeError" not in logs.text


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
async def test_nan_is_not_json(api, constant):
    r = await api.post("search", raw='{"query": "x", "minimum_score": ' + constant + "}")
    assert r.status == 400 and r.json == {
        "detail": "Invalid JSON in request body: NaN and Infinity are not JSON"
    }, r


@pytest.mark.parametrize("value", [DEEP.decode(), json.dumps([SURROGATE])])
async def test_json_in_form_fields(api, value):
    """POST sources takes forms too; their notebooks/transformations fields are JSON."""
    import uuid

    boundary = uuid.uuid4().hex
    multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\ntext\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="content"\r\n\r\nt\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="notebooks"\r\n\r\n'
        f"{value}\r\n--{boundary}--\r\n"
    ).encode()
    forms = [
        (multipart, f"multipart/form-data; boundary={boundary}"),
        (
            urlencode({"type": "text", "content": "t", "notebooks": value}).encode(),
            "application/x-www-form-urlencoded",
        ),
    ]
    for body, content_type in forms:
        r = await api.post("sources", raw=body, headers={"Content-Type": content_type})
        assert r.status == 422, (content_type, r)
        assert r.json["errors"][0]["field"] == "notebooks"
        assert "Invalid JSON in notebooks field: " in r.json["detail"]
    assert (await api.get("sources")).json == []  # nothing half-written


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "POST",
            "credentials",
            {"name": SURROGATE, "provider": "openai", "api_key": "sk-" + "k" * 20},
        ),
        (
            "POST",
            "credentials",
            {"name": "n", "provider": "openai", "api_key": "sk-k" + SURROGATE * 9},
        ),
        ("POST", "notebooks", {"name": SURROGATE}),
        ("POST", "notes", {"content": SURROGATE}),
        ("POST", "sources/json", {"type": "text", "content": SURROGATE}),
        ("POST", "search", {"query": SURROGATE}),
        ("PUT", "grants", {"credential_id": "credential:x", "notebook_path": SURROGATE}),
        ("POST", "secrets/get", {"name": SURROGATE}),
    ],
)
async def test_a_lone_surrogate_in_an_otherwise_valid_body(api, logs, method, path, body):
    """Valid but for one string: the writes reached the database and failed there, 500
    with a UnicodeEncodeError traceback in the log; now every route refuses the body."""
    r = await api.request(method, path, raw=json.dumps(body))
    assert r.status == 400, r
    assert "lone surrogate" in r.json["detail"]
    assert "Traceback" not in logs.text
