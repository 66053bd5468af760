"""Usage records of the provider proxy (``on_proxy_usage``); budgets: ``proxy/budgets.py``.

Owner-scoped like every store; no HTTP. Days are UTC dates: a budget's day
starts at 00:00 UTC, and ``Retry-After`` counts the seconds to the next one.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import case, func, insert, select

from open_notebook_ext.db.engine import Database
from open_notebook_ext.db.orm import Credential, ProxyUsage, utcnow
from open_notebook_ext.errors import InvalidInput
from open_notebook_ext.proxy.usage_buffer import UsageBuffer
from open_notebook_ext.vault.membership import group_owners

GROUPS = ("credential", "notebook", "model", "day")
DEFAULT_DAYS = 30
_INSERT_USAGE = insert(ProxyUsage)


def utc_day(when: datetime | None = None) -> str:
    return (when or utcnow()).astimezone(timezone.utc).date().isoformat()


def seconds_to_next_day(now: datetime | None = None) -> int:
    now = (now or utcnow()).astimezone(timezone.utc)
    tomorrow = datetime.combine(
        now.date() + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc
    )
    return max(int((tomorrow - now).total_seconds()) + 1, 1)


def parse_since(raw: str | None) -> datetime:
    """``since`` as a UTC date-time: a date (its 00:00 UTC) or an ISO 8601 date-time;
    default the start of the day 30 days ago."""
    if raw is None or not raw.strip():
        start = utcnow().date() - timedelta(days=DEFAULT_DAYS - 1)
        return datetime.combine(start, datetime.min.time(), tzinfo=timezone.utc)
    text = raw.strip()
    try:
        if len(text) == 10:
            return datetime.combine(
                date.fromisoformat(text), datetime.min.time(), tzinfo=timezone.utc
            )
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            [{"field": "since", "message": "must be a date (YYYY-MM-DD) or an ISO 8601 date-time"}]
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


class UsageStore:
    def __init__(self, db: Database, *, flush_seconds: float = 0.0, log: Any = None) -> None:
        self.db = db
        # rows of proxied calls are written in batches (proxy/usage_buffer.py)
        self.buffer = UsageBuffer(self.write_rows, flush_seconds=flush_seconds, log=log)

    def write_rows(self, rows: builtins.list[dict[str, Any]]) -> None:
        """Insert usage rows, in one transaction."""
        self.db.execute_one(_INSERT_USAGE, rows)

    def record(
        self,
        owner: str,
        *,
        credential_id: str,
        notebook_path: str | None,
        provider: str,
        model: str | None,
        status: int,
        latency_ms: float,
        input_tokens: int | None,
        output_tokens: int | None,
    ) -> None:
        now = utcnow()
        # every proxied call makes one: queued, then written in a batch with a Core INSERT
        self.buffer.add(
            {
                "owner": owner,
                "credential_id": credential_id,
                "notebook_path": notebook_path,
                "provider": provider,
                "model": model,
                "status": status,
                "latency_ms": latency_ms,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "day": utc_day(now),
                "created": now,
            },
        )

    def summary(
        self,
        owner: str,
        group_by: str,
        since: datetime,
        credential_id: str | None = None,
        groups: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """Requests, errors (status 400 and up), tokens and mean latency per group
        (``groups``: the owner's hub groups, whose credentials' names are shown too)."""
        self.buffer.flush()  # this server's own calls are all counted
        if group_by not in GROUPS:
            raise InvalidInput(
                [{"field": "group_by", "message": f"must be one of: {', '.join(GROUPS)}"}]
            )
        column = {
            "credential": ProxyUsage.credential_id,
            "notebook": ProxyUsage.notebook_path,
            "model": ProxyUsage.model,
            "day": ProxyUsage.day,
        }[group_by]
        query = select(
            column,
            ProxyUsage.provider if group_by == "model" else column,
            func.count(),
            func.sum(case((ProxyUsage.status >= 400, 1), else_=0)),
            func.coalesce(func.sum(ProxyUsage.input_tokens), 0),
            func.coalesce(func.sum(ProxyUsage.output_tokens), 0),
            func.avg(ProxyUsage.latency_ms),
        ).where(ProxyUsage.owner == owner, ProxyUsage.created >= since)
        if credential_id is not None:
            query = query.where(ProxyUsage.credential_id == credential_id)
        group = [column, ProxyUsage.provider] if group_by == "model" else [column]
        query = query.group_by(*group).order_by(*group)
        with self.db.session() as s:
            rows = s.execute(query).all()
            names = {}
            if group_by == "credential":
                names = {
                    cid: (name, provider)
                    for cid, name, provider in s.execute(
                        select(Credential.id, Credential.name, Credential.provider).where(
                            Credential.owner.in_([owner, *group_owners(groups)])
                        )
                    )
                }
        out = []
        for key, extra, requests, errors, tokens_in, tokens_out, latency in rows:
            item: dict[str, Any] = {
                group_by: key,
                "requests": int(requests),
                "errors": int(errors or 0),
                "input_tokens": int(tokens_in or 0),
                "output_tokens": int(tokens_out or 0),
                "mean_latency_ms": round(float(latency or 0.0), 2),
            }
            if group_by == "credential":
                name, provider = names.get(key, (None, None))
                item.update(credential_name=name, provider=provider)
            elif group_by == "model":
                item["provider"] = extra
            out.append(item)
        return out

    def used_today(
        self, owner: str, credential_id: str, notebook_path: str | None
    ) -> tuple[int, int]:
        """(requests, input + output tokens) today, for one notebook or (None) all."""
        query = select(
            func.count(),
            func.coalesce(
                func.sum(
                    func.coalesce(ProxyUsage.input_tokens, 0)
                    + func.coalesce(ProxyUsage.output_tokens, 0)
                ),
                0,
            ),
        ).where(
            ProxyUsage.owner == owner,
            ProxyUsage.credential_id == credential_id,
            ProxyUsage.day == utc_day(),
        )
        if notebook_path is not None:
            query = query.where(ProxyUsage.notebook_path == notebook_path)

        def read() -> tuple[int, int]:
            with self.db.session() as s:
                requests, tokens = s.execute(query).one()
            return int(requests), int(tokens or 0)

        day = utc_day()

        def match(row: dict[str, Any]) -> bool:
            return (
                row["owner"] == owner
                and row["credential_id"] == credential_id
                and row["day"] == day
                and (notebook_path is None or row["notebook_path"] == notebook_path)
            )

        # the database's rows and this server's not yet written ones
        return self.buffer.counted(read, match)
