"""The provider proxy's settings (``c.ProviderProxy.*``)."""

from __future__ import annotations

from typing import Any

from traitlets import Float, Int
from traitlets.config import Configurable


class ProviderProxy(Configurable):
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

    def open(self, db: Any) -> ProviderProxy:
        """Attach the usage and budget stores of database ``db``."""
        from open_notebook_ext.proxy.store import BudgetStore, UsageStore

        self.usage = UsageStore(db)
        self.budgets = BudgetStore(db, self.usage)
        return self
