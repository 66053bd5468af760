"""schemathesis against the served OpenAPI description, on a real server.

Every operation of ``openapi.json`` is fuzzed (schemathesis's examples, coverage and
fuzzing phases; positive and negative data), authenticated with the server's token,
once with an allowed browser ``Origin`` and once with a disallowed one. Every
response must:

* not be a 5xx, and match the description (status code documented, body and
  headers matching the response schema) -- schemathesis's own checks;
* if it is an error, be JSON ``{"detail": <string>, ...}``;
* carry the right CORS headers: for an allowed origin the origin reflected in
  ``Access-Control-Allow-Origin`` with ``Access-Control-Allow-Credentials: true`` and
  ``Vary: Origin`` (except on the secret routes, which are never readable
  cross-origin); for a disallowed origin no ``Access-Control-*`` header at all.

Besides schemathesis's own data, one JSON body in three of the fuzzing phase takes a
hostile shape (``hostile_json_shapes``): nested 100,000 levels deep, or with a lone
surrogate (``"\ud800"``) in a string or a key -- shapes that Python's JSON module and
Hypothesis's text strategies never produce and that once crashed routes with a 500;
each must be answered 400 (or refused as a browser's on the secret routes).

The run is bounded: a fixed seed, derandomized generation and ``MAX_EXAMPLES`` per
operation in the fuzzing phase. Path parameters naming a resource are swapped, in
every other case, for the id of a resource that exists (a fresh one for a
delete), so the fuzzer reaches the handlers behind the 404s without deleting what
later cases use.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from open_notebook_ext.http.meta import openapi_spec
from open_notebook_ext.vault.prompt_handlers import CROSS_ORIGIN
from open_notebook_ext.vault.secret_handlers import FROM_A_BROWSER
from support.fakes import FakeProvider
from support.leaks import random_api_key
from support.servers import API, ServerProcess

pytestmark = pytest.mark.sqlite_only

ALLOWED = "https://allowed.example.org"
DISALLOWED = "https://evil.example.com"
ORIGINS = {"allowed": ALLOWED, "disallowed": DISALLOWED}
SEED = 20240611
MAX_EXAMPLES = 12
# Routes that never answer CORS (a browser page can never read a key).
NO_CORS = {
    "readSecret",
    "readSecretByName",
    "listSecrets",
    "proxyGet",
    "proxyPost",
    "proxyDelete",
    "getRedactionKeys",  # a user's keys, for their server's redaction: never cross-origin
}
# Answered from this server's own pages only: any other origin, an allowed one too, is
# refused (403) before the body is read (vault/prompt_handlers.py).
SAME_ORIGIN_ONLY = {"answerGrantPrompt"}
STATS: dict[str, Counter[str]] = {kind: Counter() for kind in ORIGINS}


@dataclass
class Target:
    """The running server, the resources the cases may point at, and the origin."""

    server: ServerProcess
    origin_kind: str
    pool: dict[str, str] = field(default_factory=dict)
    fresh: dict[str, Callable[[], str]] = field(default_factory=dict)
    swaps: Counter[str] = field(default_factory=Counter)

    @property
    def origin(self) -> str:
        return ORIGINS[self.origin_kind]


def _call(server: ServerProcess, method: str, path: str, body: Any = None) -> Any:
    r = server.api(method, path, body)
    assert r.status in (200, 201), (method, path, r.status, r.text)
    return r.json


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    provider = FakeProvider()
    home = tmp_path_factory.mktemp("fuzz")
    server = ServerProcess(
        home,
        args=[
            f"--OpenNotebookApp.allowed_origins={ALLOWED}",
            # schemathesis's auth checks send wrong tokens on purpose; no 429 lock-out here
            "--OpenNotebookApp.auth_failure_limit=0",
            "--OpenNotebookApp.allow_private_targets=True",
            "--OpenNotebookApp.fetch_links=False",
            "--OpenNotebookApp.connection_test_timeout=2",
        ],
    )
    server.start()
    served = requests.get(server.url + API + "/openapi.json", timeout=10)
    assert served.json() == openapi_spec()  # what the tests below fuzz is what is served
    server.provider = provider  # type: ignore[attr-defined]
    yield server
    server.stop()
    provider.httpd.shutdown()


def _make_pool(server: ServerProcess) -> tuple[dict[str, str], dict[str, Callable[[], str]]]:
    provider_url = server.provider.url  # type: ignore[attr-defined]

    def credential() -> str:
        return _call(
            server,
            "POST",
            "credentials",
            {
                "name": f"fuzz-{time.monotonic_ns()}",
                "provider": "openai",
                "api_key": random_api_key(),
                "base_url": provider_url + "/v1",
            },
        )["id"]

    def notebook() -> str:
        return _call(server, "POST", "notebooks", {"name": "fuzz notebook"})["id"]

    def note() -> str:
        return _call(server, "POST", "notes", {"content": "fuzz note"})["id"]

    def source() -> str:
        return _call(server, "POST", "sources", {"type": "text", "content": "fuzz text"})["id"]

    (server.root / "work").mkdir(exist_ok=True)
    (server.root / "work" / "fuzz.ipynb").write_text('{"cells": []}')  # grants need the file

    def grant() -> str:
        return _call(
            server,
            "PUT",
            "grants",
            {"credential_id": credential(), "notebook_path": "work/fuzz.ipynb"},
        )["id"]

    fresh = {
        "credential_id": credential,
        "notebook_id": notebook,
        "note_id": note,
        "source_id": source,
        "grant_id": grant,
    }
    pool = {name: make() for name, make in fresh.items()}
    _call(server, "POST", f"notebooks/{pool['notebook_id']}/sources/{pool['source_id']}")
    return pool, fresh


@pytest.fixture(scope="module")
def fuzz_pool(fuzz_server: ServerProcess) -> tuple[dict[str, str], dict[str, Callable[[], str]]]:
    return _make_pool(fuzz_server)


@pytest.fixture(scope="module")
def fuzz_target(
    origin_kind: str,
    fuzz_server: ServerProcess,
    fuzz_pool: tuple[dict[str, str], dict[str, Callable[[], str]]],
) -> Target:
    pool, fresh = fuzz_pool
    target = TARGETS.get(origin_kind)
    if target is None:
        target = TARGETS[origin_kind] = Target(fuzz_server, origin_kind, pool, fresh)
    return target


# The description as served: handlers/meta.py serves this very file (checked against the
# live server below). Loaded at import so that every operation is its own test item;
# the server's address is given per call.
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "request-timeout": 20,
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
            "mode": "all",
            "no-shrink": True,
        },
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            # Schema-valid is not always acceptable: names are trimmed and must not be blank or
            # hold control characters, a provider takes only its own fields, a link needs a url,
            # order_by is free text checked by the server. Those answers are the documented
            # 400/422 ({"detail", "errors"}); every other check keeps its default.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422"]
            },
            # replaced by check_undeclared_method (our origin rule comes first)
            "unsupported_method": {"enabled": False},
        },
    }
)
schema = schemathesis.openapi.from_dict(openapi_spec(), config=CONFIG)
TARGETS: dict[str, Target] = {}

DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
LONE_SURROGATE = "\ud800"


def _with_lone_surrogate(body: Any) -> Any:
    """The body with a lone surrogate in its first string value (else in a new key)."""
    if isinstance(body, dict):
        for name, value in body.items():
            if isinstance(value, str):
                return {**body, name: value + LONE_SURROGATE}
        return {**body, "x" + LONE_SURROGATE: 1}
    if isinstance(body, list):
        return [*body, LONE_SURROGATE]
    return LONE_SURROGATE


def is_hostile(case: Any) -> bool:
    return isinstance(case.body, bytes) and (case.body == DEEP_JSON or b"\\ud800" in case.body)


@schema.hooks.hook("flatmap_case")
def hostile_json_shapes(ctx: Any, case: Any) -> Any:
    """One JSON body in three: nested 100,000 deep, or with a lone surrogate."""
    if case.media_type != "application/json" or not isinstance(case.body, dict | list | str):
        return st.just(case)

    def shape(choice: int) -> Any:
        if choice == 1:
            case.body = DEEP_JSON  # bytes go out as they are
        elif choice == 2:
            # Encoded here ("\\ud800" in ASCII JSON): schemathesis's own checks cannot take
            # a str that is not Unicode text.
            case.body = json.dumps(_with_lone_surrogate(case.body)).encode()
        return case

    return st.integers(0, 5).map(shape)


# Message framing is Tornado's, answered before any of our code runs (400, empty body).
FRAMING_HEADERS = {"content-length", "transfer-encoding", "host", "connection", "expect"}


def _drop_framing_headers(case: Any) -> None:
    for name in [n for n in (case.headers or {}) if n.lower() in FRAMING_HEADERS]:
        del case.headers[name]


def _swap_ids(case: Any, target: Target) -> None:
    """Every other case of an operation gets real ids (a fresh one to delete)."""
    params = case.path_parameters or {}
    names = [n for n in params if n in target.pool]
    if not names:
        return
    label = case.operation.label
    target.swaps[label] += 1
    if target.swaps[label] % 2:
        return
    for name in names:
        deleting = case.method.upper() == "DELETE" and name == names[-1]
        params[name] = target.fresh[name]() if deleting else target.pool[name]


def check_cors_and_error_body(response: Any, case: Any, target: Target) -> None:
    # schemathesis's Response keeps every header as a list of values
    headers = {
        k.lower(): ", ".join(v) if isinstance(v, list) else v for k, v in response.headers.items()
    }
    cors = {k: v for k, v in headers.items() if k.startswith("access-control-")}
    op = case.operation.definition.raw.get("operationId")
    where = (op, case.method, response.status_code)
    if target.origin_kind == "allowed" and op not in NO_CORS:
        assert headers.get("access-control-allow-origin") == ALLOWED, (where, headers)
        assert headers.get("access-control-allow-credentials") == "true", (where, headers)
    else:
        assert cors == {}, (where, cors)
    assert "Origin" in [v.strip() for v in headers.get("vary", "").split(",")], (where, headers)
    if response.status_code >= 400:
        body = json.loads(response.text)
        assert isinstance(body, dict) and isinstance(body.get("detail"), str), (where, body)
        assert headers.get("content-type", "").startswith("application/json"), (where, headers)


def check_undeclared_method(response: Any, case: Any, target: Target) -> None:
    """schemathesis's unsupported_method check, plus our origin rules: a method the path
    does not have is 405 with Allow, except a write from a disallowed origin, which is
    refused (403) before the method is looked at, as every write from there, and any
    request to a secret route, which a browser (these all carry Origin) never gets past.
    (Methods Tornado does not know, TRACE and the like, are 405 before any of that.)"""
    declared = {
        m.upper()
        for m in openapi_spec()["paths"][case.operation.path]
        if m in ("get", "post", "put", "delete", "patch")
    }
    method = response.request.method
    if method in declared or method == "OPTIONS":
        return
    STATS[target.origin_kind]["undeclared-method"] += 1
    allow = {m.strip() for m in ", ".join(response.headers.get("allow", [])).split(",")}
    op = case.operation.definition.raw.get("operationId")
    if op in NO_CORS and method in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}:
        assert response.status_code == 403, (method, case.operation.path, response.status_code)
        assert json.loads(response.text) == {"detail": FROM_A_BROWSER}
    elif target.origin_kind == "disallowed" and method in {"POST", "PUT", "PATCH", "DELETE"}:
        assert response.status_code == 403, (method, case.operation.path, response.status_code)
        assert json.loads(response.text) == {"detail": "Origin not allowed"}
    else:
        assert response.status_code == 405, (method, case.operation.path, response.status_code)
        assert allow == declared | {"OPTIONS"}, (method, case.operation.path, allow)


def check_hostile_json(response: Any, case: Any, target: Target) -> None:
    """A hostile shape is refused as JSON (400), unless something refused the request
    before its body was parsed: a browser on a secret route, a disallowed origin's
    write, the body limit."""
    op = case.operation.definition.raw.get("operationId")
    detail = json.loads(response.text).get("detail", "")
    if response.status_code == 403:
        same_origin_refusal = op in SAME_ORIGIN_ONLY and detail == CROSS_ORIGIN
        assert op in NO_CORS or same_origin_refusal or target.origin_kind == "disallowed", (
            op,
            detail,
        )
        return
    assert response.status_code in (400, 405, 413), (op, response.status_code, detail)
    if response.status_code == 400:
        assert detail.startswith("Invalid JSON in request body: "), (op, detail)


@pytest.mark.parametrize("origin_kind", sorted(ORIGINS), scope="module")
@schema.parametrize()
def test_api_against_its_description(case: Any, fuzz_target: Target) -> None:
    _drop_framing_headers(case)
    _swap_ids(case, fuzz_target)
    server = fuzz_target.server
    response = case.call_and_validate(
        base_url=server.url + API,
        headers={"Authorization": f"token {server.token}", "Origin": fuzz_target.origin},
    )
    check_cors_and_error_body(response, case, fuzz_target)
    check_undeclared_method(response, case, fuzz_target)
    stats = STATS[fuzz_target.origin_kind]
    if is_hostile(case):
        check_hostile_json(response, case, fuzz_target)
        stats["hostile-json"] += 1
    stats["cases"] += 1
    stats[f"{response.status_code // 100}xx"] += 1
    stats["op:" + case.operation.label] += 1


def test_fuzzing_reached_the_handlers(
    request: pytest.FixtureRequest, fuzz_server: ServerProcess, report: Any
) -> None:
    """The fuzz run above did real work: many cases on every operation, 2xx and 4xx."""
    fuzzed = {
        item.callspec.params.get("origin_kind")
        for item in request.session.items
        if getattr(item, "originalname", "").startswith("test_api_against_its_description")
    }
    if not fuzzed:
        pytest.skip("the fuzz cases were not selected")
    operations = len(openapi_spec()["paths"])
    for kind in sorted(fuzzed):
        stats = STATS[kind]
        ops = [k for k in stats if k.startswith("op:")]
        report(
            f"{kind} origin: {len(ops)} operations, {stats['cases']} cases, "
            f"2xx {stats['2xx']}, 4xx {stats['4xx']}, 5xx {stats['5xx']}, "
            f"undeclared methods {stats['undeclared-method']}, "
            f"hostile JSON {stats['hostile-json']}"
        )
        assert len(ops) > operations, (kind, sorted(ops))  # more operations than paths
        assert min(stats[op] for op in ops) >= 5, (kind, stats)
        assert stats["cases"] >= 1000, (kind, stats["cases"])
        assert stats["2xx"] >= 100 and stats["4xx"] >= 100 and stats["5xx"] == 0, (kind, stats)
        assert stats["undeclared-method"] >= operations, (kind, stats)
        assert stats["hostile-json"] >= 20, (kind, stats)
    assert "Traceback" not in Path(fuzz_server.log_path).read_text(errors="replace")


def test_fuzz_server_is_still_healthy(fuzz_server: ServerProcess) -> None:
    r = requests.get(
        fuzz_server.url + API + "/credentials/status",
        headers={"Authorization": f"token {fuzz_server.token}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
