"""``admin/...``: what an admin of the service does with the credentials hub groups share.

Only users whose hub token holds the service's admin scope (``custom:<service>:admin``,
``hub/identity.py``) pass; anyone else gets a 403, and outside service mode there are no
admins. An admin creates a group's credential (``POST admin/credentials`` with the body of
``POST credentials`` and a ``group``), changes (a new key included), lists and deletes
them, sets per-user budgets on them and reads their usage per user. Answers never carry
a key: a group's credential is proxy-only, for its members' proxy calls alone.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from open_notebook_ext.http.base import ApiError, OpenNotebookHandler
from open_notebook_ext.proxy.shared_usage import SharedBudgets, usage_by_user
from open_notebook_ext.proxy.store import parse_since
from open_notebook_ext.vault.membership import is_admin

NOT_ADMIN = (
    "Only admins of this service manage groups' credentials: a hub token with the scope {scope}"
)
NO_ADMINS = "There are no admins outside service mode (jupyter open-notebook hub-service)"


class AdminHandlerBase(OpenNotebookHandler):
    def require_admin(self) -> None:
        if is_admin(self.current_user):
            return
        scope = getattr(self.identity_provider, "admin_scope", None)
        raise ApiError(403, NOT_ADMIN.format(scope=scope) if scope else NO_ADMINS)

    @property
    def shared_budgets(self) -> SharedBudgets:
        return SharedBudgets(self.services.provider_proxy.budgets, self.services.shared)

    def audit_shared(self, action: str, credential: dict[str, Any]) -> None:
        self.audit(
            "credential",
            action=action,
            credential_id=credential["id"],
            credential_name=credential["name"],
            provider=credential["provider"],
            group=credential["group"],
        )

    def audit_budget(self, action: str, budget: dict[str, Any]) -> None:
        self.audit(
            "budget",
            action=action,
            budget_id=budget["id"],
            credential_id=budget["credential_id"],
            group=budget["group"],
            requests_per_day=budget["requests_per_day"],
            tokens_per_day=budget["tokens_per_day"],
        )


class AdminCredentialsHandler(AdminHandlerBase):
    """``GET admin/credentials[?group=]``, ``POST admin/credentials`` (with ``group``)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.require_admin()
        group = self.get_query_argument("group", None) or None
        self.send_json(await self.read(self.services.shared.admin_list, group))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        payload = self.read_json()  # (malformed JSON is a 400 on every route, as elsewhere)
        self.require_admin()
        created = await self.call(self.services.shared.admin_create, payload)
        self.log.info("Created credential %s for group %s", created["id"], created["group"])
        self.audit_shared("created", created)
        self.send_json(created, status=201)


class AdminCredentialHandler(AdminHandlerBase):
    """``GET``, ``PUT`` (a new ``api_key`` rotates it), ``DELETE admin/credentials/{id}``."""

    @web.authenticated
    @authorized
    async def get(self, credential_id: str) -> None:
        self.require_admin()
        self.send_json(await self.read(self.services.shared.admin_get, credential_id))

    @web.authenticated
    @authorized
    async def put(self, credential_id: str) -> None:
        payload = self.read_json()
        self.require_admin()
        updated = await self.call(self.services.shared.admin_update, credential_id, payload)
        self.audit_shared("updated", updated)
        self.send_json(updated)

    @web.authenticated
    @authorized
    async def delete(self, credential_id: str) -> None:
        self.require_admin()
        deleted = await self.call(self.services.shared.admin_delete, credential_id)
        self.audit_shared("deleted", deleted)
        self.send_json({"message": "Credential deleted successfully", **deleted})


class AdminBudgetsHandler(AdminHandlerBase):
    """``GET admin/budgets[?credential_id=&group=]``; ``PUT admin/budgets``: a per-user
    budget (``requests_per_day``, ``tokens_per_day``) on a group's credential."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.require_admin()
        cid = self.get_query_argument("credential_id", None) or None
        group = self.get_query_argument("group", None) or None
        self.send_json(await self.read(self.shared_budgets.list, cid, group))

    @web.authenticated
    @authorized
    async def put(self) -> None:
        payload = self.read_json()
        self.require_admin()
        budget, created = await self.call(self.shared_budgets.put, payload)
        self.audit_budget("set", budget)
        self.send_json(budget, status=201 if created else 200)


class AdminBudgetHandler(AdminHandlerBase):
    @web.authenticated
    @authorized
    async def delete(self, budget_id: str) -> None:
        self.require_admin()
        budget = await self.call(self.shared_budgets.delete, budget_id)
        self.audit_budget("removed", budget)
        self.send_json({"message": "Budget removed", **budget})


class AdminUsageHandler(AdminHandlerBase):
    """``GET admin/usage[?since=&credential_id=&group=]``: per user, credential and day."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.require_admin()
        try:
            since = parse_since(self.get_query_argument("since", None))
        except Exception as e:
            raise self._api_error(e) from None
        usage = self.services.provider_proxy.usage
        # on a worker thread: this server's unwritten usage rows are written first
        rows = await self.call(
            usage_by_user,
            usage,
            since,
            self.get_query_argument("credential_id", None) or None,
            self.get_query_argument("group", None) or None,
        )
        self.send_json({"since": since.isoformat(), "rows": rows})
