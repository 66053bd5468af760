"""``GET usage`` and ``budgets``: what the proxy was used for, and the limits on it.

For the current user, with Jupyter's usual authentication (token or login
cookie, CORS as every other route): usage holds no key, prompt or answer.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from open_notebook_ext.http.base import OpenNotebookHandler
from open_notebook_ext.proxy.shared_usage import SharedBudgets
from open_notebook_ext.proxy.store import parse_since


class UsageHandler(OpenNotebookHandler):
    """``GET usage?group_by=credential|notebook|model|day&since=&credential_id=``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        group_by = self.get_query_argument("group_by", "credential")
        credential_id = self.get_query_argument("credential_id", None) or None
        try:
            since = parse_since(self.get_query_argument("since", None))
        except Exception as e:
            raise self._api_error(e) from None
        # on a worker thread: this server's unwritten usage rows are written first
        rows = await self.call(
            self.services.provider_proxy.usage.summary,
            self.owner,
            group_by,
            since,
            credential_id,
            self.groups,
        )
        self.send_json({"group_by": group_by, "since": since.isoformat(), "rows": rows})


class _BudgetHandlerBase(OpenNotebookHandler):
    def audit_budget(self, action: str, budget: dict[str, Any]) -> None:
        self.audit(
            "budget",
            action=action,
            budget_id=budget["id"],
            credential_id=budget["credential_id"],
            notebook_path=budget["notebook_path"],
            requests_per_day=budget["requests_per_day"],
            tokens_per_day=budget["tokens_per_day"],
        )


class BudgetsHandler(_BudgetHandlerBase):
    """``GET budgets[?credential_id=]``, ``PUT budgets`` (set one, by credential and notebook).

    A member of hub groups also gets the budgets admins set on their groups'
    credentials (``per_user``, ``group``), which their ``PUT`` and ``DELETE`` cannot reach."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        credential_id = self.get_query_argument("credential_id", None) or None
        budgets = self.services.provider_proxy.budgets
        found = await self.read(budgets.list, self.owner, credential_id)
        if self.groups:  # then, read-only, the admins' per-user budgets of their groups' keys
            shared = SharedBudgets(budgets, self.services.shared)
            found += await self.read(shared.for_groups, self.groups, credential_id)
        self.send_json(found)

    @web.authenticated
    @authorized
    async def put(self) -> None:
        budget, created = await self.call(
            self.services.provider_proxy.budgets.put, self.owner, self.read_json()
        )
        self.audit_budget("set", budget)
        self.send_json(budget, status=201 if created else 200)


class BudgetHandler(_BudgetHandlerBase):
    @web.authenticated
    @authorized
    async def delete(self, budget_id: str) -> None:
        budget = await self.call(self.services.provider_proxy.budgets.delete, self.owner, budget_id)
        self.audit_budget("removed", budget)
        self.send_json({"message": "Budget removed", **budget})
