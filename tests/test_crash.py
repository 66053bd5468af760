"""kill -9 during a write storm, restart: the database is intact and every write that
was acknowledged with a 2xx is there.

The server is killed with SIGKILL (no shutdown of any kind) while 32 clients
write. Requests in flight at that moment have an unknown outcome: for those
(and only those) either outcome is accepted. After a restart on the same data
directory: SQLite's ``PRAGMA integrity_check`` and FTS5's integrity check pass;
every acknowledged create, update and delete is in the database, every key
decrypts, and the restarted server serves reads and writes.
"""

from __future__ import annotations

import asyncio

import pytest
from cryptography.fernet import Fernet

from dbtools import rows
from storm import Storm, Target, check_search_index, start_servers

pytestmark = pytest.mark.subprocess

KILL_AFTER_ACKNOWLEDGED = 400


async def storm_then_kill(storm: Storm, server) -> None:
    task = asyncio.create_task(storm.run())
    while storm.tally.acknowledged_writes < KILL_AFTER_ACKNOWLEDGED and not task.done():
        await asyncio.sleep(0.01)
    assert not task.done(), "the storm ended before the kill"
    server.kill()  # SIGKILL to the server's process group, mid-storm
    storm.stop.set()
    await task


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_9_mid_storm_loses_no_acknowledged_write(
    backend, server_factory, tmp_path, request, report
):
    key = Fernet.generate_key().decode()
    db_url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    [server] = start_servers(server_factory, tmp_path, 1, db_url, key)
    storm = Storm([Target(server.url, server.token)], clients=32, requests_per_client=10_000)
    asyncio.run(storm_then_kill(storm, server))
    tally = storm.tally
    assert tally.server_errors == [], tally.server_errors[:10]
    in_flight = sum(len(v) for v in storm.model.in_flight.values()) + len(
        storm.model.in_flight_creates
    )

    restarted = server_factory(home=server.home, env=server.env).start()
    db = db_url or restarted.data_dir / "open_notebook.db"
    if backend == "sqlite":
        assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    check_search_index(db)
    counts = storm.verify(db, key, allow_in_flight=True)
    report(
        f"{tally.requests} requests, {tally.acknowledged_writes} acknowledged writes, "
        f"{in_flight} in flight at the kill (either outcome accepted), lost writes: 0, "
        f"5xx: {len(tally.server_errors)}; database: {counts}"
    )

    # the restarted server works: reads what was there, takes new writes
    listed = restarted.api("GET", "credentials")
    assert listed.status == 200
    assert len(listed.json) == counts["credentials"]
    assert not any(c["decryption_error"] for c in listed.json)
    r = restarted.api("POST", "notes", {"content": "after the crash"})
    assert r.status == 200, r.text
    assert "Traceback" not in restarted.log
