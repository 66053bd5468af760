"""The secret-leak hunt: drive every route and the CLI with valid and hostile input, then
search everything the server wrote or said for the API keys.

One real server (a subprocess, SQLite) holds credentials with random recognisable keys.
The hunt calls every route of the API (credentials, connection tests against a local
fake provider, secret reads with Jupyter and kernel tokens, grants, audit, notebooks,
notes, sources with uploads, search, the OpenAPI description) and Jupyter's contents
API, with valid input and hostile input: bodies over ``max_body_bytes``, wrong types,
unicode, NUL bytes, path traversal in ids and names, CR/LF header injection over a
raw socket, keys offered as tokens, bad and absent authentication, disallowed origins.
Then the CLI: ``status``, ``verify``, ``rotate`` with good and bad arguments and keys.

Searched, for each key (as is, base64, URL-safe base64, URL-encoded, UTF-16, and its
random part alone): the server's stdout/stderr, every file under the server's home
(the SQLite database with its -wal/-shm, the audit log, uploads, the saved notebook),
every response's status line, headers and body, and the CLI's output. Zero hits.
The only place a key may appear is the answer of a secret read, which the test checks
holds it. A canary value deliberately stored where it legitimately appears (a source's
text, a credential's name, a request path, a notebook cell) must be found in every
channel, so the search is shown to work on each one.
"""

from __future__ import annotations

import base64
import http.cookiejar
import json
import secrets
import socket
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
import requests
from cryptography.fernet import Fernet

from content_helpers import multipart, multipart_parts
from helpers import API, BIN, FakeProvider, ServerProcess, clean_env, random_api_key

pytestmark = [pytest.mark.subprocess, pytest.mark.sqlite_only]

ALLOWED = "https://lab.example.org"
EVIL = "https://evil.example.com"
BODY_LIMIT = 64 * 1024
NOTEBOOK = "work/leaky.ipynb"
TRAVERSAL = [
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2f",
    "a/../../b",
    "..\\..\\windows",
    "%00",
    "x%00y",
    "%0d%0aSet-Cookie:%20x=1",
    "credential:..",
    "%F0%9F%94%91",
    "%C0%AE%C0%AE%2F",
    "~root",
    "x" * 3000,
]


def variants(secret: str) -> dict[str, bytes]:
    """The forms a leaked key would take in files, logs and responses."""
    raw = secret.encode()
    out = {
        "plain": raw,
        "base64": base64.b64encode(raw),
        "urlsafe-base64": base64.urlsafe_b64encode(raw).rstrip(b"="),
        "url-encoded": quote(secret, safe="").encode(),
        "utf-16": secret.encode("utf-16-le"),
        "hex": raw.hex().encode(),
        # the random part alone: a leak that dropped or changed the prefix
        "random-part": secret.rsplit("-", 1)[-1].encode(),
    }
    return out


def no_cookies(session: requests.Session) -> requests.Session:
    """Jupyter answers a token request with a login cookie; kept, it would authenticate
    the requests meant to have bad or no credentials."""
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return session


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    head: bytes
    body: bytes
    secret_read: bool = False


@dataclass
class Hunt:
    server: ServerProcess
    keys: dict[str, str] = field(default_factory=dict)  # label -> key
    exchanges: list[Exchange] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    session: requests.Session = field(default_factory=lambda: no_cookies(requests.Session()))

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        auth: str | None = "token",
        prefix: str = API + "/",
        secret_read: bool = False,
        expect: int | tuple[int, ...] | None = None,
    ) -> requests.Response:
        h: dict[str, str] = {}
        if auth == "token":
            h["Authorization"] = f"token {self.server.token}"
        elif auth == "bearer":
            h["Authorization"] = f"Bearer {self.server.token}"
        elif auth:
            h["Authorization"] = auth
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        h.update(headers or {})
        try:
            r = self.session.request(
                method,
                self.server.url + prefix + path,
                data=data,
                headers=h,
                timeout=30,
                allow_redirects=False,
            )
        except requests.ConnectionError as e:
            raise AssertionError(f"{method} {prefix}{path[:200]}: {e}") from None
        head = f"HTTP/1.1 {r.status_code} {r.reason}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in r.headers.items()
        )
        self.record(
            Exchange(
                method,
                prefix + path,
                r.status_code,
                head.encode(),
                r.content,
                secret_read and r.status_code == 200,
            )
        )
        if expect is not None:
            allowed = (expect,) if isinstance(expect, int) else expect
            assert r.status_code in allowed, (method, path, r.status_code, r.text[:300])
        return r

    def record(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
        self.statuses[exchange.status] += 1

    def too_large(self, method: str, path: str, body: bytes) -> None:
        """A body over the limit: the server answers 413 from Content-Length alone and
        closes without reading the body, so the answer is read before the body is sent
        (sent first, it would be lost to the reset of the unread data)."""
        head = (
            f"{method} /{API}/{path} HTTP/1.1\r\nHost: 127.0.0.1:{self.server.port}\r\n"
            f"Authorization: token {self.server.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        answer = self.raw_request(head.encode() + body[:200])
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:300]

    def raw_request(self, request: bytes) -> bytes:
        """Bytes as given, over a socket: header values with CR/LF that clients refuse."""
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=15) as s:
            s.sendall(request)
            chunks = []
            while True:
                try:
                    chunk = s.recv(65536)
                except TimeoutError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        answer = b"".join(chunks)
        head, _, body = answer.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
        self.record(
            Exchange("RAW", request.split(b"\r\n", 1)[0].decode("latin-1"), status, head, body)
        )
        return answer


@pytest.fixture
def provider() -> Any:
    fake = FakeProvider()
    yield fake
    fake.httpd.shutdown()


@pytest.fixture
def server(server_factory: Any) -> ServerProcess:
    s = server_factory(
        args=[
            f"--OpenNotebookApp.allowed_origins={ALLOWED}",
            f"--OpenNotebookApp.max_body_bytes={BODY_LIMIT}",
            "--OpenNotebookApp.allow_private_targets=True",
            "--OpenNotebookApp.fetch_links=False",
            "--OpenNotebookApp.connection_test_timeout=5",
            "--OpenNotebookApp.auth_failure_limit=40",
            "--OpenNotebookApp.auth_failure_window=600",
            "--ServerApp.log_level=DEBUG",
            "--OpenNotebookApp.log_level=DEBUG",
        ]
    ).start()
    (s.root / "work").mkdir(exist_ok=True)
    return s


def drive_credentials(hunt: Hunt, provider: FakeProvider) -> dict[str, str]:
    """Create, read, update, test and delete credentials; returns label -> id."""
    specs = [
        ("openai", {"provider": "openai", "base_url": provider.url + "/v1"}),
        ("anthropic", {"provider": "anthropic"}),
        ("groq", {"provider": "groq", "name": "Gröq ✓ ключ 🔑"}),
        (
            "azure",
            {
                "provider": "azure",
                "endpoint": "https://res.example.org",
                "api_version": "2024-02-01",
            },
        ),
        ("rejected", {"provider": "openai", "base_url": provider.url + "/v1"}),
        ("doomed", {"provider": "mistral"}),
    ]
    ids = {}
    for label, spec in specs:
        hunt.keys[label] = random_api_key()
        r = hunt.send(
            "POST",
            "credentials",
            {"name": f"leak {label}", **spec, "api_key": hunt.keys[label]},
            expect=201,
        )
        ids[label] = r.json()["id"]
    hunt.send("GET", "providers", expect=200)
    hunt.send("GET", "credentials/status", expect=200)
    hunt.send("GET", "credentials", expect=200, auth="bearer")
    hunt.send("GET", "credentials?provider=openai&limit=2&offset=1", expect=200)
    hunt.send("GET", "credentials?limit=-1", expect=422)
    hunt.send("GET", "credentials?limit=abc", expect=422)
    hunt.send("GET", "credentials/by-provider/openai", expect=200)
    hunt.send("GET", "credentials/by-provider/%00", expect=200)
    for cid in ids.values():
        hunt.send("GET", f"credentials/{cid}", expect=200)
    # replace a key: the old one must vanish everywhere too (it stays searched)
    hunt.keys["anthropic-old"] = hunt.keys["anthropic"]
    hunt.keys["anthropic"] = random_api_key()
    hunt.send(
        "PUT",
        f"credentials/{ids['anthropic']}",
        {"api_key": hunt.keys["anthropic"], "name": "leak anthropic v2"},
        expect=200,
    )
    # connection tests: accepted, refused by the provider, not found
    provider.expect = ("Authorization", f"Bearer {hunt.keys['openai']}")
    ok = hunt.send("POST", f"credentials/{ids['openai']}/test", expect=200).json()
    assert ok["success"] is True, ok
    refused = hunt.send("POST", f"credentials/{ids['rejected']}/test", expect=200).json()
    assert refused["success"] is False, refused
    provider.status_override = 500
    hunt.send("POST", f"credentials/{ids['openai']}/test", expect=200)
    provider.status_override = None
    hunt.send("POST", f"credentials/{ids['anthropic']}/test", expect=200)  # no network: fails
    hunt.send("POST", "credentials/credential:nope/test", expect=404)
    assert any(
        h.get("authorization") == f"Bearer {hunt.keys['openai']}" for _, h in provider.requests
    )
    hunt.send("DELETE", f"credentials/{ids['doomed']}", expect=200)
    hunt.send("GET", f"credentials/{ids['doomed']}", expect=404)
    hunt.send("DELETE", f"credentials/{ids['doomed']}", expect=404)
    return ids


def drive_hostile_credentials(hunt: Hunt, ids: dict[str, str]) -> None:
    """Requests that carry a key and must fail without repeating it anywhere."""
    key = hunt.keys["hostile"] = random_api_key()
    cases: list[tuple[Any, int]] = [
        ({"name": "", "provider": "openai", "api_key": key}, 422),
        ({"name": "   ", "provider": "openai", "api_key": key}, 422),
        ({"name": "x\x00y", "provider": "openai", "api_key": key}, 422),
        ({"name": "bad", "provider": "no-such", "api_key": key}, 422),
        ({"name": "bad", "provider": "openai", "api_key": [key]}, 422),
        ({"name": "bad", "provider": "openai", "api_key": {"k": key}}, 422),
        ({"name": "bad", "provider": "openai", "api_key": key + "\x00"}, 422),
        ({"name": "bad", "provider": "openai", "api_key": key + "x" * 9000}, 422),
        ({"name": "bad", "provider": "openai", "api_key": key, "base_url": "ftp://x"}, 422),
        ({"name": "bad", "provider": "openai", "api_key": key, "num_ctx": "many"}, 422),
        ({"name": "leak openai", "provider": "openai", "api_key": key}, 409),
        ({"name": 5, "provider": 7, "api_key": 9}, 422),
        ([key], 422),
        (key, 422),
        (None, 400),
    ]
    for body, status in cases:
        hunt.send("POST", "credentials", body, expect=status)
    hunt.send(
        "PUT",
        f"credentials/{ids['openai']}",
        {"api_key": key, "base_url": "javascript:x"},
        expect=422,
    )
    hunt.send("PUT", f"credentials/{ids['openai']}", {"api_key": key, "name": ""}, expect=422)
    hunt.send("PUT", f"credentials/{ids['openai']}", {"api_key": key, "num_ctx": True}, expect=422)
    # not JSON, truncated JSON, NUL bytes, wrong encodings, form bodies, all with the key
    for raw in (
        f'{{"name": "t", "provider": "openai", "api_key": "{key}"',
        f'{{"api_key": "{key}"}}}}',
        f"api_key={key}&name=x&provider=openai",
        f'{{"name": "t\x00", "provider": "openai", "api_key": "{key}"}}'.encode(),
        f'{{"api_key": "{key}"}}'.encode("utf-16"),
        b"\xff\xfe\x00" + key.encode(),
    ):
        hunt.send("POST", "credentials", raw=raw, expect=(400, 422))
    hunt.send(
        "POST",
        "credentials",
        raw=f"api_key={key}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        expect=(400, 422),
    )
    # over the body limit, declared and streamed
    huge = json.dumps(
        {"name": "huge", "provider": "openai", "api_key": key, "pad": "p" * (BODY_LIMIT + 10)}
    ).encode()
    for method, path in (
        ("POST", "credentials"),
        ("PUT", f"credentials/{ids['openai']}"),
        ("POST", "secrets/get"),
        ("PUT", "grants"),
        ("POST", "search"),
        ("POST", "notes"),
        ("POST", "sources/json"),
    ):
        hunt.too_large(method, path, huge)

    def chunks() -> Any:
        for _ in range(BODY_LIMIT // 1024 + 8):
            yield ('{"api_key": "' + key + '", "pad": "' + "q" * 1000 + '"').encode()

    r = hunt.session.post(
        hunt.server.url + API + "/credentials",
        data=chunks(),
        timeout=30,
        headers={"Authorization": f"token {hunt.server.token}", "Content-Type": "application/json"},
    )
    hunt.record(
        Exchange(
            "POST", "credentials (chunked)", r.status_code, str(dict(r.headers)).encode(), r.content
        )
    )
    assert r.status_code == 413, r.text
    hunt.session = no_cookies(requests.Session())  # the server closed that connection
    # path traversal and junk in ids
    for junk in TRAVERSAL:
        for method in ("GET", "PUT", "DELETE"):
            hunt.send(
                method,
                f"credentials/{junk}",
                {"api_key": key} if method == "PUT" else None,
                expect=(400, 404, 422),
            )
        hunt.send("POST", f"credentials/{junk}/secret", expect=(400, 404))
        hunt.send("POST", f"credentials/{junk}/test", expect=(400, 404))
    # the key offered as a token, in every place a token goes
    for auth in (f"token {key}", f"Bearer {key}", f"Bearer onk_{key}", f"Basic {key}", key):
        hunt.send("GET", "credentials", auth=auth, expect=401)
        hunt.send("POST", "secrets/get", {"name": "leak openai"}, auth=auth, expect=401)
    hunt.send(
        "GET", "credentials", auth=None, headers={"Cookie": f"_xsrf={key}; x={key}"}, expect=401
    )
    hunt.send(
        "POST",
        "credentials",
        {"name": "cookie", "provider": "openai", "api_key": key},
        auth=None,
        headers={"X-XSRFToken": key},
        expect=401,
    )
    # disallowed origins: writes refused before anything happens
    for origin in (EVIL, "null", ALLOWED + "/", "https://lab.example.org.evil.com"):
        hunt.send(
            "POST",
            "credentials",
            {"name": "evil", "provider": "openai", "api_key": key},
            headers={"Origin": origin},
            expect=403,
        )
        hunt.send("GET", "credentials", headers={"Origin": origin}, expect=200)
        hunt.send(
            "OPTIONS",
            "credentials",
            auth=None,
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
            expect=403,
        )
    hunt.send(
        "OPTIONS",
        "credentials",
        auth=None,
        headers={"Origin": ALLOWED, "Access-Control-Request-Method": "PUT"},
        expect=204,
    )
    hunt.send("PATCH", "credentials", {"api_key": key}, expect=405)


def drive_secrets_and_grants(hunt: Hunt, ids: dict[str, str]) -> None:
    for label in ("openai", "groq", "azure"):
        r = hunt.send("POST", f"credentials/{ids[label]}/secret", expect=200, secret_read=True)
        assert r.json()["api_key"] == hunt.keys[label]
    r = hunt.send(
        "POST", "secrets/get", {"name": "leak openai"}, auth="bearer", expect=200, secret_read=True
    )
    assert r.json()["api_key"] == hunt.keys["openai"]
    hunt.send("POST", "secrets/get", {"name": "leak openai", "provider": "groq"}, expect=404)
    hunt.send("POST", "secrets/get", {"name": ""}, expect=422)
    hunt.send("POST", "secrets/get", {"name": ["x"]}, expect=422)
    hunt.send("POST", "secrets/get", {"name": "ü\x00"}, expect=(404, 422))
    hunt.send("POST", "secrets/get", raw="not json", expect=400)
    hunt.send("GET", "secrets", expect=200)
    # browsers never read a key, allowed origin or not
    for origin in (ALLOWED, EVIL):
        hunt.send(
            "POST", f"credentials/{ids['openai']}/secret", headers={"Origin": origin}, expect=403
        )
        hunt.send("GET", "secrets", headers={"Origin": origin}, expect=403)
    hunt.send("POST", f"credentials/{ids['openai']}/secret", auth=None, expect=401)
    hunt.send(
        "POST",
        f"credentials/{ids['openai']}/secret",
        auth=f"Bearer onk_{secrets.token_hex(24)}",
        expect=401,
    )
    hunt.send("GET", "secrets", auth="Bearer onk_", expect=401)
    # grants (for notebooks that exist), with hostile notebook paths
    for path in (NOTEBOOK, "wörk/ü 🔑.ipynb"):
        (hunt.server.root / path).parent.mkdir(parents=True, exist_ok=True)
        (hunt.server.root / path).write_text('{"cells": []}')
    r = hunt.send(
        "PUT", "grants", {"credential_id": ids["openai"], "notebook_path": NOTEBOOK}, expect=201
    )
    hunt.send(
        "PUT", "grants", {"credential_id": ids["openai"], "notebook_path": NOTEBOOK}, expect=200
    )
    grant_id = r.json()["id"]
    hunt.send(
        "PUT",
        "grants",
        {"credential_id": ids["groq"], "notebook_path": "wörk/ü 🔑.ipynb"},
        expect=201,
    )
    for path in (
        "../../etc/passwd",
        "a/../../b.ipynb",
        "x\x00y",
        "a\r\nSet-Cookie: a=b",
        "",
        "a" * 2000,
        "\r\nSet-Cookie: a=b",
        "x\u202egpj.ipynb",
        ".",
        "./.",
        "no-such.ipynb",
    ):
        hunt.send(
            "PUT", "grants", {"credential_id": ids["openai"], "notebook_path": path}, expect=422
        )
    hunt.send(
        "PUT",
        "grants",
        {"credential_id": "credential:none", "notebook_path": "a.ipynb"},
        expect=404,
    )
    hunt.send("PUT", "grants", {"credential_id": 1, "notebook_path": ["a"]}, expect=422)
    hunt.send("GET", "grants", expect=200)
    hunt.send(
        "GET", f"grants?credential_id={ids['openai']}&notebook_path={quote(NOTEBOOK)}", expect=200
    )
    hunt.send("GET", "grants?notebook_path=%00", expect=(200, 422))
    hunt.send("GET", "grants?notebook_path=.", expect=422)
    for junk in TRAVERSAL[:6]:
        hunt.send("DELETE", f"grants/{junk}", expect=(400, 404))
    hunt.send("DELETE", f"grants/{grant_id}", expect=200)
    hunt.send("DELETE", f"grants/{grant_id}", expect=404)
    hunt.send(
        "PUT", "grants", {"credential_id": ids["openai"], "notebook_path": NOTEBOOK}, expect=201
    )


def drive_notebook_api(hunt: Hunt, canary: str) -> None:
    nb = hunt.send(
        "POST", "notebooks", {"name": "Ünïcödé 📓", "description": "d"}, expect=200
    ).json()["id"]
    other = hunt.send("POST", "notebooks", {"name": "second"}, expect=200).json()["id"]
    for body in ({"name": ""}, {"name": "x\x00"}, {"name": 5}, {"name": "n" * 600}, ["x"]):
        hunt.send("POST", "notebooks", body, expect=422)
    hunt.send("GET", "notebooks", expect=200)
    hunt.send("GET", "notebooks?order_by=name%20asc&archived=false", expect=200)
    hunt.send("GET", "notebooks?order_by=drop%20table", expect=400)
    hunt.send("GET", f"notebooks/{nb}", expect=200)
    hunt.send("PUT", f"notebooks/{nb}", {"archived": True, "description": "é" * 100}, expect=200)
    hunt.send("PUT", f"notebooks/{nb}", {"archived": "yes"}, expect=422)
    note = hunt.send(
        "POST", "notes", {"content": "a note ✓", "title": "t", "notebook_id": nb}, expect=200
    ).json()["id"]
    hunt.send("POST", "notes", {"content": "\x00"}, expect=422)
    hunt.send("POST", "notes", {"content": "x", "notebook_id": "../../x"}, expect=(404, 422))
    hunt.send("GET", "notes", expect=200)
    hunt.send("GET", f"notes?notebook_id={nb}", expect=200)
    hunt.send("GET", f"notes/{note}", expect=200)
    hunt.send("PUT", f"notes/{note}", {"content": "changed", "note_type": "ai"}, expect=200)
    hunt.send("PUT", f"notes/{note}", {"note_type": "robot"}, expect=422)
    # the canary is stored on purpose: the database and responses must show it
    text = hunt.send(
        "POST",
        "sources",
        {"type": "text", "content": f"canary {canary} text", "title": "canary", "notebooks": [nb]},
        expect=200,
    ).json()["id"]
    link = hunt.send(
        "POST", "sources/json", {"type": "link", "url": "http://127.0.0.1:9/x"}, expect=200
    ).json()["id"]
    body, ctype = multipart(
        {"type": "upload", "notebooks": json.dumps([nb])},
        ("notes ü.md", "text/markdown", b"# heading\n\nplain words\n"),
    )
    upload = hunt.send(
        "POST", "sources", raw=body, headers={"Content-Type": ctype}, expect=200
    ).json()["id"]
    body, ctype = multipart({"type": "upload"}, ("../../../etc/passwd", None, b"root:x:0:0"))
    traversal = hunt.send(
        "POST", "sources", raw=body, headers={"Content-Type": ctype}, expect=(200, 400, 422)
    )
    body, ctype = multipart({"type": "upload"}, ("a\x00b.txt", "text/plain", b"nul name"))
    hunt.send("POST", "sources", raw=body, headers={"Content-Type": ctype}, expect=(200, 400, 422))
    hunt.send(
        "POST",
        "sources",
        raw=b"--x\r\nbroken",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        expect=(400, 422),
    )
    for bad in (
        {"type": "link", "url": "http://169.254.169.254/latest/meta-data"},
        {"type": "link", "url": "file:///etc/passwd"},
        {"type": "text", "content": ""},
        {"type": "upload"},
        {"type": "x"},
        {"type": "text", "content": "x", "file_path": "/etc/passwd"},
    ):
        hunt.send("POST", "sources/json", bad, expect=(400, 422))
    hunt.send("GET", "sources", expect=200)
    hunt.send("GET", f"sources?notebook_id={nb}&sort_by=title&sort_order=asc&limit=5", expect=200)
    hunt.send("GET", "sources?sort_by=password", expect=400)
    for sid in (text, link, upload):
        hunt.send("GET", f"sources/{sid}", expect=200)
    hunt.send("PUT", f"sources/{upload}", {"title": "renamed", "topics": ["a", "ü"]}, expect=200)
    hunt.send("POST", f"notebooks/{other}/sources/{link}", expect=200)
    hunt.send("DELETE", f"notebooks/{other}/sources/{link}", expect=200)
    hunt.send("POST", f"notebooks/{other}/sources/source:none", expect=404)
    hunt.send("POST", "search", {"query": "canary"}, expect=200)
    hunt.send("POST", "search", {"query": "plain", "notebook_id": nb, "limit": 3}, expect=200)
    hunt.send("POST", "search", {"query": "x", "type": "vector"}, expect=400)
    hunt.send("POST", "search", {"query": ""}, expect=422)
    for junk in TRAVERSAL:
        hunt.send("GET", f"notebooks/{junk}", expect=(400, 404))
        hunt.send("GET", f"sources/{junk}", expect=(400, 404))
        hunt.send("DELETE", f"notes/{junk}", expect=(400, 404))
    hunt.send("GET", f"notebooks/{nb}/delete-preview", expect=200)
    hunt.send("DELETE", f"notebooks/{other}?delete_exclusive_sources=true", expect=200)
    hunt.send("DELETE", f"notes/{note}", expect=200)
    if traversal.status_code == 200:
        hunt.send("DELETE", f"sources/{traversal.json()['id']}", expect=200)
    hunt.send("GET", "audit", expect=200)
    hunt.send("GET", "audit?limit=5&since=2020-01-01T00:00:00Z", expect=200)
    hunt.send("GET", "audit?since=yesterday", expect=422)
    hunt.send("GET", "openapi.json", auth=None, expect=200)
    hunt.send("GET", "no/such/route", expect=404)
    hunt.send("GET", "credentials", prefix=API + "/../" + API + "/", expect=(200, 404))


def drive_header_injection(hunt: Hunt, canary: str) -> None:
    """CR/LF in header values and the request target: nothing may be reflected as a header."""
    port, token = hunt.server.port, hunt.server.token
    base = f"/{API}"
    key = hunt.keys["hostile"]
    requests_: list[bytes] = [
        (
            f"GET {base}/credentials HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: token {token}\r\nOrigin: {ALLOWED}\r\nX-Injected: {key}\r\n"
            "Connection: close\r\n\r\n"
        ).encode(),
        (
            f"GET {base}/credentials HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: token {token}\r\nOrigin: {ALLOWED}%0d%0aSet-Cookie: injected=1\r\n"
            "Connection: close\r\n\r\n"
        ).encode(),
        (
            f"GET {base}/credentials/x%0d%0aSet-Cookie:%20injected=1 HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nAuthorization: token {token}\r\nConnection: close\r\n\r\n"
        ).encode(),
        (
            f"GET {base}/credentials HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: token {key}\r\n\rSet-Cookie: injected=1\r\nConnection: close\r\n\r\n"
        ).encode(),
        (
            f"GET {base}/credentials HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: token {token}\x00{key}\r\nConnection: close\r\n\r\n"
        ).encode(),
        (
            f"POST {base}/secrets/get HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer onk_{key}\r\nContent-Type: application/json\r\n"
            "Content-Length: 20\r\nConnection: close\r\n\r\n" + '{"name": "leak groq"}'
        ).encode(),
        (
            f"GET {base}/{canary} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: token {token}\r\nConnection: close\r\n\r\n"
        ).encode(),
        (
            f"GET {base}/credentials HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: token {token}\r\nOrigin: {ALLOWED}\r\n"
            f"X-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Host: evil.example.com\r\n"
            "Connection: close\r\n\r\n"
        ).encode(),
    ]
    for request in requests_:
        answer = hunt.raw_request(request)
        head = answer.partition(b"\r\n\r\n")[0].lower()
        assert b"set-cookie: injected" not in head and b"x-injected" not in head, answer[:500]


def save_leaky_notebook(hunt: Hunt, canary: str) -> None:
    key = hunt.keys["openai"]
    widgets = {
        "state": {"w1": {"model_name": "PasswordModel", "state": {"value": key}}},
        "version_major": 2,
        "version_minor": 0,
    }
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": widgets}},
        "cells": [
            {
                "cell_type": "code",
                "id": "c1",
                "execution_count": 1,
                "metadata": {"note": hunt.keys["azure"]},
                "source": f"# {canary}\nprint(secrets.get('leak openai'))",
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": f"the key is {key}\n"},
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {
                            "text/plain": [f"'{key}'"],
                            "text/html": f"<b>{key}</b>",
                            "application/json": {"k": [key, hunt.keys["groq"]], key: 1},
                        },
                    },
                    {
                        "output_type": "error",
                        "ename": "ValueError",
                        "evalue": f"bad {key}",
                        "traceback": [f"ValueError: bad {hunt.keys['azure']}"],
                    },
                ],
            }
        ],
    }
    hunt.send(
        "PUT",
        f"api/contents/{NOTEBOOK}",
        {"type": "notebook", "format": "json", "content": notebook},
        prefix="",
        expect=(200, 201),
    )
    hunt.send("GET", f"api/contents/{NOTEBOOK}", prefix="", expect=200)
    raw = (hunt.server.root / NOTEBOOK).read_bytes()
    assert b"[REDACTED:leak openai]" in raw and canary.encode() in raw


def cli(
    hunt: Hunt, *args: str, env: dict[str, str] | None = None, expect: int | tuple[int, ...] = 0
) -> str:
    e = clean_env(hunt.server.home)
    e.update(env or {})
    p = subprocess.run(
        [str(BIN / "jupyter-open-notebook"), *args],
        env=e,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=hunt.server.home,
    )
    allowed = (expect,) if isinstance(expect, int) else expect
    assert p.returncode in allowed, (args, p.returncode, p.stdout, p.stderr)
    return p.stdout + p.stderr


def drive_cli(hunt: Hunt) -> list[str]:
    out = []
    wrong = {"OPEN_NOTEBOOK_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    out.append(cli(hunt, "status"))
    out.append(cli(hunt, "status", "--json"))
    out.append(cli(hunt, "verify"))
    out.append(cli(hunt, "rotate", "--quiet"))
    out.append(cli(hunt, "status", env=wrong, expect=1))
    out.append(cli(hunt, "verify", env=wrong, expect=1))
    out.append(cli(hunt, "rotate", "--batch-size=0", expect=2))
    out.append(cli(hunt, "rotate", "--batch-size=abc", expect=(1, 2)))
    out.append(cli(hunt, "rotate", "--db-url=sqlite:////nonexistent/dir/x.db", expect=(1, 2)))
    out.append(cli(hunt, "status", f"--db-url=sqlite:///{hunt.server.home}/../\x01", expect=(1, 2)))
    out.append(
        cli(hunt, "status", "--db-url=postgresql+psycopg://u:hunter2@127.0.0.1:1/x", expect=(1, 2))
    )
    out.append(
        cli(
            hunt, "verify", env={"OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE": "/nonexistent"}, expect=(1, 2)
        )
    )
    out.append(cli(hunt, "no-such-command", expect=(1, 2)))
    out.append(cli(hunt, expect=2))
    # a real rotation to a new key, then everything still decrypts under it alone
    old = (hunt.server.data_dir / "encryption.key").read_text().strip()
    new = Fernet.generate_key().decode()
    out.append(cli(hunt, "rotate", env={"OPEN_NOTEBOOK_ENCRYPTION_KEYS": f"{new},{old}"}))
    out.append(cli(hunt, "verify", env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": new}))
    out.append(cli(hunt, "status", "--json", env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": new}))
    return out


def test_no_key_leaks_anywhere(server: ServerProcess, provider: FakeProvider, report: Any) -> None:
    hunt = Hunt(server)
    canary = random_api_key("canary")
    ids = drive_credentials(hunt, provider)
    hunt.send(
        "POST",
        "credentials",
        {"name": f"named {canary}", "provider": "groq", "api_key": random_api_key()},
        expect=201,
    )
    drive_hostile_credentials(hunt, ids)
    drive_secrets_and_grants(hunt, ids)
    drive_notebook_api(hunt, canary)
    save_leaky_notebook(hunt, canary)
    drive_header_injection(hunt, canary)
    # at last, lock this address out: 429 after too many failures
    for _ in range(45):
        if hunt.send("GET", "credentials", auth="token wrong").status_code == 429:
            break
    server.stop()  # flushes logs; the database stays as it is on disk
    cli_output = "\n".join(drive_cli(hunt))

    # -- the hunt did real work --------------------------------------------------------
    assert len(hunt.exchanges) > 250, len(hunt.exchanges)
    for status in (200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 422, 429):
        assert hunt.statuses[status] > 0, (status, hunt.statuses)
    assert hunt.statuses[500] == 0 and hunt.statuses[0] == 0, hunt.statuses
    secret_reads = [x for x in hunt.exchanges if x.secret_read]
    assert len(secret_reads) == 4

    # -- the places searched -------------------------------------------------------------
    files = sorted(p for p in server.home.rglob("*") if p.is_file())
    names = {p.name for p in files}
    assert {"open_notebook.db", "audit.jsonl", "leaky.ipynb"} <= names, names
    # (-wal and -shm are searched when present; a clean close checkpoints and removes them)
    haystacks: dict[str, bytes] = {str(p.relative_to(server.home)): p.read_bytes() for p in files}
    for i, x in enumerate(hunt.exchanges):
        if not x.secret_read:
            haystacks[f"response {i} {x.method} {x.path[:80]} -> {x.status}"] = x.head + x.body
    haystacks["cli"] = cli_output.encode()
    searched = sum(len(v) for v in haystacks.values())

    # -- the canary proves each channel is searched ----------------------------------------
    canary_hits = {where for where, data in haystacks.items() if canary.encode() in data}
    log_name = server.log_path.name
    assert log_name in canary_hits  # the 404 path, logged by Jupyter
    assert any(h.endswith("open_notebook.db") or h.endswith("-wal") for h in canary_hits)
    assert any(h.endswith("audit.jsonl") for h in canary_hits)  # the credential's name
    assert any(h.endswith("leaky.ipynb") for h in canary_hits)
    assert any(h.startswith("response ") for h in canary_hits)
    for x in secret_reads:  # and a key, where it belongs, is found by the same search
        assert any(k.encode() in x.body for k in hunt.keys.values())

    # -- zero hits -----------------------------------------------------------------------
    hits = []
    for label, key in hunt.keys.items():
        for form, needle in variants(key).items():
            hits += [(label, form, where) for where, data in haystacks.items() if needle in data]
    report(
        f"{len(hunt.exchanges)} requests, statuses {dict(sorted(hunt.statuses.items()))}, "
        f"{len(hunt.keys)} keys x {len(variants('x'))} forms searched in {len(haystacks)} "
        f"places, {searched / 1e6:.1f} MB, {len(hits)} hits"
    )
    assert hits == []
    assert "Traceback" not in server.log
    assert "hunter2" not in cli_output  # a database URL's password is never printed


def test_the_search_finds_a_planted_leak(server: ServerProcess) -> None:
    """Mutation check: a key the server does log (planted) is found by ``variants``."""
    hunt = Hunt(server)
    key = random_api_key()
    hunt.send("GET", f"no-route/{base64.b64encode(key.encode()).decode()}", expect=404)
    hunt.send("GET", f"no-route/{key}", expect=404)
    time.sleep(0.2)
    log = server.log.encode()
    found = {form for form, needle in variants(key).items() if needle in log}
    assert {"plain", "base64", "random-part"} <= found, found


def test_error_messages_do_not_repeat_input(server: ServerProcess) -> None:
    """Issue 15, finding 15: error answers name the field and the problem, never the value
    sent (a URL, an id, a sort field may hold something private, or markup). A canary is
    sent in every client-controlled place an error message could quote, and no answer
    may contain it — except the one answer that legitimately returns it (a stored base
    URL), which shows the search finds it."""
    hunt = Hunt(server)
    canary = "canary" + secrets.token_hex(8)
    created = hunt.send(
        "POST",
        "credentials",
        {
            "name": "unreachable",
            "provider": "openai",
            "api_key": random_api_key(),
            "base_url": f"http://{canary}.invalid/v1",
        },
        expect=201,
    )
    assert canary.encode() in created.content  # the control: stored, so returned
    cid = created.json()["id"]
    nb = hunt.send("POST", "notebooks", {"name": "n"}, expect=200).json()["id"]
    hunt.exchanges.clear()

    def send(method: str, path: str, body: Any = None, expect: Any = None, **kw: Any) -> None:
        hunt.send(method, path, body, expect=expect, **kw)

    # the connection test: the host cannot be resolved (netguard's message)
    r = hunt.send("POST", f"credentials/{cid}/test", expect=200)
    assert r.json()["success"] is False and "resolve" in r.json()["message"], r.text
    send("POST", "sources/json", {"type": "link", "url": f"{canary}://host/x"}, 400)
    send("PUT", f"credentials/{cid}", {"base_url": f"http://{canary}.example/v1"}, 422)
    send("PUT", f"credentials/{cid}", {"base_url": f"{canary}://x"}, 422)
    send("POST", "credentials", {"name": "n", "provider": canary, "api_key": "k" * 20}, 422)
    send(
        "POST",
        "credentials",
        {"name": "v", "provider": "vertex", "project": "p", "location": f"{canary}.example/"},
        422,
    )
    # sort fields and other query parameters
    for order in (canary, f"name%20{canary}", f"{canary}%20asc%20x"):
        send("GET", f"notebooks?order_by={order}", expect=400)
    send("GET", f"sources?sort_by={canary}", expect=400)
    send("GET", f"sources?sort_order={canary}", expect=400)
    send("GET", f"notebooks?archived={canary}", expect=422)
    send("GET", f"credentials?limit={canary}", expect=422)
    send("GET", f"audit?since={canary}", expect=422)
    # ids that do not exist
    send(
        "POST",
        "sources/json",
        {"type": "text", "content": "x", "notebooks": [f"notebook:{canary}"]},
        404,
    )
    send(
        "POST",
        "sources/json",
        {"type": "text", "content": "x", "transformations": [f"transformation:{canary}"]},
        404,
    )
    send("POST", "notes", {"content": "x", "notebook_id": f"notebook:{canary}"}, 404)
    send("GET", f"notebooks/notebook:{canary}", expect=404)
    send("GET", f"sources/source:{canary}", expect=404)
    send("POST", f"notebooks/{nb}/sources/source:{canary}", expect=404)
    send(
        "PUT",
        "grants",
        {"credential_id": f"credential:{canary}", "notebook_path": "a.ipynb"},
        (404, 422),
    )
    send("POST", "secrets/get", {"name": canary}, 404)
    # enumerations and paths
    send("POST", "notes", {"content": "x", "note_type": canary}, 422)
    send("POST", "search", {"query": "x", "type": canary}, 422)
    send("PUT", "grants", {"credential_id": cid, "notebook_path": f"{canary}\u202e.ipynb"}, 422)
    send("PUT", "grants", {"credential_id": cid, "notebook_path": f"../{canary}.ipynb"}, 422)
    send("GET", f"grants?notebook_path=../{canary}", expect=422)
    # a multipart field named after the canary, not UTF-8: unknown fields are ignored
    body, ctype = multipart_parts(
        [
            ('Content-Disposition: form-data; name="type"', b"text"),
            ('Content-Disposition: form-data; name="content"', b"x"),
            (f'Content-Disposition: form-data; name="{canary}"', b"\xff\xfe not UTF-8"),
        ]
    )
    send("POST", "sources", raw=body, headers={"Content-Type": ctype}, expect=(200, 422))

    assert len(hunt.exchanges) == 28  # every case above was sent
    echoed = [
        (x.method, x.path, x.status, x.body[:200])
        for x in hunt.exchanges
        if canary.encode() in x.body or canary.encode() in x.head
    ]
    assert echoed == []
