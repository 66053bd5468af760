"""Failed authentication counted in the database (security/dblimiter.py): two limiters on
one database (two service replicas) count one total per address, with the in-memory
limiter's semantics, a bounded table, and a per-process fallback when the database is
down; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

from cryptography.fernet import Fernet
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from open_notebook_ext.security.dblimiter import DatabaseAuthLimiter
from open_notebook_ext.security.identity import AuthFailureLimiter


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def limiters(backend_for, limit=3, window=60.0, clock=None):
    key = Fernet.generate_key().decode()
    one, two = backend_for(key), backend_for(key)
    clock = clock or Clock()
    return (
        DatabaseAuthLimiter(one.db, limit, window, clock=clock),
        DatabaseAuthLimiter(two.db, limit, window, clock=clock),
        clock,
    )


def test_two_replicas_block_at_the_limit_in_total(backend_for):
    a, b, clock = limiters(backend_for, limit=4)
    verdicts = []
    for i in range(4):
        verdicts.append((a if i % 2 == 0 else b).judge("10.0.0.1"))
        clock.now += 1
    # four failures, alternately on each replica: the fourth starts the block (still 401)
    assert verdicts == [(None, False), (None, False), (None, False), (None, True)]
    # now both refuse (429), the replica that did not start the block too
    assert a.judge("10.0.0.1") == (59, False)
    assert b.judge("10.0.0.1") == (59, False)
    assert b.retry_after("10.0.0.1") == 59
    # another address is not affected
    assert a.judge("10.0.0.2") == (None, False)
    # the block ends a window after the failure that reached the limit
    clock.now += 59
    assert a.retry_after("10.0.0.1") is None
    assert b.judge("10.0.0.1") == (None, False)


def test_same_semantics_as_the_in_memory_limiter(backend_for):
    """A sliding window: the same sequence of failures gets the same answers."""
    db_limiter, _, clock = limiters(backend_for, limit=3, window=10.0)
    memory = AuthFailureLimiter(3, 10.0, clock=clock)
    answers = {"db": [], "memory": []}
    for step in (0, 4, 7, 5, 1, 1, 3, 9, 2, 2, 2, 11, 1):
        clock.now += step
        answers["db"].append(db_limiter.judge("a"))
        answers["memory"].append(memory.judge("a"))
    assert answers["db"] == answers["memory"]
    assert any(started for _, started in answers["db"])
    assert any(retry for retry, _ in answers["db"])


def test_a_known_block_costs_no_database_round_trip(backend_for):
    a, _, _ = limiters(backend_for, limit=2)
    a.judge("x")
    assert a.judge("x") == (None, True)
    statements = []

    def count(*args):
        statements.append(args)

    event.listen(a.db.engine, "before_cursor_execute", count)
    try:
        for _ in range(50):
            assert a.judge("x")[0] == 60
    finally:
        event.remove(a.db.engine, "before_cursor_execute", count)
    assert statements == []


def test_concurrent_failures_on_two_replicas_block_at_the_limit(backend_for):
    """Failures arriving at once on both replicas are counted one after the other (the
    address's row lock): exactly one of them starts the block, at the limit."""
    a, b, _ = limiters(backend_for, limit=10, clock=time.time)
    results: list[tuple[int | None, bool]] = []
    lock = threading.Lock()

    def guess(limiter: DatabaseAuthLimiter) -> None:
        for _ in range(10):
            verdict = limiter.judge("10.9.9.9")
            with lock:
                results.append(verdict)

    threads = [threading.Thread(target=guess, args=(lim,)) for lim in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counted = [r for r in results if r[0] is None]
    assert len(counted) == 10  # 401s: the limit, in total
    assert sum(started for _, started in results) == 1
    assert len(results) - len(counted) == 30  # the rest: 429


def test_the_table_is_pruned(backend_for):
    a, _, clock = limiters(backend_for, limit=5, window=60.0)
    for i in range(200):
        a.judge(f"192.0.2.{i}")
    assert len(a) == 200
    clock.now += 121  # two windows later the next failure prunes the others' rows
    a.judge("198.51.100.1")
    assert len(a) == 1


def test_no_valid_limit_means_no_database_work(backend_for):
    a, _, _ = limiters(backend_for, limit=0)
    assert a.judge("x") == (None, False)
    assert a.retry_after("x") is None
    assert len(a) == 0


def test_database_down_falls_back_to_counting_here(backend_for, caplog, monkeypatch):
    a, _, _ = limiters(backend_for, limit=2)

    def down(*args):
        raise OperationalError("SELECT", {}, ConnectionError("connection refused"))

    monkeypatch.setattr(a, "_count", down)
    assert a.judge("x") == (None, False)
    assert a.judge("x") == (None, True)
    assert a.judge("x") == (60, False)
    assert "counted in this process only" in caplog.text
    assert caplog.text.count("counted in this process only") == 1  # once a minute
