"""Budgets and usage on the proxy route: a spent budget is refused before the call
(429 in the providers' shape, an audit event), and each call is counted after its
answer went out (a usage row; a failure to write it is logged, never the call's).
"""

from __future__ import annotations

import functools
import time
from typing import Any

from open_notebook_ext.http.base import ApiError
from open_notebook_ext.proxy.usage import UsageReader
from open_notebook_ext.vault.membership import group_owner
from open_notebook_ext.vault.secret_handlers import SecretHandlerBase


class MeteredHandler(SecretHandlerBase):
    """A secret route whose calls count against budgets and are recorded as usage."""

    async def _check_budget(self, credential: dict[str, Any]) -> None:
        """429 in the providers' shape (the SDKs raise their rate-limit error with this
        message, and do not retry: ``x-should-retry: false``) when a budget is spent."""
        reader = self.reader
        group = credential.get("group")  # a group's credential: the admin's budgets, per user
        hit = await self.read(
            self.services.provider_proxy.budgets.check,
            reader.owner,
            credential["id"],
            reader.paths,
            group_owner(group) if group else None,
        )
        if hit is None:
            return
        where = (
            f"notebook {hit.budget['notebook_path']!r}"
            if hit.budget["notebook_path"]
            else "each user of group " + repr(group)
            if group
            else "all notebooks"
        )
        unit = "requests" if hit.limit == "requests_per_day" else "tokens"
        self.services.audit.emit(
            "budget",
            action="exceeded",
            owner=reader.owner,
            client=self.client_address,
            credential_id=credential["id"],
            credential_name=credential["name"],
            provider=credential["provider"],
            notebook_path=reader.notebook,
            kernel_id=reader.kernel.kernel_id if reader.kernel else None,
            budget_id=hit.budget["id"],
            group=group,
            limit=hit.limit,
            allowed=hit.allowed,
            used=hit.used,
        )
        raise ApiError(
            429,
            (
                f"Budget exceeded: credential {credential['name']!r} allows {hit.allowed} {unit} "
                f"per day for {where} through the proxy, and {hit.used} were used today. It "
                f"resets at 00:00 UTC (in {hit.retry_after} s)."
            ),
            headers={"Retry-After": str(hit.retry_after)},
        )

    async def _record(
        self,
        credential: dict[str, Any],
        model: str | None,
        status: int,
        usage_read: UsageReader,
        started: float,
    ) -> None:
        """One usage row (after the answer went out: it adds nothing to the call's time),
        queued for the next batch (proxy/usage_buffer.py), or written on a worker thread
        when batches are off (``usage_flush_seconds = 0``)."""
        usage = self.services.provider_proxy.usage
        record = functools.partial(
            usage.record,
            self.reader.owner,
            credential_id=credential["id"],
            notebook_path=self.reader.notebook,
            provider=credential["provider"],
            model=model,
            status=status,
            latency_ms=(time.monotonic() - started) * 1000.0,
            input_tokens=usage_read.input_tokens,
            output_tokens=usage_read.output_tokens,
        )
        try:
            if usage.buffer.flush_seconds > 0:
                record()
            else:
                await self.call(record)
        except Exception as e:
            self.log.warning(
                "Could not record the usage of a proxied call to credential %s: %s",
                credential["id"],
                type(e).__name__,
            )
