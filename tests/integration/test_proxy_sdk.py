"""The official ``openai`` and ``anthropic`` SDKs, unchanged, in a real kernel, through the proxy.

A real server (subprocess), real kernels started through its sessions API, and a
fake provider on loopback that answers only to the real key in the provider's
header (tests/support/fake_provider.py). The kernel gets ``secrets.proxy(name)`` and hands
its ``base_url`` and ``api_key`` (the kernel's token) to the SDK.
"""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from support.fake_provider import FakeProvider
from support.kernels import Kernel
from support.leaks import files_under, random_api_key

NOTEBOOK = "work/llm.ipynb"
OTHER = "work/other.ipynb"
KERNEL_TOKEN = "from open_notebook_ext import secrets; print(secrets._config()[1])"


@pytest.fixture
def key():
    return random_api_key()


@pytest.fixture
def fake(key):
    provider = FakeProvider(key, hold=20.0)
    yield provider
    provider.release_event.set()
    provider.close()


@pytest.fixture
def server(server_factory):
    s = server_factory(
        env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": "proxy test passphrase"},
        args=["--OpenNotebookApp.allow_private_targets=True"],
    ).start()
    (s.root / "work").mkdir()
    for path in (NOTEBOOK, OTHER):
        (s.root / path).write_text('{"cells": []}')
    return s


def credentials(server, fake, key) -> tuple[dict, dict]:
    oa = server.api(
        "POST",
        "credentials",
        {
            "name": "OA",
            "provider": "openai",
            "api_key": key,
            "base_url": f"{fake.url}/v1",
            "key_access": "proxy",
        },
    ).json
    an = server.api(
        "POST",
        "credentials",
        {
            "name": "AN",
            "provider": "anthropic",
            "api_key": key,
            "base_url": f"{fake.url}/v1",
            "key_access": "proxy",
        },
    ).json
    assert oa["key_access"] == an["key_access"] == "proxy"
    for cred in (oa, an):
        r = server.api("PUT", "grants", {"credential_id": cred["id"], "notebook_path": NOTEBOOK})
        assert r.status == 201, r.text
    return oa, an


def wait_for_usage(server, count: int) -> list[dict]:
    """Usage per credential once ``count`` calls are recorded (each row is written just
    after its answer went out)."""
    deadline = time.monotonic() + 20
    while True:
        rows = server.api("GET", "usage?group_by=credential").json["rows"]
        if sum(r["requests"] for r in rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


OPENAI_CALLS = """
import json
from openai import OpenAI
from open_notebook_ext import secrets
p = secrets.proxy("OA")
client = OpenAI(base_url=p.base_url, api_key=p.api_key, max_retries=0)
chat = client.chat.completions.create(model="gpt-test",
                                      messages=[{"role": "user", "content": "hi"}])
resp = client.responses.create(model="gpt-resp", input="hi")
models = [m.id for m in client.models.list()]
print(json.dumps({"chat": chat.choices[0].message.content, "usage": chat.usage.prompt_tokens,
                  "responses": resp.output_text, "models": models, "provider": p.provider,
                  "repr": repr(p)}))
"""

# The provider holds the stream after its first event until /release is called: the
# kernel calls it when it has the first chunk, so it got that chunk before the rest
# was sent (a buffering proxy would leave the provider waiting out its hold).
OPENAI_STREAM = """
import json, urllib.request
from openai import OpenAI
from open_notebook_ext import secrets
p = secrets.proxy("OA")
client = OpenAI(base_url=p.base_url, api_key=p.api_key, max_retries=0)
words = []
for chunk in client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True}):
    if not words:
        urllib.request.urlopen("%(fake)s/release", timeout=5).read()
    words.extend(c.delta.content for c in chunk.choices)
    if chunk.usage:
        usage = chunk.usage.completion_tokens
print(json.dumps({"text": "".join(words), "usage": usage}))
"""

ANTHROPIC_CALLS = """
import json, urllib.request
from anthropic import Anthropic
from open_notebook_ext import secrets
p = secrets.proxy("AN")
client = Anthropic(base_url=p.base_url, api_key=p.api_key, max_retries=0)
message = client.messages.create(model="claude-test", max_tokens=10,
                                 messages=[{"role": "user", "content": "hi"}])
texts = []
with client.messages.stream(model="claude-test", max_tokens=10,
                            messages=[{"role": "user", "content": "hi"}]) as stream:
    for i, event in enumerate(stream):  # the first is message_start, then the text
        if i == 0:
            urllib.request.urlopen("%(fake)s/release", timeout=5).read()
        if event.type == "content_block_delta":
            texts.append(event.delta.text)
    final = stream.get_final_message()
print(json.dumps({"message": message.content[0].text, "usage": message.usage.output_tokens,
                  "streamed": "".join(texts), "final_usage": [final.usage.input_tokens,
                                                              final.usage.output_tokens]}))
"""

# The SDKs in a notebook that was not granted the credential: the proxy itself refuses
# (the endpoint is built by hand, past secrets.proxy()'s own check).
UNGRANTED = """
import json
import openai, anthropic
from open_notebook_ext import secrets
token = secrets._config()[1]
base = secrets._config()[0] + "open-notebook/api/proxy/%(cid)s/"
out = {}
try:
    openai.OpenAI(base_url=base, api_key=token, max_retries=0).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}])
except openai.PermissionDeniedError as e:
    out["openai"] = e.message
try:
    anthropic.Anthropic(base_url=base.replace("%(cid)s", "%(an)s"), api_key=token,
                        max_retries=0).messages.create(
        model="claude-test", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
except anthropic.PermissionDeniedError as e:
    out["anthropic"] = e.message
try:
    secrets.proxy("OA")
except secrets.AccessDenied as e:
    out["client"] = str(e)
print(json.dumps(out))
"""

# Budgets spent: the SDKs raise their rate-limit errors with our message, at once (no
# retries: x-should-retry: false), even with the SDKs' default retries on.
OVER_BUDGET = """
import json, time
import openai, anthropic
from open_notebook_ext import secrets
out = {}
p, a = secrets.proxy("OA"), secrets.proxy("AN")
started = time.monotonic()
try:
    openai.OpenAI(base_url=p.base_url, api_key=p.api_key).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}])
except openai.RateLimitError as e:
    out["openai"] = [e.message, e.response.headers.get("retry-after")]
try:
    anthropic.Anthropic(base_url=a.base_url, api_key=a.api_key).messages.create(
        model="claude-test", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
except anthropic.RateLimitError as e:
    out["anthropic"] = [e.message, e.response.headers.get("retry-after")]
out["seconds"] = time.monotonic() - started
print(json.dumps(out))
"""

PROXY_ONLY = """
import json, os
from open_notebook_ext import secrets
out = {}
for name in ("OA", "AN"):
    try:
        secrets.get(name)
    except secrets.ProxyOnly as e:
        out[name] = str(e)
out["listed"] = secrets.list()
out["env"] = dict(os.environ)
print(json.dumps(out))
"""


def test_official_sdks_in_a_kernel_use_a_proxy_only_key_they_never_see(server, fake, key):
    oa, an = credentials(server, fake, key)
    kernel = Kernel(server, NOTEBOOK)
    try:
        token = kernel.run(KERNEL_TOKEN).strip()
        assert token.startswith("onk_")
        calls = json.loads(kernel.run(OPENAI_CALLS))
        assert calls["chat"] == "hello from openai" and calls["usage"] == 9
        assert calls["responses"] == "hello from responses"
        assert calls["models"] == ["fake-model"] and calls["provider"] == "openai"
        assert token not in calls["repr"]

        fake.release_event.clear()
        streamed = json.loads(kernel.run(OPENAI_STREAM % {"fake": fake.url}))
        assert streamed == {"text": "one two three", "usage": 3}
        stream_seen = fake.seen[-1]
        assert stream_seen.released is True and fake.wait_done(stream_seen) is True

        fake.release_event.clear()
        anth = json.loads(kernel.run(ANTHROPIC_CALLS % {"fake": fake.url}))
        assert anth == {
            "message": "hello from anthropic",
            "usage": 4,
            "streamed": "one two three",
            "final_usage": [21, 6],
        }
        assert fake.seen[-1].released is True and fake.wait_done(fake.seen[-1]) is True

        usage = wait_for_usage(server, 6)
        assert {
            r["credential_name"]: (r["requests"], r["input_tokens"], r["output_tokens"])
            for r in usage
        } == {"OA": (4, 9 + 7 + 13, 5 + 3 + 3), "AN": (2, 32, 10)}
        for cred, requests in ((oa, 4), (an, 2)):
            r = server.api(
                "PUT", "budgets", {"credential_id": cred["id"], "requests_per_day": requests}
            )
            assert r.status == 201, r.text
        over = json.loads(kernel.run(OVER_BUDGET))
        refused = json.loads(kernel.run(PROXY_ONLY))
    finally:
        kernel.shutdown()

    # the provider got the real key, in the provider's header, and never the kernel's token
    paths = [s.path for s in fake.seen if s.path != "/release"]
    assert paths == [
        "/v1/chat/completions",
        "/v1/responses",
        "/v1/models",
        "/v1/chat/completions",
        "/v1/messages",
        "/v1/messages",
    ]
    for seen in fake.seen:
        if seen.path.startswith("/v1/messages"):
            assert seen.headers["x-api-key"] == key
            assert "authorization" not in seen.headers  # anthropic 2.x sent Bearer <token>
        elif seen.path.startswith("/v1/"):
            assert seen.headers["authorization"] == f"Bearer {key}"
        assert token not in json.dumps(seen.headers) + seen.path + seen.body.decode()
        assert server.token not in json.dumps(seen.headers)

    assert "allows 4 requests per day" in over["openai"][0]
    assert "allows 2 requests per day" in over["anthropic"][0]
    assert int(over["openai"][1]) >= 1 and int(over["anthropic"][1]) >= 1
    assert over["seconds"] < 30  # no sleeping through Retry-After
    assert len(paths) == 6  # the refused calls never reached the provider

    # secrets.get refuses, naming secrets.proxy; the list says key_access
    for name in ("OA", "AN"):
        assert "secrets.proxy(" in refused[name] and key not in refused[name]
    assert {c["name"]: c["key_access"] for c in refused["listed"]} == {"OA": "proxy", "AN": "proxy"}
    # the key is nowhere the kernel or anyone can read it back
    assert not [k for k, v in refused["env"].items() if key in v]
    replies = [
        server.api("GET", "credentials"),
        server.api("GET", f"credentials/{oa['id']}"),
        server.api("GET", "secrets"),
        server.api("POST", f"credentials/{oa['id']}/secret", {}),
        server.api("POST", "secrets/get", {"name": "AN"}),
    ]
    assert [r.status for r in replies] == [200, 200, 200, 403, 403]
    assert replies[3].json["key_access"] == "proxy"
    for r in replies:
        assert key not in r.text
    assert key not in server.log and token not in server.log
    audit = (server.data_dir / "audit.jsonl").read_text()
    assert key not in audit and '"reason": "proxy only"' in audit
    for path in files_under(server.data_dir):
        assert key.encode() not in path.read_bytes(), path
    db = sqlite3.connect(server.data_dir / "open_notebook.db")
    try:
        dump = "\n".join(db.iterdump())
    finally:
        db.close()
    assert key not in dump and "proxy" in dump


def test_an_ungranted_notebook_gets_the_sdks_permission_error(server, fake, key):
    oa, an = credentials(server, fake, key)
    kernel = Kernel(server, OTHER)
    try:
        out = json.loads(kernel.run(UNGRANTED % {"cid": oa["id"], "an": an["id"]}))
    finally:
        kernel.shutdown()
    assert "work/other.ipynb" in out["openai"] and "has no access" in out["openai"]
    assert "has no access" in out["anthropic"]
    assert "has no access" in out["client"]
    assert fake.seen == []  # nothing reached the provider
    audit = [
        json.loads(line) for line in (server.data_dir / "audit.jsonl").read_text().splitlines()
    ]
    denied = [e for e in audit if e.get("action") == "secret_denied"]
    assert {e["credential_id"] for e in denied} == {oa["id"], an["id"]}


ENV_THROUGH_PROXY = """
import json, os
from openai import OpenAI
from open_notebook_ext import secrets
names = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE")
with secrets.env("OA"):
    inside = {k: os.environ.get(k) for k in names}
    chat = OpenAI(max_retries=0).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}])
after = {k: os.environ.get(k) for k in names}
print(json.dumps({"inside": inside, "after": after,
                  "chat": chat.choices[0].message.content}))
"""


def test_secrets_env_with_a_proxy_only_key_sets_the_proxy_and_the_token(server, fake, key):
    """Issues 18 + 19: for a proxy-only credential, secrets.env() puts the proxy's URL and
    the kernel's token in OPENAI_BASE_URL / OPENAI_API_KEY, so `OpenAI()` with no argument
    reaches the provider through the proxy while the key never enters the kernel; the
    block restores the environment."""
    oa, _ = credentials(server, fake, key)
    kernel = Kernel(server, NOTEBOOK)
    try:
        token = kernel.run(KERNEL_TOKEN).strip()
        out = json.loads(kernel.run(ENV_THROUGH_PROXY))
    finally:
        kernel.shutdown()
    inside = out["inside"]
    assert inside["OPENAI_API_KEY"] == token
    assert inside["OPENAI_BASE_URL"] == inside["OPENAI_API_BASE"]
    assert f"/open-notebook/api/proxy/{oa['id']}" in inside["OPENAI_BASE_URL"]
    assert out["chat"] == "hello from openai"
    assert out["after"] == {
        "OPENAI_API_KEY": None,
        "OPENAI_BASE_URL": None,
        "OPENAI_API_BASE": None,
    }
    assert key not in json.dumps(out)
    seen = [s for s in fake.seen if s.path == "/v1/chat/completions"]
    assert len(seen) == 1 and seen[0].headers["authorization"] == f"Bearer {key}"
    assert token not in json.dumps(seen[0].headers)
