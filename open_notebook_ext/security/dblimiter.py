"""Failed-authentication limiting counted in the database: one count for every server.

:class:`AuthFailureLimiter` (``security/identity.py``) counts per process, so N service
replicas behind a load balancer would let an address make N times the limit of guesses.
:class:`DatabaseAuthLimiter` keeps the count in ``on_auth_failures`` (migration 0008),
one row per client address, with the same semantics: ``limit`` wrong tokens within
``window`` seconds (a sliding window), then every wrong token from that address is
answered 429 with ``Retry-After`` until ``window`` seconds after the failure that
reached the limit, and not counted meanwhile. A valid token is never judged by it.

One wrong token is one short write transaction: an upsert that takes the address's row
lock (PostgreSQL) or the write lock (SQLite, ``BEGIN IMMEDIATE``), so concurrent
failures on several replicas are counted one after the other and the block starts at
the limit exactly; then one UPDATE. A block this process has seen is remembered here
until it ends, so a blocked address's further guesses cost no database round trip.
The times are wall-clock seconds (``time.time``): replicas on several hosts need their
clocks in sync (NTP), as they do for the budgets' UTC days.

The table stays small: at most once per ``window`` a failure's transaction also deletes
the rows whose last failure and block are over, so it holds the addresses that failed
within about the last two windows. If the database cannot be reached, the failure is
counted by a per-process limiter instead (and logged once a minute), so guessing is
never unlimited and authentication never fails because of the limiter.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from open_notebook_ext.db.orm import AuthFailures
from open_notebook_ext.security.identity import AuthFailureLimiter

if TYPE_CHECKING:
    from open_notebook_ext.db.engine import Database

_TABLE = cast(Table, AuthFailures.__table__)  # the ORM types it as any FromClause
_OUTAGE_LOG_SECONDS = 60.0


def _times(text: str) -> list[float]:
    return [float(t) for t in text.split()]


class DatabaseAuthLimiter:
    """Per-address failed-authentication counter shared through the database."""

    blocking = True  # judge() does I/O: run it on a worker thread (http/auth.py)

    def __init__(
        self,
        db: Database,
        limit: int = 10,
        window: float = 60.0,
        max_tracked: int = 10_000,
        clock: Callable[[], float] = time.time,
        log: logging.Logger | None = None,
    ) -> None:
        self.db = db
        self.limit = limit
        self.window = window
        self.max_tracked = max_tracked
        self.clock = clock
        self.log = log or logging.getLogger(__name__)
        # blocks seen here: address -> when it ends (bounded as the in-memory limiter)
        self._blocked: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._pruned_at = 0.0
        self._outage_logged_at = -math.inf
        self.fallback = AuthFailureLimiter(limit, window, max_tracked)
        self._upsert = self._upsert_statement(db.backend)
        # a Core connection (no ORM session); SQLite's write lock taken at BEGIN
        self._writer = db.engine.execution_options(sqlite_begin="IMMEDIATE")

    @staticmethod
    def _upsert_statement(backend: str) -> Any:
        insert = postgresql.insert if backend == "postgresql" else sqlite.insert
        statement = insert(_TABLE).values(failures="", blocked_until=0.0)
        return statement.on_conflict_do_update(
            index_elements=[_TABLE.c.address], set_={"updated": statement.excluded.updated}
        ).returning(_TABLE.c.failures, _TABLE.c.blocked_until)

    def __len__(self) -> int:
        """Addresses in the table (tests and operators; not used per request)."""
        with self.db.connect() as conn:
            return len(conn.execute(_TABLE.select()).all())

    def _known_block(self, address: str, now: float) -> int | None:
        with self._lock:
            until = self._blocked.get(address)
            if until is None:
                return None
            if until <= now:
                del self._blocked[address]
                return None
            return max(1, math.ceil(until - now))

    def _remember_block(self, address: str, until: float) -> None:
        with self._lock:
            self._blocked[address] = until
            self._blocked.move_to_end(address)
            while len(self._blocked) > self.max_tracked:
                self._blocked.popitem(last=False)

    def judge(self, address: str) -> tuple[int | None, bool]:
        """One wrong token from ``address``: (seconds to wait, when it is blocked and the
        failure is not counted; else None, and whether this failure starts a block)."""
        if self.limit <= 0:
            return None, False
        now = self.clock()
        known = self._known_block(address, now)
        if known is not None:
            return known, False
        try:
            retry_after, started, until = self._count(address, now)
        except SQLAlchemyError as e:
            if now - self._outage_logged_at >= _OUTAGE_LOG_SECONDS:
                self._outage_logged_at = now
                self.log.warning(
                    "Failed authentication counted in this process only: the database "
                    "cannot be reached (%s)",
                    type(e).__name__,
                )
            return self.fallback.judge(address)
        if until > now:
            self._remember_block(address, until)
        return retry_after, started

    def _count(self, address: str, now: float) -> tuple[int | None, bool, float]:
        with self._writer.begin() as s:
            failures_text, blocked_until = s.execute(
                self._upsert, {"address": address, "updated": now}
            ).one()
            if blocked_until > now:
                return max(1, math.ceil(blocked_until - now)), False, blocked_until
            failures = [t for t in _times(failures_text) if t > now - self.window]
            failures.append(now)
            started = len(failures) >= self.limit
            values: dict[str, Any] = (
                {"failures": "", "blocked_until": now + self.window}
                if started
                else {"failures": " ".join(repr(t) for t in failures[-self.limit :])}
            )
            s.execute(update(_TABLE).where(_TABLE.c.address == address).values(**values))
            if now - self._pruned_at >= self.window:
                self._pruned_at = now
                s.execute(
                    delete(_TABLE).where(
                        _TABLE.c.updated < now - self.window,
                        _TABLE.c.blocked_until < now,
                        _TABLE.c.address != address,
                    )
                )
            return None, started, values.get("blocked_until", 0.0)

    def retry_after(self, address: str) -> int | None:
        """Seconds until ``address`` may try again, or None (one read; not per request)."""
        if self.limit <= 0:
            return None
        now = self.clock()
        known = self._known_block(address, now)
        if known is not None:
            return known
        with self.db.connect() as conn:
            until = conn.execute(
                _TABLE.select()
                .with_only_columns(_TABLE.c.blocked_until)
                .where(_TABLE.c.address == address)
            ).scalar()
        return max(1, math.ceil(until - now)) if until is not None and until > now else None

    def record_failure(self, address: str) -> bool:
        """Count one failure; True when it starts a block (as the in-memory limiter)."""
        return self.judge(address)[1]


def share(app: Any) -> None:
    """Count ``app``'s failed authentication in its database when
    ``shared_rate_limits`` says so (by default in hub service mode: its replicas), from
    ``OpenNotebookApp.finish_start``, once the database is open."""
    shared = app.shared_rate_limits
    if shared is None:
        shared = bool(getattr(app.server.identity_provider, "shared_rate_limits", False))
    if not shared or app.auth_failure_limit <= 0:
        return
    app.auth_limiter = DatabaseAuthLimiter(
        app.db,
        app.auth_failure_limit,
        app.auth_failure_window,
        app.auth_failure_max_tracked,
        log=app.log,
    )
    app.requests = dataclasses.replace(app.requests, auth_limiter=app.auth_limiter)
