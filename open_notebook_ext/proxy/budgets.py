"""Budgets of the provider proxy (``on_proxy_budgets``): requests and tokens per UTC day.

Owner-scoped like every store; no HTTP. Today's use is counted from the usage rows
(``proxy/store.py``: the database's and this server's not yet written); a group's
budgets (an admin's) apply to each member's own use (``budget_owner``).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, select

from open_notebook_ext.db.common import isoformat, new_id
from open_notebook_ext.db.engine import Database
from open_notebook_ext.db.orm import Credential, ProxyBudget, utcnow
from open_notebook_ext.errors import InvalidInput, NotFound
from open_notebook_ext.proxy.store import UsageStore, seconds_to_next_day
from open_notebook_ext.vault.credentials import NOT_FOUND

MAX_LIMIT = 10**12
BUDGET_NOT_FOUND = "Budget not found"
_ANY_BUDGET = (
    select(ProxyBudget.id)
    .where(ProxyBudget.owner == bindparam("owner"), ProxyBudget.credential_id == bindparam("cid"))
    .limit(1)
)


@dataclass(frozen=True)
class BudgetHit:
    budget: dict[str, Any]
    limit: str  # requests_per_day | tokens_per_day
    used: int
    allowed: int
    retry_after: int


def _limit(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_LIMIT:
        raise InvalidInput(
            [{"field": field, "message": f"must be null or an integer between 0 and {MAX_LIMIT}"}]
        )
    return value


class BudgetStore:
    def __init__(self, db: Database, usage: UsageStore) -> None:
        self.db = db
        self.usage = usage

    @staticmethod
    def _json(row: ProxyBudget) -> dict[str, Any]:
        return {
            "id": row.id,
            "credential_id": row.credential_id,
            "notebook_path": row.notebook_path or None,
            "requests_per_day": row.requests_per_day,
            "tokens_per_day": row.tokens_per_day,
            "created": isoformat(row.created),
            "updated": isoformat(row.updated),
        }

    def list(self, owner: str, credential_id: str | None = None) -> list[dict[str, Any]]:
        query = select(ProxyBudget).where(ProxyBudget.owner == owner)
        if credential_id is not None:
            query = query.where(ProxyBudget.credential_id == credential_id)
        with self.db.session() as s:
            return [
                self._json(r)
                for r in s.scalars(
                    query.order_by(ProxyBudget.credential_id, ProxyBudget.notebook_path)
                )
            ]

    def put(self, owner: str, payload: Any) -> tuple[dict[str, Any], bool]:
        """Set the budget of a credential (or of a credential and notebook): (budget, created)."""
        if not isinstance(payload, dict):
            raise InvalidInput([{"field": "", "message": "request body must be a JSON object"}])
        credential_id = payload.get("credential_id")
        if not isinstance(credential_id, str) or not credential_id.strip():
            raise InvalidInput(
                [{"field": "credential_id", "message": "must be a non-blank string"}]
            )
        path = payload.get("notebook_path") or ""
        if not isinstance(path, str):
            raise InvalidInput([{"field": "notebook_path", "message": "must be a string"}])
        if path:
            from open_notebook_ext.validation import normalise_path

            try:
                path = normalise_path(path)
            except ValueError as e:
                raise InvalidInput([{"field": "notebook_path", "message": str(e)}]) from None
        requests = _limit(payload.get("requests_per_day"), "requests_per_day")
        tokens = _limit(payload.get("tokens_per_day"), "tokens_per_day")
        if requests is None and tokens is None:
            raise InvalidInput(
                [
                    {
                        "field": "requests_per_day",
                        "message": "give requests_per_day, tokens_per_day or both",
                    }
                ]
            )
        now = utcnow()
        with self.db.session(write=True) as s:
            if (
                s.scalar(
                    select(Credential.id).where(
                        Credential.owner == owner, Credential.id == credential_id
                    )
                )
                is None
            ):
                raise NotFound(NOT_FOUND)
            row = s.scalar(
                select(ProxyBudget)
                .where(
                    ProxyBudget.owner == owner,
                    ProxyBudget.credential_id == credential_id,
                    ProxyBudget.notebook_path == path,
                )
                .with_for_update()
            )
            created = row is None
            if row is None:
                row = ProxyBudget(
                    id=new_id("budget"),
                    owner=owner,
                    credential_id=credential_id,
                    notebook_path=path,
                    created=now,
                )
                s.add(row)
            row.requests_per_day, row.tokens_per_day, row.updated = requests, tokens, now
            s.flush()
            return self._json(row), created

    def delete(self, owner: str, budget_id: str) -> dict[str, Any]:
        with self.db.session(write=True) as s:
            row = s.scalar(
                select(ProxyBudget).where(ProxyBudget.owner == owner, ProxyBudget.id == budget_id)
            )
            if row is None:
                raise NotFound(BUDGET_NOT_FOUND)
            gone = self._json(row)
            s.execute(delete(ProxyBudget).where(ProxyBudget.id == budget_id))
        return gone

    def check(
        self,
        owner: str,
        credential_id: str,
        notebook_paths: builtins.list[str],
        budget_owner: str | None = None,
    ) -> BudgetHit | None:
        """The first budget this call would exceed (today's use is at or over it), or None.

        Applies the credential-wide budget and those of the calling notebook(s).
        ``budget_owner``: whose budgets apply (a group's credential: the group's, set by
        an admin), each counted against ``owner``'s use alone; default ``owner``'s."""
        holder = budget_owner or owner
        # Every proxied call asks: one small pre-compiled query while there is no budget.
        if not self.db.fetch_all(_ANY_BUDGET, {"owner": holder, "cid": credential_id}):
            return None
        with self.db.session() as s:
            budgets = list(
                s.scalars(
                    select(ProxyBudget).where(
                        ProxyBudget.owner == holder,
                        ProxyBudget.credential_id == credential_id,
                        ProxyBudget.notebook_path.in_(["", *notebook_paths]),
                    )
                )
            )
        for budget in sorted(budgets, key=lambda b: b.notebook_path):
            requests, tokens = self.usage.used_today(
                owner, credential_id, budget.notebook_path or None
            )
            for name, used, allowed in (
                ("requests_per_day", requests, budget.requests_per_day),
                ("tokens_per_day", tokens, budget.tokens_per_day),
            ):
                if allowed is not None and used >= allowed:
                    return BudgetHit(self._json(budget), name, used, allowed, seconds_to_next_day())
        return None
