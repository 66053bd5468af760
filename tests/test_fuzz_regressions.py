"""Bugs schemathesis found (tests/test_fuzz_api.py), pinned one by one."""

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


@pytest.mark.subprocess
def test_errors_before_the_handler_keep_the_connection(server_factory):
    """The 400 used to come before the body was read, and an error from prepare() to a
    request without a body closed the connection: the client saw a reset, no answer."""
    import http.client
    import json

    server = server_factory(args=[f"--OpenNotebookApp.allowed_origins={ALLOWED}"]).start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Authorization": f"token {server.token}", "Content-Type": "application/json"}
    sockets = set()
    bad = {"detail": "credential_id: invalid UTF-8 in the URL"}
    evil = {**headers, "Origin": EVIL}
    cases = [  # errors from prepare(), with and without a body
        (
            "PUT",
            "credentials/%C0%AE%C0%AE%2F",
            json.dumps({"api_key": "k" * 3000}),
            headers,
            400,
            bad,
        ),
        ("GET", "credentials/%C0%AE", None, headers, 400, bad),
        ("DELETE", "credentials/x", None, evil, 403, {"detail": "Origin not allowed"}),
        ("POST", "credentials/x/test", "", evil, 403, {"detail": "Origin not allowed"}),
        # a preflight, answered from prepare() too (the leak hunt saw its next request reset)
        (
            "OPTIONS",
            "credentials",
            None,
            {"Origin": ALLOWED, "Access-Control-Request-Method": "PUT"},
            204,
            None,
        ),
        (
            "OPTIONS",
            "credentials",
            None,
            {"Origin": EVIL, "Access-Control-Request-Method": "PUT"},
            403,
            {"detail": "Origin not allowed"},
        ),
    ]
    for _ in range(3):
        for method, path, body, h, status, detail in cases:
            conn.request(method, "/open-notebook/api/" + path, body=body, headers=h)
            sockets.add(id(conn.sock))
            r = conn.getresponse()
            data = r.read()
            assert (r.status, json.loads(data) if data else None) == (status, detail), (
                method,
                path,
            )
    conn.request("GET", "/open-notebook/api/credentials", headers=headers)
    assert conn.getresponse().status == 200
    assert len(sockets) == 1


@pytest.mark.subprocess
@pytest.mark.parametrize("command", ["status", "verify", "rotate"])
def test_cli_does_not_create_a_database_at_a_wrong_path(tmp_path, command):
    """These used to create (and migrate) a new SQLite file at a mistyped --db-url and
    report on it: "0 of 0 credential(s) decrypt", exit 0."""
    import subprocess

    from helpers import BIN, clean_env

    target = tmp_path / "typo" / "open_notebook.db"
    env = {**clean_env(tmp_path / "home"), "OPEN_NOTEBOOK_ENCRYPTION_KEY": "a passphrase"}
    p = subprocess.run(
        [str(BIN / "jupyter-open-notebook"), command, f"--db-url=sqlite:///{target}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert f"there is no database at {target}" in p.stderr
    assert not target.parent.exists()


@pytest.mark.subprocess
def test_a_malformed_header_is_not_logged(server_factory):
    """Tornado logged "Malformed HTTP message ... Invalid header value 'token <token>\\x00<key>'"
    whole: the server's token and whatever else the header held."""
    import socket

    from helpers import random_api_key

    server = server_factory().start()
    key = random_api_key()
    for bad in (f"Authorization: token {server.token}\x00{key}", f"X-Api-Key: {key}\rInjected: 1"):
        request = (
            f"GET /open-notebook/api/credentials HTTP/1.1\r\nHost: x\r\n{bad}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(request)
            assert s.recv(4096).startswith(b"HTTP/1.1 400")
    server.stop()
    assert "Malformed HTTP message from 127.0.0.1" in server.log
    assert "(details withheld)" in server.log
    assert key not in server.log and key[-32:] not in server.log
    assert server.token not in server.log


# -- hostile JSON shapes on every JSON route (issue 15, finding 11) ---------------------

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
    from open_notebook_ext.handlers.meta import openapi_spec

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
    from open_notebook_ext.handlers.meta import openapi_spec

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
