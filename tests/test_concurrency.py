"""Many concurrent clients writing over HTTP: afterwards the database holds exactly
what was acknowledged, every key decrypts, no 5xx.

32 clients, each with one request in flight at a time, create, update and
delete credentials, notebooks, notes and sources (see ``storm.py``), against
one server on SQLite, one on PostgreSQL, and two server processes sharing one
PostgreSQL database (each request goes to either).

``make test`` runs ``STORM_REQUESTS`` (default 60) requests per client, 1,920
per run. The full figure, 500 per client (16,000 requests per run), is
``ON_STORM_REQUESTS=500 pytest tests/test_concurrency.py`` (``make stress``).
"""

from __future__ import annotations

import asyncio
import os

import pytest
from cryptography.fernet import Fernet

from storm import Storm, Target, check_search_index, start_servers

CLIENTS = 32
STORM_REQUESTS = 60
REQUESTS = int(os.environ.get("ON_STORM_REQUESTS", STORM_REQUESTS))

pytestmark = pytest.mark.subprocess


@pytest.mark.parametrize(
    ("backend", "servers"),
    [
        ("sqlite", 1),
        ("postgresql", 1),
        ("postgresql", 2),
    ],
    ids=["sqlite-1-server", "postgresql-1-server", "postgresql-2-servers"],
)
def test_write_storm_keeps_exactly_the_acknowledged_state(
    backend, servers, server_factory, tmp_path, request, report
):
    key = Fernet.generate_key().decode()
    db_url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    running = start_servers(server_factory, tmp_path, servers, db_url, key)
    storm = Storm(
        [Target(s.url, s.token) for s in running], clients=CLIENTS, requests_per_client=REQUESTS
    )
    tally = asyncio.run(storm.run())
    for server in running:
        assert "Traceback" not in server.log, server.log[-3000:]
    db = db_url or running[0].data_dir / "open_notebook.db"
    counts = storm.verify(db, key)
    check_search_index(db)
    report(f"{tally.summary()}; lost writes: 0; database: {counts}")
    assert tally.server_errors == [], tally.server_errors[:10]
    assert tally.transport_errors == [], tally.transport_errors[:10]
    assert tally.requests == CLIENTS * REQUESTS
    assert counts["decrypted"] == counts["credentials"]
