"""Usage records and budgets of the provider proxy, on both database backends.

Calls go through the in-process server to the fake provider (tests/support/fake_provider.py)
as a Jupyter token holder; the kernel-side rate-limit error is in test_proxy_sdk.py.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest

from support.fake_provider import FakeProvider
from support.leaks import random_api_key


@pytest.fixture
def extension_config():
    return {"allow_private_targets": True}


@pytest.fixture
def fake():
    provider = FakeProvider(random_api_key(), hold=10.0)
    provider.release_event.set()  # streams run straight through here
    yield provider
    provider.close()


async def recorded(api, count: int) -> None:
    """Wait until ``count`` calls are recorded: a call's row is written just after its
    answer went out (so that the write adds nothing to the call's time)."""
    for _ in range(200):
        days = (await api.get("usage?group_by=day")).json["rows"]
        if sum(d["requests"] for d in days) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{count} calls were not recorded")


CHAT = {"model": "gpt-test", "messages": [{"role": "user", "content": "a secret prompt"}]}


async def test_usage_counts_models_and_tokens_never_the_text(api, fake, ext, db_url):
    oa = await api.create_credential(
        name="OA", provider="openai", api_key=fake.expect_key, base_url=f"{fake.url}/v1"
    )
    an = await api.create_credential(
        name="AN", provider="anthropic", api_key=fake.expect_key, base_url=fake.url
    )
    calls = [
        (oa, "chat/completions", CHAT),  # 9 / 5
        (oa, "responses", {"model": "gpt-resp", "input": "a secret prompt"}),  # 7 / 3
        (
            oa,
            "chat/completions",
            {**CHAT, "stream": True, "stream_options": {"include_usage": True}},
        ),  # 13 / 3
        (oa, "chat/completions", {**CHAT, "stream": True}),  # no usage
        (oa, "chat/completions", {**CHAT, "model": "bad-key"}),  # 401
        (
            an,
            "v1/messages",
            {"model": "claude-test", "max_tokens": 5, "messages": CHAT["messages"]},
        ),  # 11 / 4
        (
            an,
            "v1/messages",
            {"model": "claude-test", "max_tokens": 5, "stream": True, "messages": CHAT["messages"]},
        ),  # 21 / 6
    ]
    for cred, path, body in calls:
        r = await api.post(f"proxy/{cred['id']}/{path}", body)
        assert r.status in (200, 401), r
    await recorded(api, len(calls))
    r = await api.get("usage?group_by=credential")
    assert r.status == 200
    by_cred = {row["credential_name"]: row for row in r.json["rows"]}
    assert by_cred["OA"] == {
        "credential": oa["id"],
        "credential_name": "OA",
        "provider": "openai",
        "requests": 5,
        "errors": 1,
        "input_tokens": 9 + 7 + 13,
        "output_tokens": 5 + 3 + 3,
        "mean_latency_ms": by_cred["OA"]["mean_latency_ms"],
    }
    assert (
        by_cred["AN"]["requests"],
        by_cred["AN"]["input_tokens"],
        by_cred["AN"]["output_tokens"],
    ) == (2, 32, 10)
    models = {
        (row["provider"], row["model"]): row["requests"]
        for row in (await api.get("usage?group_by=model")).json["rows"]
    }
    assert models == {
        ("anthropic", "claude-test"): 2,
        ("openai", "bad-key"): 1,
        ("openai", "gpt-resp"): 1,
        ("openai", "gpt-test"): 3,
    }
    today = datetime.now(timezone.utc).date().isoformat()
    days = (await api.get("usage?group_by=day")).json["rows"]
    assert [(d["day"], d["requests"]) for d in days] == [(today, 7)]
    notebooks = (await api.get("usage?group_by=notebook")).json["rows"]
    assert [(n["notebook"], n["requests"]) for n in notebooks] == [(None, 7)]  # token holder
    one = (await api.get(f"usage?group_by=credential&credential_id={an['id']}")).json["rows"]
    assert [row["credential"] for row in one] == [an["id"]]
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).date().isoformat()
    assert (await api.get(f"usage?since={tomorrow}")).json["rows"] == []
    for bad in ("group_by=user", "since=yesterday"):
        r = await api.get(f"usage?{bad}")
        assert r.status == 422, (bad, r)
    # nothing of the prompt or the answers is stored
    from sqlalchemy import text

    with ext.db.engine.connect() as conn:
        stored = json.dumps(
            [list(map(str, row)) for row in conn.execute(text("SELECT * FROM on_proxy_usage"))]
        )
    for text_seen in ("a secret prompt", "hello from", "one two", "three"):
        assert text_seen not in stored


async def test_budgets_refuse_in_the_providers_shape_and_are_audited(api, fake, ext):
    oa = await api.create_credential(
        name="OA", provider="openai", api_key=fake.expect_key, base_url=f"{fake.url}/v1"
    )
    r = await api.put("budgets", {"credential_id": oa["id"], "requests_per_day": 2})
    assert r.status == 201, r
    budget = r.json
    assert (budget["requests_per_day"], budget["tokens_per_day"]) == (2, None)
    for _ in range(2):
        assert (await api.post(f"proxy/{oa['id']}/chat/completions", CHAT)).status == 200
    await recorded(api, 2)
    r = await api.post(f"proxy/{oa['id']}/chat/completions", CHAT)
    assert r.status == 429
    assert r.headers["x-should-retry"] == "false"
    assert 1 <= int(r.headers["Retry-After"]) <= 86401
    assert r.json["error"]["type"] == "rate_limit_error"
    assert r.json["error"]["message"] == r.json["detail"]
    assert "allows 2 requests per day" in r.json["detail"]
    assert len(fake.seen) == 2  # the refused call never reached the provider
    # tokens: 14 per call were used; a budget of 28 tokens is spent too
    r = await api.put(
        "budgets", {"credential_id": oa["id"], "requests_per_day": None, "tokens_per_day": 28}
    )
    assert r.status == 200 and r.json["id"] == budget["id"]
    r = await api.post(f"proxy/{oa['id']}/chat/completions", CHAT)
    assert r.status == 429 and "allows 28 tokens per day" in r.json["detail"]
    r = await api.put("budgets", {"credential_id": oa["id"], "tokens_per_day": 1000})
    assert (await api.post(f"proxy/{oa['id']}/chat/completions", CHAT)).status == 200
    # a notebook's own budget does not limit a token holder (no notebook)
    r = await api.put(
        "budgets", {"credential_id": oa["id"], "notebook_path": "nb.ipynb", "requests_per_day": 0}
    )
    assert r.status == 201 and r.json["notebook_path"] == "nb.ipynb"
    assert (await api.post(f"proxy/{oa['id']}/chat/completions", CHAT)).status == 200
    listed = (await api.get(f"budgets?credential_id={oa['id']}")).json
    assert [b["notebook_path"] for b in listed] == [None, "nb.ipynb"]
    for bad in (
        {"credential_id": oa["id"]},
        {"credential_id": oa["id"], "requests_per_day": -1},
        {"credential_id": oa["id"], "tokens_per_day": "10"},
        {"credential_id": oa["id"], "notebook_path": "a\u202eb.ipynb", "requests_per_day": 1},
    ):
        r = await api.put("budgets", bad)
        assert r.status == 422, (bad, r)
    r = await api.put("budgets", {"credential_id": "credential:nope", "requests_per_day": 1})
    assert r.status == 404
    r = await api.delete(f"budgets/{listed[1]['id']}")
    assert r.status == 200 and r.json["message"] == "Budget removed"
    assert (await api.delete(f"budgets/{listed[1]['id']}")).status == 404
    events = ext.audit.read(owner=ext.owner, limit=100)
    budget_events = [e["action"] for e in events if e["kind"] == "budget"]
    assert budget_events.count("exceeded") == 2
    assert {"set", "removed"} <= set(budget_events)
    exceeded = next(e for e in events if e.get("action") == "exceeded")
    assert exceeded["limit"] == "tokens_per_day" and exceeded["allowed"] == 28
    assert fake.expect_key not in json.dumps(events)


def usage_rows_in_the_database(ext) -> int:
    from sqlalchemy import text

    with ext.db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM on_proxy_usage")).scalar_one())


@pytest.mark.parametrize(
    "extension_config",
    [{"allow_private_targets": True, "ProviderProxy": {"usage_flush_seconds": 30}}],
)
async def test_rows_not_yet_written_count_for_budgets_and_are_written_at_shutdown(
    api, fake, ext, extension_config
):
    """Usage rows gather in memory (usage_flush_seconds) before they are written: a
    budget counts them at once, the usage API writes them before it reads, and so does
    the server's shutdown."""
    oa = await api.create_credential(
        name="OA", provider="openai", api_key=fake.expect_key, base_url=f"{fake.url}/v1"
    )
    assert (
        await api.put("budgets", {"credential_id": oa["id"], "requests_per_day": 1})
    ).status == 201
    assert (await api.post(f"proxy/{oa['id']}/chat/completions", CHAT)).status == 200
    assert usage_rows_in_the_database(ext) == 0  # still waiting (30 s)
    r = await api.post(f"proxy/{oa['id']}/chat/completions", CHAT)
    assert r.status == 429 and "1 were used today" in r.json["detail"], r
    days = (await api.get("usage?group_by=day")).json["rows"]
    assert [d["requests"] for d in days] == [1]  # (a refused call is not a use)
    assert usage_rows_in_the_database(ext) == 1
    # one more, then the server stops: written, not lost
    await api.put("budgets", {"credential_id": oa["id"], "requests_per_day": 100})
    assert (await api.post(f"proxy/{oa['id']}/chat/completions", CHAT)).status == 200
    assert usage_rows_in_the_database(ext) == 1
    ext.provider_proxy.close_connections()  # what stop_extension does first
    assert usage_rows_in_the_database(ext) == 2
