"""Budgets an admin sets on a group's credential, and that credential's usage per user.

A budget on a group's credential is a ``on_proxy_budgets`` row owned by the group
(``group/<name>``) for the whole credential (``notebook_path`` ""); the proxy applies it
to each member separately, counting that member's own usage rows
(``BudgetStore.check`` with ``budget_owner``), so one member's calls never use up
another's day. Both live in the database, so every replica of the service agrees.
Members cannot change or remove it: their budget routes are scoped to their own rows.

Usage per user reads the usage rows of groups' credentials: counts and token sums by
user, credential and UTC day; never a key, a prompt or an answer.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select

from open_notebook_ext.db.orm import Credential, ProxyBudget, ProxyUsage
from open_notebook_ext.errors import InvalidInput, NotFound
from open_notebook_ext.proxy.budgets import BUDGET_NOT_FOUND, BudgetStore
from open_notebook_ext.proxy.store import UsageStore
from open_notebook_ext.vault.membership import GROUP_OWNER_PREFIX, group_of, group_owner
from open_notebook_ext.vault.shared import SharedCredentials

PER_USER_ONLY = (
    "a budget on a group's credential applies to each member, in every notebook: "
    "notebook_path is not accepted"
)


class SharedBudgets:
    def __init__(self, budgets: BudgetStore, shared: SharedCredentials) -> None:
        self.budgets = budgets
        self.shared = shared
        self.db = budgets.db

    @staticmethod
    def _marked(budget: dict[str, Any], owner: str) -> dict[str, Any]:
        return {**budget, "group": group_of(owner), "per_user": True}

    def put(self, payload: Any) -> tuple[dict[str, Any], bool]:
        if not isinstance(payload, dict):
            raise InvalidInput([{"field": "", "message": "request body must be a JSON object"}])
        if payload.get("notebook_path"):
            raise InvalidInput([{"field": "notebook_path", "message": PER_USER_ONLY}])
        credential_id = payload.get("credential_id")
        if not isinstance(credential_id, str) or not credential_id.strip():
            raise InvalidInput(
                [{"field": "credential_id", "message": "must be a non-blank string"}]
            )
        owner = self.shared.owner_of(credential_id)
        budget, created = self.budgets.put(owner, {**payload, "notebook_path": ""})
        return self._marked(budget, owner), created

    def list(
        self, credential_id: str | None = None, group: str | None = None
    ) -> builtins.list[dict[str, Any]]:
        query = select(ProxyBudget.owner).distinct()
        if group is not None:
            query = query.where(ProxyBudget.owner == group_owner(group))
        else:
            query = query.where(ProxyBudget.owner.startswith(GROUP_OWNER_PREFIX))
        with self.db.session() as s:
            owners = sorted(s.scalars(query))
        return [
            self._marked(b, owner)
            for owner in owners
            for b in self.budgets.list(owner, credential_id)
        ]

    def for_groups(
        self, groups: Sequence[str], credential_id: str | None = None
    ) -> builtins.list[dict[str, Any]]:
        """What members see: the per-user budgets of their groups' credentials."""
        return [b for g in sorted(set(groups)) for b in self.list(credential_id, g)]

    def delete(self, budget_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            owner = s.scalar(
                select(ProxyBudget.owner).where(
                    ProxyBudget.id == budget_id,
                    ProxyBudget.owner.startswith(GROUP_OWNER_PREFIX),
                )
            )
        if owner is None:
            raise NotFound(BUDGET_NOT_FOUND)
        return self._marked(self.budgets.delete(owner, budget_id), owner)


def usage_by_user(
    usage: UsageStore, since: datetime, credential_id: str | None = None, group: str | None = None
) -> builtins.list[dict[str, Any]]:
    """Requests, errors (status 400 and up) and tokens per user, group's credential and
    UTC day, since ``since`` (this server's usage rows not yet written are written first)."""
    usage.buffer.flush()
    db = usage.db
    keys = (
        ProxyUsage.day,
        ProxyUsage.owner,
        ProxyUsage.credential_id,
        Credential.name,
        Credential.provider,
        Credential.owner,
    )
    query = (
        select(
            *keys,
            func.count(),
            func.sum(case((ProxyUsage.status >= 400, 1), else_=0)),
            func.coalesce(func.sum(ProxyUsage.input_tokens), 0),
            func.coalesce(func.sum(ProxyUsage.output_tokens), 0),
        )
        .join(Credential, Credential.id == ProxyUsage.credential_id)
        .where(ProxyUsage.created >= since)
    )
    if group is not None:
        query = query.where(Credential.owner == group_owner(group))
    else:
        query = query.where(Credential.owner.startswith(GROUP_OWNER_PREFIX))
    if credential_id is not None:
        query = query.where(ProxyUsage.credential_id == credential_id)
    query = query.group_by(*keys).order_by(
        ProxyUsage.day, ProxyUsage.owner, ProxyUsage.credential_id
    )
    with db.session() as s:
        found = s.execute(query).all()
    return [
        {
            "day": day,
            "user": user,
            "credential_id": cid,
            "credential_name": name,
            "provider": provider,
            "group": group_of(owner),
            "requests": int(requests),
            "errors": int(errors or 0),
            "input_tokens": int(tokens_in or 0),
            "output_tokens": int(tokens_out or 0),
        }
        for day, user, cid, name, provider, owner, requests, errors, tokens_in, tokens_out in found
    ]
