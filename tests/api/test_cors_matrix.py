"""The CORS matrix: every origin kind x every status x methods, on a real server.

Each cell is its own test, so any single wrong cell fails on its own. For each
response we check every ``Access-Control-*`` header, ``Vary``, the security
headers and the JSON error body; for writes refused because of the origin we
also check the database did not change.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import pytest

from support.content import multipart
from support.db import rows
from support.leaks import random_api_key

# SQLite only: origin and status code cells; the database plays no part in CORS.
pytestmark = pytest.mark.sqlite_only

ALLOWED = "https://lab.example.org"
SECOND = "http://localhost:8765"
ORIGINS: dict[str, str | None] = {
    "allowed": ALLOWED,
    "second-allowed": SECOND,
    "disallowed": "https://evil.example.com",
    "none": None,
    "same-origin": "SAME",  # filled in with the server's own origin
    "null": "null",
    "allowed-trailing-slash": ALLOWED + "/",
    "different-port": "https://lab.example.org:8443",
    "http-not-https": "http://lab.example.org",
}
REFLECTED = {"allowed", "second-allowed"}
REFUSED = {"disallowed", "null", "allowed-trailing-slash", "different-port", "http-not-https"}
WRITES = {"POST", "PUT", "DELETE", "PATCH"}
BODY_LIMIT = 2048
UPLOAD_LIMIT = 8192  # max_upload_mb below, in bytes
FAILURE_LIMIT = 3
_addresses = count(1)


@dataclass
class Call:
    method: str
    path: str
    body: Any = None
    raw: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    auth: str | None = "token"


Setup = Callable[[Any, Any, Any], Awaitable[Call]]


async def quiet_create(api, name: str) -> str:
    r = await api.post(
        "credentials",
        {"name": name, "provider": "openai", "api_key": random_api_key()},
        headers={"X-Forwarded-For": "10.255.0.1"},
    )
    assert r.status == 201, r
    return r.json["id"]


def fault(*methods: str) -> Callable[[Any, Any], None]:
    def apply(ext: Any, monkeypatch: Any) -> None:
        def boom(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("injected fault sk-must-not-leak")

        for m in methods:
            monkeypatch.setattr(ext.credentials, m, boom)

    return apply


async def c200_get(api, ext, mp):
    return Call("GET", "credentials")


async def c200_put(api, ext, mp):
    return Call("PUT", f"credentials/{await quiet_create(api, 'p')}", {"name": "renamed"})


async def c200_delete(api, ext, mp):
    return Call("DELETE", f"credentials/{await quiet_create(api, 'd')}")


async def c201_post(api, ext, mp):
    return Call(
        "POST", "credentials", {"name": "new", "provider": "openai", "api_key": random_api_key()}
    )


async def c204_preflight(api, ext, mp):
    return Call(
        "OPTIONS",
        "credentials",
        auth=None,
        headers={
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


async def c400_post(api, ext, mp):
    return Call("POST", "credentials", raw="{not json")


async def c400_put(api, ext, mp):
    return Call("PUT", f"credentials/{await quiet_create(api, 'b')}", raw="{not json")


def c401(method: str, path: str) -> Setup:
    async def setup(api, ext, mp):
        body = {"name": "x"} if method in ("POST", "PUT") else None
        return Call(method, path, body, auth=None)

    return setup


def c403(method: str, path: str) -> Setup:
    async def setup(api, ext, mp):
        body = {"name": "x"} if method in ("POST", "PUT") else None
        return Call(method, path, body, headers={"X-Test-Deny": "1"})

    return setup


def c404(method: str, path: str) -> Setup:
    async def setup(api, ext, mp):
        return Call(method, path, {"name": "x"} if method == "PUT" else None)

    return setup


async def c405_patch(api, ext, mp):
    return Call("PATCH", "credentials", {"name": "x"})


async def c405_delete(api, ext, mp):
    return Call("DELETE", "credentials")


async def c409_post(api, ext, mp):
    await quiet_create(api, "dup")
    return Call(
        "POST", "credentials", {"name": "dup", "provider": "openai", "api_key": random_api_key()}
    )


async def c409_put(api, ext, mp):
    await quiet_create(api, "taken")
    return Call("PUT", f"credentials/{await quiet_create(api, 'mine')}", {"name": "taken"})


async def c413_post(api, ext, mp):
    return Call("POST", "credentials", {"name": "x" * (BODY_LIMIT + 10), "provider": "openai"})


async def c413_put(api, ext, mp):
    return Call(
        "PUT", f"credentials/{await quiet_create(api, 'big')}", {"name": "x" * (BODY_LIMIT + 10)}
    )


async def c422_post(api, ext, mp):
    return Call(
        "POST", "credentials", {"name": " ", "provider": "openai", "api_key": random_api_key()}
    )


async def c422_put(api, ext, mp):
    return Call("PUT", f"credentials/{await quiet_create(api, 'v')}", {"name": ""})


async def c422_get(api, ext, mp):
    return Call("GET", "credentials?limit=-1")


def c429(method: str) -> Setup:
    # One more wrong token from a blocked address (a valid one would pass: only guesses
    # are refused while an address is blocked).
    async def setup(api, ext, mp):
        return Call(
            method,
            "credentials",
            {"name": "x"} if method == "POST" else None,
            headers={"Authorization": "token still-wrong"},
            auth=None,
        )

    return setup


def c500(method: str, path_kind: str, store_method: str) -> Setup:
    async def setup(api, ext, mp):
        path = "credentials"
        if path_kind == "item":
            path = f"credentials/{await quiet_create(api, 'f')}"
        fault(store_method)(ext, mp)
        body = {"name": "x", "provider": "openai", "api_key": random_api_key()}
        return Call(method, path, body if method in ("POST", "PUT") else None)

    return setup


async def c200_get_notebooks(api, ext, mp):
    return Call("GET", "notebooks")


async def c204_preflight_sources(api, ext, mp):
    return Call(
        "OPTIONS",
        "sources",
        auth=None,
        headers={
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


async def c422_post_notebook(api, ext, mp):
    return Call("POST", "notebooks", {"name": " "})


async def c413_post_upload(api, ext, mp):
    body, ctype = multipart({"type": "upload"}, ("big.bin", None, b"u" * (UPLOAD_LIMIT + 10)))
    return Call("POST", "sources", raw=body, headers={"Content-Type": ctype})


CELLS: dict[str, tuple[int, Setup]] = {
    "200-GET": (200, c200_get),
    "200-PUT": (200, c200_put),
    "200-DELETE": (200, c200_delete),
    "201-POST": (201, c201_post),
    "204-OPTIONS-preflight": (204, c204_preflight),
    "400-POST": (400, c400_post),
    "400-PUT": (400, c400_put),
    "401-GET": (401, c401("GET", "credentials")),
    "401-POST": (401, c401("POST", "credentials")),
    "401-PUT": (401, c401("PUT", "credentials/credential:x")),
    "401-DELETE": (401, c401("DELETE", "credentials/credential:x")),
    "403-GET": (403, c403("GET", "credentials")),
    "403-POST": (403, c403("POST", "credentials")),
    "403-PUT": (403, c403("PUT", "credentials/credential:x")),
    "403-DELETE": (403, c403("DELETE", "credentials/credential:x")),
    "404-GET": (404, c404("GET", "credentials/credential:nope")),
    "404-PUT": (404, c404("PUT", "credentials/credential:nope")),
    "404-DELETE": (404, c404("DELETE", "credentials/credential:nope")),
    "404-GET-unknown-path": (404, c404("GET", "no/such/thing")),
    "404-POST-unknown-path": (404, c404("POST", "no/such/thing")),
    "405-PATCH": (405, c405_patch),
    "405-DELETE": (405, c405_delete),
    "409-POST": (409, c409_post),
    "409-PUT": (409, c409_put),
    "413-POST": (413, c413_post),
    "413-PUT": (413, c413_put),
    "422-POST": (422, c422_post),
    "422-PUT": (422, c422_put),
    "422-GET": (422, c422_get),
    "429-GET": (429, c429("GET")),
    "429-POST": (429, c429("POST")),
    "500-GET": (500, c500("GET", "list", "list_json")),
    "500-POST": (500, c500("POST", "list", "create")),
    "500-PUT": (500, c500("PUT", "item", "update")),
    "500-DELETE": (500, c500("DELETE", "item", "delete")),
    # notebook routes (a few cells: the CORS code path is the same base handler)
    "200-GET-notebooks": (200, c200_get_notebooks),
    "204-OPTIONS-preflight-sources": (204, c204_preflight_sources),
    "404-GET-notebook": (404, c404("GET", "notebooks/notebook:nope")),
    "404-DELETE-notebook": (404, c404("DELETE", "notebooks/notebook:nope")),
    "422-POST-notebook": (422, c422_post_notebook),
    "413-POST-upload": (413, c413_post_upload),
}


def expected_status(kind: str, status: int, method: str) -> int:
    if method == "OPTIONS":
        return 403 if kind in REFUSED else 204
    if kind in REFUSED and method in WRITES:
        return 403  # "Origin not allowed", before auth and before anything is written
    return status


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {
            "jpserver_extensions": {"open_notebook_ext": True},
            "allow_unauthenticated_access": False,
            "trust_xheaders": True,
            "authorizer_class": "support.identities.HeaderDenyAuthorizer",
        },
        "OpenNotebookApp": {
            "allowed_origins": [ALLOWED, SECOND + "/"],  # config entries are normalised
            "max_body_bytes": BODY_LIMIT,
            "max_upload_mb": UPLOAD_LIMIT / (1024 * 1024),
            "auth_failure_limit": FAILURE_LIMIT,
            "trusted_proxies": ["127.0.0.1"],  # the test client plays the proxy
        },
    }


def snapshot(ext: Any) -> list[tuple]:
    return sorted(rows(ext, "SELECT * FROM on_credentials"))


def vary_origin_count(headers: Any) -> int:
    values = headers.get_list("Vary")
    return sum(1 for v in values for token in v.split(",") if token.strip().lower() == "origin")


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("kind", list(ORIGINS))
async def test_cell(logs, api, ext, jp_http_port, monkeypatch, kind, cell):
    status, setup = CELLS[cell]
    origin = ORIGINS[kind]
    if origin == "SAME":
        origin = f"http://127.0.0.1:{jp_http_port}"
    address = f"10.{next(_addresses) % 250}.{len(cell)}.{len(kind)}"
    call = await setup(api, ext, monkeypatch)
    if status == 429:
        for _ in range(FAILURE_LIMIT):
            r = await api.get(
                "credentials",
                headers={"Authorization": "token wrong", "X-Forwarded-For": address},
                auth=None,
            )
            assert r.status == 401
    headers = {"X-Forwarded-For": address, **call.headers}
    if origin is not None:
        headers["Origin"] = origin
    before = snapshot(ext)
    r = await api.request(
        call.method, call.path, call.body, raw=call.raw, headers=headers, auth=call.auth
    )

    want = expected_status(kind, status, call.method)
    assert r.status == want, r
    cors = {k.lower(): v for k, v in r.headers.get_all() if k.lower().startswith("access-control")}
    if kind in REFLECTED:
        assert r.headers.get_list("Access-Control-Allow-Origin") == [origin]
        assert r.headers.get_list("Access-Control-Allow-Credentials") == ["true"]
        if call.method == "OPTIONS":
            assert (
                call.method in r.headers["Access-Control-Allow-Methods"]
                or "POST" in r.headers["Access-Control-Allow-Methods"]
            )
            allow_headers = {
                h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")
            }
            assert {
                "authorization",
                "content-type",
                "x-xsrftoken",
                "x-requested-with",
            } <= allow_headers
            assert r.headers["Access-Control-Max-Age"] == "600"
        else:
            assert "Retry-After" in r.headers["Access-Control-Expose-Headers"]
    else:
        assert cors == {}, cors
    assert vary_origin_count(r.headers) == (0 if origin is None else 1)

    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    if want == 204:
        assert r.text == ""
        assert "OPTIONS" in r.headers["Allow"]
    else:
        assert r.headers["Content-Type"].startswith("application/json")
        body = json.loads(r.text)
    if want >= 400:
        assert isinstance(body["detail"], str) and body["detail"]
        assert "Traceback" not in r.text and "sk-must-not-leak" not in r.text
    if want == 401:
        assert r.headers["WWW-Authenticate"] == "Bearer"
    if want == 403 and kind in REFUSED and call.method in WRITES | {"OPTIONS"}:
        assert body["detail"] == "Origin not allowed"
    if want == 429:
        assert int(r.headers["Retry-After"]) >= 1
        assert body["detail"] == "Too many failed authentication attempts"
    if want == 500:
        assert body == {"detail": "Internal server error"}
        assert "RuntimeError: injected fault" in logs.text  # the traceback is in the log
    if want == 413:
        assert "too large" in body["detail"]
    if kind in REFUSED and call.method in WRITES:
        assert snapshot(ext) == before  # nothing written
