"""Usage rows of proxied calls, written in batches off the event loop.

Every proxied call makes one row (``proxy/metering.py``). Written one by one, each was a
transaction of its own on a worker thread, competing with the next call for the GIL:
about 0.4 ms of every call's added latency (``make bench``). Here a call only appends
its row; a thread writes what has gathered ``flush_seconds`` after the first row
(or at once when ``max_rows`` are waiting) in one transaction.

Nothing that counts usage misses a row meanwhile: budget checks add this process's
rows not yet written (:meth:`counted`: the database's count plus these, each row
once), and the usage API writes them before it reads. Rows wait at most
``flush_seconds`` (0.1 s by default) in memory: a clean shutdown writes them
(``close``); a crash of the server loses at most that much usage, never a credential
or a budget. Several servers on one database see each other's rows once written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError

Row = dict[str, Any]


class UsageBuffer:
    """Rows waiting to be written, and the thread that writes them."""

    def __init__(
        self,
        write: Callable[[list[Row]], None],
        *,
        flush_seconds: float,
        max_rows: int = 512,
        log: Any = None,
    ) -> None:
        self._write = write
        self.flush_seconds = flush_seconds
        self.max_rows = max_rows
        self.log = log
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: list[Row] = []
        self._writing: list[Row] = []  # the batch being written (counted until committed)
        self._flushing = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- on the event loop ---------------------------------------------------------------

    def add(self, row: Row) -> None:
        """Queue one row (written within ``flush_seconds``)."""
        if self.flush_seconds <= 0:
            self._write_batch([row])
            return
        with self._lock:
            if self._closed:
                pass  # after close (shutdown): written below, at once
            else:
                self._pending.append(row)
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="open-notebook-usage", daemon=True
                    )
                    self._thread.start()
                if len(self._pending) in (1, self.max_rows):  # the first, or a full batch
                    self._wake.notify()
                return
        self._write_batch([row])

    def unwritten(self, match: Callable[[Row], bool]) -> tuple[int, int]:
        """(rows, tokens) of this process's rows not yet in the database that ``match``."""
        with self._lock:
            rows = [r for r in (*self._writing, *self._pending) if match(r)]
        tokens = sum((r.get("input_tokens") or 0) + (r.get("output_tokens") or 0) for r in rows)
        return len(rows), tokens

    def counted(
        self, read: Callable[[], tuple[int, int]], match: Callable[[Row], bool]
    ) -> tuple[int, int]:
        """``read()`` (requests, tokens from the database) plus the unwritten rows that
        ``match``: while it reads, no batch is being committed, so each row is counted
        once (a budget check waits for a write in progress, one transaction at most)."""
        with self._flushing:
            extra_rows, extra_tokens = self.unwritten(match)
            requests, tokens = read()
        return requests + extra_rows, tokens + extra_tokens

    # -- on a thread ---------------------------------------------------------------------

    def flush(self) -> None:
        """Write every waiting row now (the usage API calls this before it reads)."""
        with self._flushing:
            with self._lock:
                batch, self._pending = self._pending, []
                self._writing = batch
            try:
                if batch:
                    self._write_batch(batch)
            finally:
                with self._lock:
                    self._writing = []

    def close(self) -> None:
        """Write what is waiting and stop the thread (server shutdown)."""
        with self._lock:
            self._closed = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=10)
        self.flush()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                # gather the rows of the next flush_seconds, unless a batch is full first
                deadline = time.monotonic() + self.flush_seconds
                while len(self._pending) < self.max_rows and not self._closed:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._wake.wait(left)
            self.flush()

    def _write_batch(self, batch: list[Row]) -> None:
        try:
            self._write(batch)
        except IntegrityError:
            # a credential deleted since its call (its usage went with it): the rest
            # are written one by one
            for row in batch:
                try:
                    self._write([row])
                except Exception as e:
                    self._warn(1, e)
        except Exception as e:
            self._warn(len(batch), e)

    def _warn(self, rows: int, e: Exception) -> None:
        if self.log is not None:
            self.log.warning(
                "Could not record the usage of %d proxied call(s): %s", rows, type(e).__name__
            )
