"""The served OpenAPI description matches the routes, both ways."""

from __future__ import annotations

import re

from open_notebook_ext.http.meta import openapi_spec
from open_notebook_ext.http.routes import API, ROUTES

HTTP_METHODS = ("get", "post", "put", "delete", "patch")
# Routes that never touch the database (no 503 "Database unavailable").
NO_DATABASE = {
    "/providers",
    "/audit",
    "/credentials/env-status",
    "/grant-prompts",
    "/grant-prompts/socket",
}


def route_to_path(pattern: str) -> str:
    path = pattern.removeprefix(API)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", path)
    return path.replace("\\.", ".")


def routed() -> dict[str, set[str]]:
    out = {}
    for pattern, handler in ROUTES:
        if handler.__name__ == "NotFoundHandler":
            continue
        out[route_to_path(pattern)] = {m for m in HTTP_METHODS if m in handler.__dict__}
    return out


def test_every_route_is_described_and_every_path_is_routed():
    spec_paths = {
        p: {m for m in ops if m in HTTP_METHODS} for p, ops in openapi_spec()["paths"].items()
    }
    assert spec_paths == routed()


def test_every_operation_lists_auth_errors():
    for path, ops in openapi_spec()["paths"].items():
        for method, op in ops.items():
            if method not in HTTP_METHODS or op.get("security") == []:
                continue
            assert {"401", "403", "429", "500"} <= set(op["responses"]), (path, method)
            if path not in NO_DATABASE:
                assert "503" in op["responses"], (path, method)
            if "requestBody" in op:
                assert "413" in op["responses"], (path, method)


async def test_served_spec_is_the_file(api):
    r = await api.get("openapi.json", auth=None)
    assert r.status == 200
    assert r.json == openapi_spec()


def test_provider_enum_is_the_provider_list():
    from open_notebook_ext.vault.providers import PROVIDERS

    create = openapi_spec()["components"]["schemas"]["CredentialCreate"]["allOf"][1]
    assert create["properties"]["provider"]["enum"] == list(PROVIDERS)
