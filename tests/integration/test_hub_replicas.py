"""Several service replicas, live (issue 23's "Scale"): a real JupyterHub whose service
entry is externally managed (nginx's ``url`` and an ``api_token``, no ``command``), two
``jupyter-open-notebook hub-service`` replicas started as an operator would, sharing one
PostgreSQL database and one key, and nginx as their round-robin upstream
(support/replicas.py; the operators' guide's "Several replicas").

Through the hub's proxy users' requests reach both replicas (nginx's ``X-Upstream``
names the one that answered) and each user sees only their own rows whichever answers;
a credential made through one replica is listed and used through the other at once; a
per-user budget on a group's key holds across replicas (the SDK's ``RateLimitError`` at
the limit, not at twice it); wrong hub tokens spread over both replicas are blocked at
the configured limit in total (429 with ``Retry-After``); with one replica stopped,
requests keep working through the other.
"""

from __future__ import annotations

import json
import secrets
import statistics
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from integration.test_hub_shared import SHARED_CONFIG

from support.db import rows
from support.fake_provider import FakeProvider
from support.hub import ENCRYPTION_KEY, SERVER_TOKEN, SERVICE, Hub
from support.leaks import random_api_key
from support.pg import PostgresCluster
from support.replicas import PREFIX, Nginx, Replica

DATABASE = "on_hub_replicas"
AUTH_FAILURE_LIMIT = 6
TIMINGS: dict[str, float] = {}
# A budget check counts the database's usage rows and this replica's unwritten ones; the
# other replica's rows are written at most usage_flush_seconds (0.1 s) after each call.
CALL_GAP = 0.3


class Deployment:
    def __init__(self, hub: Hub, replicas: list[Replica], nginx: Nginx, db_url: str) -> None:
        self.hub, self.replicas, self.nginx, self.db_url = hub, replicas, nginx, db_url

    @property
    def addresses(self) -> set[str]:
        return {r.address for r in self.replicas}


def answered_by(r: Any) -> str:
    """The replica nginx sent the request to last ("a, b" when it failed over to b)."""
    return r.headers["X-Upstream"].split(",")[-1].strip()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    provider = FakeProvider(random_api_key(), hold=20.0)
    provider.release_event.set()
    yield provider
    provider.close()


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, pg_cluster: PostgresCluster
) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("replicas")
    db_url = pg_cluster.create_database(DATABASE)
    hub = Hub(root, {}, extra_config=SHARED_CONFIG)
    hub.external_token = secrets.token_hex(32)
    config_dir = root / "service-config"  # the replicas' jupyter_server_config.json
    config_dir.mkdir()
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "OpenNotebookApp": {
                    "allow_private_targets": True,  # the fake provider is on loopback
                    "auth_failure_limit": AUTH_FAILURE_LIMIT,
                }
            }
        )
    )
    # What the hub gives a service it starts, given by hand: the same for every replica
    # but JUPYTERHUB_SERVICE_URL, where each listens (Replica.environment).
    shared_env = {
        "JUPYTERHUB_SERVICE_NAME": SERVICE,
        "JUPYTERHUB_SERVICE_PREFIX": PREFIX,
        "JUPYTERHUB_API_URL": f"http://127.0.0.1:{hub.hub_port}/hub/api",
        "JUPYTERHUB_API_TOKEN": hub.external_token,
        "OPEN_NOTEBOOK_DB_URL": db_url,
        "OPEN_NOTEBOOK_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTER_TOKEN": SERVER_TOKEN,
    }
    replicas = [Replica(root, i, shared_env) for i in (1, 2)]
    nginx = Nginx(root, replicas)
    try:
        started = time.monotonic()
        for replica in replicas:
            replica.start()
        TIMINGS["two replicas start (one after the other)"] = time.monotonic() - started
        nginx.start()
        hub.service_port = nginx.port  # the service entry's url: the load balancer
        hub.start()
        assert hub.started_in is not None
        TIMINGS["hub start (service up behind its proxy)"] = hub.started_in
        yield Deployment(hub, replicas, nginx, db_url)
    finally:
        hub.stop()
        nginx.stop()
        for replica in replicas:
            replica.stop()
        print("\ntest_hub_replicas timings (s):", json.dumps(TIMINGS, indent=1))


@pytest.fixture(scope="module")
def tokens(deployment: Deployment) -> dict[str, str]:
    return {name: deployment.hub.user_token(name) for name in ("alice", "bob", "admin")}


def create(hub: Hub, token: str, name: str, fake: FakeProvider, base: str | None = None) -> Any:
    r = hub.request(
        "POST",
        "credentials",
        {
            "name": name,
            "provider": "openai",
            "api_key": fake.expect_key,
            "base_url": f"{fake.url}/v1",
            "key_access": "proxy",
        },
        token=token,
        base=base,
    )
    assert r.status == 201, r.text
    return r.json


def sdk(base_url: str, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=token, max_retries=0)


def chat(client: openai.OpenAI) -> Any:
    return client.chat.completions.with_raw_response.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}]
    )


def test_users_reach_both_replicas_and_see_only_their_own_rows(deployment, tokens, fake):
    hub = deployment.hub
    mine = {
        name: create(hub, tokens[name], f"{name}'s key", fake)["id"] for name in ("alice", "bob")
    }
    seen: set[str] = set()
    latencies = []
    for _ in range(6):
        for name in ("alice", "bob"):
            started = time.monotonic()
            r = hub.request("GET", "credentials", token=tokens[name])
            latencies.append(time.monotonic() - started)
            assert r.status == 200, r.text
            assert [c["id"] for c in r.json] == [mine[name]]
            seen.add(answered_by(r))
            other = "bob" if name == "alice" else "alice"
            r = hub.request("GET", f"credentials/{mine[other]}", token=tokens[name])
            assert r.status == 404, r.text
            seen.add(answered_by(r))
    assert seen == deployment.addresses
    TIMINGS["GET credentials through hub proxy + nginx + replica, median"] = statistics.median(
        latencies
    )


def test_a_credential_made_on_one_replica_is_on_the_other_at_once(deployment, tokens, fake):
    hub = deployment.hub
    one, two = deployment.replicas
    made = create(hub, tokens["alice"], "made on one", fake, base=one.api_url)
    listed = hub.request("GET", "credentials", token=tokens["alice"], base=two.api_url)
    assert made["id"] in [c["id"] for c in listed.json]
    # used through the other replica at once (the provider proxy, with the SDK)
    raw = chat(sdk(f"{two.api_url}proxy/{made['id']}/", tokens["alice"]))
    assert raw.parse().choices[0].message.content
    # a change on the other replica is seen on the first at once (its list cache follows
    # the database's change counter: vault/listing.py)
    r = hub.request(
        "PUT",
        f"credentials/{made['id']}",
        {"name": "renamed"},
        token=tokens["alice"],
        base=two.api_url,
    )
    assert r.status == 200, r.text
    listed = hub.request("GET", "credentials", token=tokens["alice"], base=one.api_url).json
    assert "renamed" in [c["name"] for c in listed]
    assert hub.request(
        "DELETE", f"credentials/{made['id']}", token=tokens["alice"], base=one.api_url
    ).status in (200, 204)
    listed = hub.request("GET", "credentials", token=tokens["alice"], base=two.api_url).json
    assert made["id"] not in [c["id"] for c in listed]


def test_a_per_user_budget_holds_across_replicas(deployment, tokens, fake):
    hub = deployment.hub
    r = hub.request(
        "POST",
        "admin/credentials",
        {
            "group": "class1",
            "name": "Class key",
            "provider": "openai",
            "api_key": fake.expect_key,
            "base_url": f"{fake.url}/v1",
        },
        token=tokens["admin"],
    )
    assert r.status == 201, r.text
    shared_id = r.json["id"]
    budget = 4
    r = hub.request(
        "PUT",
        "admin/budgets",
        {"credential_id": shared_id, "requests_per_day": budget},
        token=tokens["admin"],
    )
    assert r.status == 201, r.text
    client = sdk(f"{hub.service_url}proxy/{shared_id}/", tokens["alice"])
    outcomes, upstreams, latencies, messages = [], set(), [], []
    for _ in range(budget + 2):
        started = time.monotonic()
        try:
            raw = chat(client)
            outcomes.append("ok")
            upstreams.add(answered_by(raw))
            latencies.append(time.monotonic() - started)
        except openai.RateLimitError as e:
            outcomes.append("rate-limited")
            upstreams.add(answered_by(e.response))
            messages.append(str(e))
        time.sleep(CALL_GAP)
    assert outcomes == ["ok"] * budget + ["rate-limited"] * 2, outcomes
    assert all("each user of group 'class1'" in m for m in messages), messages
    assert upstreams == deployment.addresses  # the calls were spread over both replicas
    TIMINGS["one SDK call through hub proxy + nginx + replica + fake provider, median"] = (
        statistics.median(latencies)
    )
    # Bob's day is his own
    assert chat(sdk(f"{hub.service_url}proxy/{shared_id}/", tokens["bob"])).parse().choices
    time.sleep(CALL_GAP)
    report = hub.request("GET", "admin/usage", token=tokens["admin"]).json["rows"]
    per_user = {(u["user"], u["credential_id"]): u["requests"] for u in report}
    assert per_user == {("alice", shared_id): budget, ("bob", shared_id): 1}


def test_failed_authentication_is_limited_in_total_across_replicas(deployment, tokens):
    hub = deployment.hub
    answers, latencies = [], []
    for i in range(AUTH_FAILURE_LIMIT + 4):
        started = time.monotonic()
        r = hub.request("GET", "credentials", token=f"guess-{i}-{secrets.token_hex(8)}")
        latencies.append(time.monotonic() - started)
        answers.append((r.status, answered_by(r), r.headers.get("Retry-After"), r.json))
    counted = answers[:AUTH_FAILURE_LIMIT]
    blocked = answers[AUTH_FAILURE_LIMIT:]
    # every request comes from the hub's proxy through nginx: one client address
    assert [a[0] for a in counted] == [401] * AUTH_FAILURE_LIMIT, answers
    assert {a[1] for a in counted} == deployment.addresses  # spread over both
    assert [a[0] for a in blocked] == [429] * 4, answers
    assert {a[1] for a in blocked} == deployment.addresses  # both refuse
    assert all(a[3] == {"detail": "Too many failed authentication attempts"} for a in blocked)
    assert all(a[2] is not None and 1 <= int(a[2]) <= 60 for a in blocked)
    # a valid token is never refused by the limiter, on either replica
    for _ in range(4):
        assert hub.request("GET", "credentials", token=tokens["alice"]).status == 200
    assert rows(deployment.db_url, "SELECT address FROM on_auth_failures") == [("127.0.0.1",)]
    TIMINGS["a wrong hub token's answer (401, hub asked), median"] = statistics.median(
        latencies[:AUTH_FAILURE_LIMIT]
    )
    TIMINGS["a blocked address's answer (429), median"] = statistics.median(
        latencies[AUTH_FAILURE_LIMIT:]
    )


def test_one_replica_stopped_the_other_answers(deployment, tokens, fake):
    hub = deployment.hub
    one, two = deployment.replicas
    one.stop()
    try:
        started = time.monotonic()
        for _ in range(6):
            r = hub.request("GET", "credentials", token=tokens["alice"])
            assert r.status == 200, r.text
            assert answered_by(r) == two.address
        made = create(hub, tokens["bob"], "while one is down", fake)
        assert made["id"] in [
            c["id"] for c in hub.request("GET", "credentials", token=tokens["bob"]).json
        ]
        TIMINGS["7 requests with one replica stopped"] = time.monotonic() - started
    finally:
        restarted = time.monotonic()
        one.start()
        TIMINGS["a replica restarts"] = time.monotonic() - restarted
    assert "Traceback" not in two.log
