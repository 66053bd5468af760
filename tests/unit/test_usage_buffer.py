"""Usage rows written in batches (proxy/usage_buffer.py): none lost, none counted twice."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.exc import IntegrityError

from open_notebook_ext.proxy.usage_buffer import UsageBuffer


class Table:
    """Stands for the usage table: what was written, batch by batch."""

    def __init__(self, refuse: set[int] | None = None, delay: float = 0.0) -> None:
        self.batches: list[list[dict]] = []
        self.refuse = refuse or set()
        self.delay = delay
        self.lock = threading.Lock()

    def write(self, rows: list[dict]) -> None:
        if any(r["n"] in self.refuse for r in rows):
            raise IntegrityError("INSERT", {}, Exception("FOREIGN KEY constraint failed"))
        time.sleep(self.delay)
        with self.lock:
            self.batches.append(list(rows))

    def rows(self) -> list[dict]:
        with self.lock:
            return [r for b in self.batches for r in b]

    def count(self) -> tuple[int, int]:
        rows = self.rows()
        return len(rows), sum(r["input_tokens"] + r["output_tokens"] for r in rows)


def row(n: int, owner: str = "alice") -> dict:
    return {"n": n, "owner": owner, "input_tokens": 2, "output_tokens": 3}


def wait_for(check, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.005)
    return check()


def test_rows_gather_and_are_written_in_one_transaction():
    table = Table()
    buffer = UsageBuffer(table.write, flush_seconds=0.2)
    for n in range(20):
        buffer.add(row(n))
    assert table.rows() == []  # not yet: they gather for flush_seconds
    assert wait_for(lambda: len(table.rows()) == 20)
    assert len(table.batches) == 1
    assert [r["n"] for r in table.rows()] == list(range(20))
    buffer.close()


def test_a_full_batch_is_written_at_once():
    table = Table()
    buffer = UsageBuffer(table.write, flush_seconds=30, max_rows=10)
    for n in range(10):
        buffer.add(row(n))
    assert wait_for(lambda: len(table.rows()) == 10, timeout=5)  # long before 30 s
    buffer.close()


def test_zero_seconds_writes_each_row_as_it_comes():
    table = Table()
    buffer = UsageBuffer(table.write, flush_seconds=0)
    buffer.add(row(1))
    assert table.rows() == [row(1)]


def test_close_writes_what_is_waiting():
    table = Table()
    buffer = UsageBuffer(table.write, flush_seconds=30)
    for n in range(5):
        buffer.add(row(n))
    buffer.close()
    assert [r["n"] for r in table.rows()] == list(range(5))
    buffer.add(row(99))  # after close (shutdown): written at once, not lost
    assert table.rows()[-1]["n"] == 99


def test_counted_adds_the_unwritten_rows_that_match():
    table = Table()
    buffer = UsageBuffer(table.write, flush_seconds=30)
    for n in range(3):
        buffer.add(row(n))
    buffer.add(row(3, owner="bob"))
    mine = buffer.counted(table.count, lambda r: r["owner"] == "alice")
    assert mine == (3, 15)
    buffer.flush()
    # written now: counted from the table (all owners there: the fake table's count),
    # and nothing left unwritten
    assert buffer.unwritten(lambda r: True) == (0, 0)
    assert buffer.counted(table.count, lambda r: r["owner"] == "alice") == (4, 20)
    buffer.close()


def test_no_row_is_counted_twice_or_missed_while_batches_commit():
    """Counting while rows come in and a slow writer commits them in batches: each
    count lies between the rows added before it began and those added when it ended
    (a row counted twice would go over; one missed, under)."""
    table = Table(delay=0.002)
    buffer = UsageBuffer(table.write, flush_seconds=0.001)
    total, added = 400, [0]

    def produce() -> None:
        for n in range(total):
            buffer.add(row(n))
            added[0] += 1
            if n % 10 == 0:
                time.sleep(0.001)

    producer = threading.Thread(target=produce)
    producer.start()
    counts = 0
    while producer.is_alive() or buffer.unwritten(lambda r: True)[0]:
        low = added[0]
        requests, tokens = buffer.counted(table.count, lambda r: True)
        high = added[0]
        assert low <= requests <= high, (low, requests, high)
        assert tokens == requests * 5
        counts += 1
    producer.join()
    assert buffer.counted(table.count, lambda r: True) == (total, total * 5)
    assert len(table.batches) > 1 and counts > 10  # it did count across commits
    buffer.close()


def test_a_row_of_a_deleted_credential_does_not_lose_the_batch(caplog):
    table = Table(refuse={2})
    log = logging.getLogger("test-usage-buffer")
    buffer = UsageBuffer(table.write, flush_seconds=30, log=log)
    for n in range(5):
        buffer.add(row(n))
    with caplog.at_level(logging.WARNING, logger="test-usage-buffer"):
        buffer.flush()
    assert [r["n"] for r in table.rows()] == [0, 1, 3, 4]
    assert "Could not record the usage of 1 proxied call(s): IntegrityError" in caplog.text
    assert "alice" not in caplog.text  # no row's values in the log
    buffer.close()
