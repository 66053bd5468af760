"""Per-user budgets on a group's credential, counted in the database: two service replicas
(two backends on one database) see the same use, and one member's use is not another's."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from cryptography.fernet import Fernet

from open_notebook_ext.proxy.budgets import BudgetStore
from open_notebook_ext.proxy.shared_usage import SharedBudgets, usage_by_user
from open_notebook_ext.proxy.store import UsageStore
from open_notebook_ext.vault.membership import group_owner
from open_notebook_ext.vault.shared import SharedCredentials
from support.leaks import random_api_key


def stores(backend):
    usage = UsageStore(backend.db)
    budgets = BudgetStore(backend.db, usage)
    shared = SharedCredentials(backend.credentials)
    return usage, budgets, SharedBudgets(budgets, shared), shared


def call(usage: UsageStore, user: str, cid: str, tokens: int = 10) -> None:
    usage.record(
        user,
        credential_id=cid,
        notebook_path="a.ipynb",
        provider="openai",
        model="gpt-test",
        status=200,
        latency_ms=1.0,
        input_tokens=tokens,
        output_tokens=0,
    )


def test_replicas_agree_on_each_members_budget(backend_for):
    key = Fernet.generate_key().decode()
    one, two = backend_for(key), backend_for(key)
    usage_1, _, admin_1, shared_1 = stores(one)
    usage_2, budgets_2, _, _ = stores(two)
    cid = shared_1.admin_create(
        {"group": "class1", "name": "K", "provider": "openai", "api_key": random_api_key()}
    )["id"]
    budget, created = admin_1.put(
        {"credential_id": cid, "requests_per_day": 2, "tokens_per_day": 25}
    )
    assert created and budget["per_user"] and budget["group"] == "class1"
    owner = group_owner("class1")
    call(usage_1, "alice", cid)
    assert budgets_2.check("alice", cid, ["a.ipynb"], owner) is None
    call(usage_2, "alice", cid)  # the other replica's call counts the same
    hit = budgets_2.check("alice", cid, ["a.ipynb"], owner)
    assert hit is not None and hit.limit == "requests_per_day" and hit.used == 2
    # bob's day is his own, on either replica
    assert budgets_2.check("bob", cid, [], owner) is None
    call(usage_1, "bob", cid, tokens=30)
    hit = budgets_2.check("bob", cid, [], owner)
    assert hit is not None and hit.limit == "tokens_per_day" and hit.used == 30
    # without the group's owner (a member's own budgets) nothing applies
    assert budgets_2.check("alice", cid, [], None) is None
    since = datetime.now(timezone.utc) - timedelta(days=1)
    report = usage_by_user(usage_2, since)
    assert {(r["user"], r["requests"], r["input_tokens"]) for r in report} == {
        ("alice", 2, 20),
        ("bob", 1, 30),
    }
    assert usage_by_user(usage_2, since, group="others") == []
