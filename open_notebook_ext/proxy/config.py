"""The provider proxy's settings (``c.ProviderProxy.*``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Float, Int, TraitError, validate
from traitlets.config import LoggingConfigurable

if TYPE_CHECKING:
    from open_notebook_ext.proxy.pool import ConnectionPool


class ProviderProxy(LoggingConfigurable):
    """Settings of ``open-notebook/api/proxy/{credential_id}/{path}``."""

    timeout = Float(
        600.0,
        config=True,
        help="""Seconds one proxied call may take in all, streamed answers included
        (504 before the answer starts; the stream is cut after). Also the time the
        request body may take to arrive.""",
    )

    connect_timeout = Float(
        10.0,
        config=True,
        help="Seconds to resolve the provider's host and connect to it (TLS included).",
    )

    max_request_bytes = Int(
        32 * 1024 * 1024,
        config=True,
        help="""Largest request body the proxy forwards (413 above it): model calls with
        images or audio are larger than the other routes' limit (max_body_bytes).""",
    )

    keep_alive_seconds = Float(
        30.0,
        config=True,
        help="""Seconds an idle connection to a provider is kept for the next call to the
        same host name, port and checked address (each call's URL is still checked; an
        address that changed gets a new connection). 0: a new connection for each call.""",
    )

    usage_flush_seconds = Float(
        0.1,
        config=True,
        help="""Seconds the usage rows of proxied calls gather in memory before they are
        written in one transaction (budget checks and the usage API count them
        meanwhile; a server that crashes loses at most this much usage). 0: each call's
        row is written as the call ends.""",
    )

    @validate("usage_flush_seconds")
    def _valid_flush(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if not 0 <= value <= 60:
            raise TraitError("c.ProviderProxy.usage_flush_seconds must be between 0 and 60")
        return value

    _pool: Any = None

    def connections(self) -> ConnectionPool | None:
        """The kept-alive provider connections (None when keep_alive_seconds is 0);
        made on the server's event loop, where they are used."""
        if self.keep_alive_seconds <= 0:
            return None
        if self._pool is None:
            from open_notebook_ext.proxy.pool import ConnectionPool

            self._pool = ConnectionPool(self.keep_alive_seconds)
        pool: ConnectionPool = self._pool
        return pool

    def close_connections(self) -> None:
        """Drop the kept-alive provider connections; write the usage rows waiting."""
        if self._pool is not None:
            self._pool.close()
        usage = getattr(self, "usage", None)
        if usage is not None:
            usage.buffer.close()

    def open(self, db: Any) -> ProviderProxy:
        """Attach the usage and budget stores of database ``db``."""
        from open_notebook_ext.proxy.budgets import BudgetStore
        from open_notebook_ext.proxy.store import UsageStore

        self.usage = UsageStore(db, flush_seconds=self.usage_flush_seconds, log=self.log)
        self.budgets = BudgetStore(db, self.usage)
        return self
