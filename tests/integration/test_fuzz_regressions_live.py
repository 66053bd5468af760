"""Bugs schemathesis found (integration/test_fuzz_api.py) that need a subprocess server or
the CLI, pinned one by one (the in-process ones: api/test_fuzz_regressions.py)."""

from __future__ import annotations

import json

import pytest

# SQLite only: HTTP semantics and request validation; the database plays no part.
pytestmark = pytest.mark.sqlite_only


ALLOWED = "https://lab.example.org"


EVIL = "https://evil.example.com"


@pytest.fixture
def extension_config():
    return {"allowed_origins": [ALLOWED]}


def test_errors_before_the_handler_keep_the_connection(server_factory):
    """The 400 used to come before the body was read, and an error from prepare() to a
    request without a body closed the connection: the client saw a reset, no answer."""
    import http.client

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


@pytest.mark.parametrize("command", ["status", "verify", "rotate"])
def test_cli_does_not_create_a_database_at_a_wrong_path(tmp_path, command):
    """These used to create (and migrate) a new SQLite file at a mistyped --db-url and
    report on it: "0 of 0 credential(s) decrypt", exit 0."""
    import subprocess

    from support.servers import BIN, clean_env

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


def test_a_malformed_header_is_not_logged(server_factory):
    """Tornado logged "Malformed HTTP message ... Invalid header value 'token <token>\\x00<key>'"
    whole: the server's token and whatever else the header held."""
    import socket

    from support.leaks import random_api_key

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
