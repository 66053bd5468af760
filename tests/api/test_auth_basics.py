"""Every endpoint but openapi.json needs Jupyter's auth; failures are JSON 401s."""

from __future__ import annotations

import pytest

from open_notebook_ext.http.routes import ROUTES

# One concrete request per route and method (the catch-all included).
REQUESTS = [
    ("GET", "providers"),
    ("GET", "credentials/status"),
    ("GET", "credentials"),
    ("POST", "credentials"),
    ("GET", "credentials/by-provider/openai"),
    ("GET", "credentials/credential:abc"),
    ("PUT", "credentials/credential:abc"),
    ("DELETE", "credentials/credential:abc"),
    ("GET", "notebooks"),
    ("POST", "notebooks"),
    ("GET", "notebooks/notebook:abc"),
    ("PUT", "notebooks/notebook:abc"),
    ("DELETE", "notebooks/notebook:abc"),
    ("GET", "notebooks/notebook:abc/delete-preview"),
    ("POST", "notebooks/notebook:abc/sources/source:abc"),
    ("DELETE", "notebooks/notebook:abc/sources/source:abc"),
    ("GET", "notes"),
    ("POST", "notes"),
    ("GET", "notes/note:abc"),
    ("PUT", "notes/note:abc"),
    ("DELETE", "notes/note:abc"),
    ("GET", "sources"),
    ("POST", "sources"),
    ("POST", "sources/json"),
    ("GET", "sources/source:abc"),
    ("PUT", "sources/source:abc"),
    ("DELETE", "sources/source:abc"),
    ("POST", "search"),
    ("GET", "audit"),
    ("POST", "credentials/credential:abc/secret"),
    ("POST", "credentials/credential:abc/test"),
    ("GET", "secrets"),
    ("POST", "secrets/get"),
    ("GET", "grants"),
    ("PUT", "grants"),
    ("DELETE", "grants/grant:abc"),
    ("GET", "credentials/env-status"),
    ("POST", "credentials/migrate-from-env"),
    ("GET", "credentials/env-import"),
    ("POST", "credentials/import-dotenv"),
    ("GET", "grant-prompts"),
    ("GET", "grant-prompts/socket"),
    ("POST", "grant-prompts/prompt:abc"),
    ("GET", "proxy/credential:abc/models"),
    ("POST", "proxy/credential:abc/chat/completions"),
    ("DELETE", "proxy/credential:abc/responses/resp_1"),
    ("GET", "usage"),
    ("GET", "budgets"),
    ("PUT", "budgets"),
    ("DELETE", "budgets/budget:abc"),
    ("GET", "admin/credentials"),
    ("POST", "admin/credentials"),
    ("GET", "admin/credentials/credential:abc"),
    ("PUT", "admin/credentials/credential:abc"),
    ("DELETE", "admin/credentials/credential:abc"),
    ("GET", "admin/budgets"),
    ("PUT", "admin/budgets"),
    ("DELETE", "admin/budgets/budget:abc"),
    ("GET", "admin/usage"),
    ("GET", "redaction/keys"),
    ("GET", "no/such/route"),
    ("POST", "no/such/route"),
]


def test_requests_cover_every_route():
    import re

    from tornado.web import RequestHandler

    from open_notebook_ext.http.routes import API

    for pattern, handler in ROUTES:
        if handler.__name__ == "OpenAPIHandler":
            continue
        methods = [
            m
            for m in ("GET", "POST", "PUT", "PATCH", "DELETE")
            if getattr(handler, m.lower()) is not getattr(RequestHandler, m.lower())
        ]
        if handler.__name__ == "NotFoundHandler":
            methods = ["GET", "POST"]  # the catch-all answers every method alike
        for method in methods:
            assert any(
                m == method and re.fullmatch(pattern, f"{API}/{path}") for m, path in REQUESTS
            ), (method, pattern)


@pytest.fixture(params=[True, False], ids=["strict-server", "default-server"])
def jp_server_config(request):
    """Both with ServerApp.allow_unauthenticated_access off (strict) and at its default."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"open_notebook_ext": True},
            "allow_unauthenticated_access": not request.param,
        }
    }


@pytest.mark.sqlite_only  # refused before any database call
@pytest.mark.parametrize(("method", "path"), REQUESTS)
async def test_unauthenticated_is_json_401(api, method, path):
    body = {"name": "x"} if method in ("POST", "PUT") else None
    r = await api.request(method, path, body, auth=None)
    assert r.status == 401, r
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert r.headers["Content-Type"].startswith("application/json")
    assert _ours(path, r.json) == {"detail": "Authentication required"}
    assert "Location" not in r.headers


def _ours(path: str, body: dict) -> dict:
    """The proxy's errors are also in the providers' shape (for the SDKs): its detail is
    the same, the rest is ``error`` (test_proxy.py)."""
    if path.startswith("proxy/"):
        assert body["error"]["message"] == body["detail"], body
        return {"detail": body["detail"]}
    return body


@pytest.mark.sqlite_only  # refused before any database call
@pytest.mark.parametrize(("method", "path"), REQUESTS)
async def test_wrong_token_is_401(api, method, path):
    body = {"name": "x"} if method in ("POST", "PUT") else None
    r = await api.request(
        method, path, body, headers={"Authorization": "Bearer wrong-token"}, auth=None
    )
    assert r.status == 401, r
    assert _ours(path, r.json) == {"detail": "Invalid authentication credentials"}
    assert "wrong-token" not in r.text


@pytest.mark.parametrize("scheme", ["token", "Bearer", "bearer"])
async def test_token_and_bearer_both_work(api, scheme):
    r = await api.post(
        "credentials",
        {"name": f"via-{scheme}", "provider": "openai", "api_key": "sk-" + "x" * 20},
        auth=scheme,
    )
    assert r.status == 201, r
    r = await api.get("credentials", auth=scheme)
    assert r.status == 200 and len(r.json) == 1


async def test_token_in_query_string_works(api):
    r = await api.get(f"credentials?token={api.token}", auth=None)
    assert r.status == 200


async def test_openapi_is_public(api):
    r = await api.get("openapi.json", auth=None)
    assert r.status == 200
    assert r.json["openapi"].startswith("3.1")
