"""PostgreSQL going away and coming back, and the database URL's password.

While the database is down every API call that needs it answers 503
``{"detail": "Database unavailable"}`` with ``Retry-After`` and the CORS headers
an allowed origin gets on every response; the log says so in one line per
request, without a traceback. When the database is back the same server
carries on (its connection pool checks a connection idle for over a second before
use, and a read on one that died sooner is retried once). A server that
cannot reach the database at start-up stops with one message. The password in
the database URL appears in no log line and no command output, at debug level
too.
"""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Iterator

import pytest

from support.leaks import random_api_key
from support.pg import PostgresCluster, find_bindir
from support.servers import BIN, clean_env

ORIGIN = "https://lab.example.org"


@pytest.fixture
def own_cluster() -> Iterator[PostgresCluster]:
    """A cluster of this test's own, which it may stop and start."""
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (`make test` installs them)")
    cluster = PostgresCluster(bindir).start()
    yield cluster
    cluster.stop()


def test_outage_is_503_with_cors_then_recovers(own_cluster, server_factory):
    password = f"pw-{secrets.token_hex(8)}"
    own_cluster.create_database("outage")
    url = own_cluster.url("outage", password)
    env = {"OPEN_NOTEBOOK_DB_URL": url, "OPEN_NOTEBOOK_CORS_ORIGINS": ORIGIN}
    server = server_factory(env=env, args=["--debug"]).start()
    cred = server.api(
        "POST", "credentials", {"name": "k", "provider": "openai", "api_key": random_api_key()}
    )
    assert cred.status == 201, cred.text
    cid = cred.json["id"]

    own_cluster.stop_server()
    calls = [
        ("GET", "credentials", None),
        ("GET", f"credentials/{cid}", None),
        ("GET", "credentials/status", None),
        ("POST", "notes", {"content": "during the outage"}),
        ("PUT", f"credentials/{cid}", {"name": "renamed"}),
        ("DELETE", f"credentials/{cid}", None),
        ("GET", "notebooks", None),
        ("POST", "search", {"query": "anything"}),
    ]
    for method, path, body in calls:
        r = server.api(method, path, body, headers={"Origin": ORIGIN})
        assert r.status == 503, (method, path, r.status, r.text)
        assert r.json == {"detail": "Database unavailable"}
        assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert r.headers["Access-Control-Allow-Credentials"] == "true"
        assert r.headers["Retry-After"] == "5"
        assert r.headers["Content-Type"].startswith("application/json")
    # the routes that do not need the database go on working
    assert server.api("GET", "providers").status == 200
    assert server.log.count("Database unavailable (") >= len(calls)
    assert "Traceback" not in server.log

    own_cluster.start_server()
    listed = server.api("GET", "credentials")
    assert listed.status == 200 and [c["id"] for c in listed.json] == [cid]
    assert listed.json[0]["name"] == "k"  # the PUT during the outage changed nothing
    assert server.api("POST", "notes", {"content": "after"}).status == 200
    server.stop()
    assert password not in server.log
    assert f"{own_cluster.user}:***@127.0.0.1" in server.log  # the URL is logged masked

    # down at start-up: one clear message, no password, non-zero exit
    own_cluster.stop_server()
    down = server_factory(home=server.home, env=env, args=["--debug"]).start(wait=False)
    assert down.wait_exit(120) != 0
    assert "cannot open the database postgresql+psycopg://" in down.log
    assert password not in down.log

    out = subprocess.run(
        [str(BIN / "jupyter-open-notebook"), "status"],
        env={**clean_env(server.home), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 2
    assert "cannot open the database" in out.stderr
    assert password not in out.stdout + out.stderr


def test_a_restart_costs_no_failed_read(own_cluster, server_factory):
    """Pooled connections are checked before use only after a second idle (a round trip
    saved on every read of a busy server): a read on a connection that died sooner is
    retried once on a new one, and a write after a second idle finds the pool renewed."""
    own_cluster.create_database("restart")
    server = server_factory(env={"OPEN_NOTEBOOK_DB_URL": own_cluster.url("restart")}).start()
    cred = server.api(
        "POST", "credentials", {"name": "k", "provider": "openai", "api_key": random_api_key()}
    )
    assert cred.status == 201, cred.text
    cid = cred.json["id"]
    for _ in range(3):
        assert server.api("GET", f"credentials/{cid}").status == 200
        own_cluster.stop_server()
        own_cluster.start_server()
        # straight after the restart: the connection used a moment ago is dead
        r = server.api("GET", f"credentials/{cid}")
        assert r.status == 200, r.text
        assert r.json["name"] == "k"
    own_cluster.stop_server()
    own_cluster.start_server()
    time.sleep(1.5)  # idle for longer than the pool's check interval
    r = server.api("PUT", f"credentials/{cid}", {"name": "renamed"})
    assert r.status == 200, r.text
    assert server.api("GET", f"credentials/{cid}").json["name"] == "renamed"
    assert "Database unavailable" not in server.log
    server.stop()
