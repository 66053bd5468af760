"""In the kernel: secrets.env() sets the variables libraries read, the %secrets magic,
Colab's userdata, and a headless papermill run given OPEN_NOTEBOOK_URL and a token."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from open_notebook_ext import secrets_env
from support.kernels import Kernel
from support.leaks import random_api_key
from support.servers import BIN

NOTEBOOK = "work/analysis.ipynb"
ENV_DUMP = "import os, json\nprint(json.dumps({{k: os.environ.get(k) for k in {names!r}}}))"


def digest(value: str | None) -> str | None:
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()


@pytest.fixture(scope="module")
def keys() -> dict[str, str]:
    return {
        "Work": random_api_key("sk-work"),
        "Gem": random_api_key("AIza-gem"),
        "Other": random_api_key("sk-ant-other"),
    }


@pytest.fixture
def server(server_factory, keys):
    s = server_factory(env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": "kernel env passphrase"}).start()
    (s.root / "work").mkdir()
    (s.root / NOTEBOOK).write_text('{"cells": []}')
    made = [
        {
            "name": "Work",
            "provider": "openai",
            "api_key": keys["Work"],
            "base_url": "http://127.0.0.1:9/v1",
        },
        {"name": "Gem", "provider": "google", "api_key": keys["Gem"]},
        {"name": "Local", "provider": "ollama", "base_url": "http://127.0.0.1:11434"},
        {"name": "Other", "provider": "anthropic", "api_key": keys["Other"]},
    ]
    ids = {}
    for body in made:
        r = s.api("POST", "credentials", body)
        assert r.status == 201, r.text
        ids[body["name"]] = r.json["id"]
    for name in ("Work", "Gem", "Local"):
        r = s.api("PUT", "grants", {"credential_id": ids[name], "notebook_path": NOTEBOOK})
        assert r.status == 201
    return s


def dump(kernel: Kernel, *names: str) -> dict[str, str | None]:
    return json.loads(kernel.run(ENV_DUMP.format(names=list(names))))


def hashed(kernel: Kernel, *names: str) -> dict[str, str | None]:
    return json.loads(
        kernel.run(
            "import os, json, hashlib\n"
            f"print(json.dumps({{k: os.environ[k] and hashlib.sha256(os.environ[k].encode())"
            f".hexdigest() if k in os.environ else None for k in {list(names)!r}}}))"
        )
    )


def test_env_sets_every_name_restores_and_never_prints_a_key(server, keys):
    kernel = Kernel(server, NOTEBOOK)
    try:
        # a stray base URL must not take the key elsewhere
        kernel.run(
            "import os; os.environ['OPENAI_API_BASE'] = 'http://elsewhere.invalid'\n"
            "os.environ.pop('OPENAI_API_KEY', None)"
        )
        out = kernel.run(
            "from open_notebook_ext import secrets\n"
            "import os, json, hashlib\n"
            "with secrets.env('Work') as applied:\n"
            "    inside = {k: os.environ.get(k) for k in ('OPENAI_BASE_URL', 'OPENAI_API_BASE')}\n"
            "    key = os.environ['OPENAI_API_KEY'].encode()\n"
            "    inside['key'] = hashlib.sha256(key).hexdigest()\n"
            "print(json.dumps(inside)); print(repr(applied))\n"
        )
        inside, shown = out.splitlines()
        assert json.loads(inside) == {
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            "OPENAI_API_BASE": "http://127.0.0.1:9/v1",
            "key": digest(keys["Work"]),
        }
        assert shown.startswith("<secrets.env for Work (openai): set OPENAI_API_KEY")
        after = dump(kernel, "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE")
        assert after == {
            "OPENAI_API_KEY": None,
            "OPENAI_BASE_URL": None,
            "OPENAI_API_BASE": "http://elsewhere.invalid",
        }

        # every granted credential, aliases included; not the ungranted one
        kernel.run("from open_notebook_ext import secrets\nsecrets.env()")
        got = hashed(
            kernel, "OPENAI_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY", "ANTHROPIC_API_KEY"
        )
        assert got == {
            "OPENAI_API_KEY": digest(keys["Work"]),
            "GOOGLE_API_KEY": digest(keys["Gem"]),
            "GEMINI_API_KEY": digest(keys["Gem"]),
            "ANTHROPIC_API_KEY": None,
        }
        assert dump(kernel, "OLLAMA_API_BASE", "OLLAMA_HOST") == {
            "OLLAMA_API_BASE": "http://127.0.0.1:11434",
            "OLLAMA_HOST": "http://127.0.0.1:11434",
        }

        # not granted: a clear error, nothing changed
        denied = kernel.run(
            "from open_notebook_ext import secrets\n"
            "try:\n    secrets.env('Work', 'Other')\n"
            "except secrets.AccessDenied as e:\n    print('DENIED', e)\n"
        )
        assert denied.startswith("DENIED") and "Other" in denied
        assert hashed(kernel, "ANTHROPIC_API_KEY") == {"ANTHROPIC_API_KEY": None}
        google = kernel.run(
            "from open_notebook_ext import secrets\n"
            "print(secrets.env(provider='google').credentials)"
        )
        assert google.strip() == "(('Gem', 'google'),)"
        for text in (out, denied, google, server.log):
            for key in keys.values():
                assert key not in text
    finally:
        kernel.shutdown()


def test_magic_and_colab_userdata(server, keys):
    kernel = Kernel(server, NOTEBOOK)
    try:
        kernel.run("%load_ext open_notebook_ext")
        listed = kernel.run("%secrets list")
        assert listed.splitlines()[0].split() == ["name", "provider", "granted", "key"]
        assert any(line.split()[:3] == ["Other", "anthropic", "no"] for line in listed.splitlines())
        applied = kernel.run("%secrets env Work")
        assert applied.strip() == (
            "Work (openai): set OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_API_BASE"
        )
        assert hashed(kernel, "OPENAI_API_KEY") == {"OPENAI_API_KEY": digest(keys["Work"])}
        refused = kernel.run("%secrets env Other")
        assert refused.startswith("%secrets: AccessDenied:")
        assert kernel.run("%secrets restore").strip() == "environment restored"
        assert hashed(kernel, "OPENAI_API_KEY") == {"OPENAI_API_KEY": None}
        assert kernel.run("%secrets bogus").startswith("usage: %secrets")

        colab = kernel.run(
            "import hashlib\nfrom open_notebook_ext import userdata, secrets\n"
            "print(hashlib.sha256(userdata.get('Work').encode()).hexdigest())\n"
            "for name in ('Nope', 'Other', ''):\n"
            "    try:\n        userdata.get(name)\n"
            "    except (userdata.SecretNotFoundError, userdata.NotebookAccessError,\n"
            "            ValueError) as e:\n"
            "        print(type(e).__name__, '|', e, '|', isinstance(e, secrets.SecretError))\n"
        )
        lines = colab.splitlines()
        assert lines[0] == digest(keys["Work"])
        assert lines[1:] == [
            "SecretNotFoundError | Secret Nope does not exist. | True",
            "NotebookAccessError | Notebook does not have access to secret Other | True",
            "ValueError | Please enter a valid secret name | False",
        ]
        for text in (listed, applied, refused, colab):
            for key in keys.values():
                assert key not in text
    finally:
        kernel.shutdown()


def test_papermill_run_reads_keys_with_url_and_token(server, keys, tmp_path):
    """Headless: papermill starts its own kernel (not through the server), which finds
    the server through OPEN_NOTEBOOK_URL and a server token."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import hashlib\nfrom open_notebook_ext import secrets, userdata\n"
            "print(hashlib.sha256(secrets.get('Work').encode()).hexdigest())\n"
            "print(hashlib.sha256(userdata.get('Other').encode()).hexdigest())\n"
            "with secrets.env('Gem'):\n"
            "    import os; print(os.environ['GEMINI_API_KEY'] == secrets.get('Gem'))\n"
        )
    ]
    source, result = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, source)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OPEN_NOTEBOOK_", "JUPYTER_TOKEN"))
    }
    env.update(OPEN_NOTEBOOK_URL=server.url, OPEN_NOTEBOOK_TOKEN=server.token)
    run = subprocess.run(
        [str(BIN / "papermill"), str(source), str(result), "-k", "python3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = "".join(o.get("text", "") for o in nbformat.read(result, 4).cells[0].outputs)
    # a server token is not a kernel's: no grant is needed (docs/users/notebooks.md)
    assert out.split() == [digest(keys["Work"]), digest(keys["Other"]), "True"]
    for key in keys.values():
        assert key not in run.stdout + run.stderr


# -- the proxy-only path, against a stand-in client (issue 18 builds secrets.proxy) ------


class _Error(Exception):
    pass


def fake_client(entries: list[dict], secrets_by_name: dict[str, dict], with_proxy: bool):
    calls: list[tuple] = []

    def _request(method: str, path: str, body: dict) -> dict:
        calls.append((method, path, body["name"]))
        return secrets_by_name[body["name"]]

    mod = SimpleNamespace(
        list=lambda: entries,
        _request=_request,
        SecretError=_Error,
        SecretNotFound=type("SecretNotFound", (_Error,), {}),
        calls=calls,
    )
    if with_proxy:
        mod.proxy = lambda name, provider=None: SimpleNamespace(
            base_url=f"http://jupyter/open-notebook/api/proxy/{name}/",
            api_key="onk_tok",
            provider=provider,
        )
    return mod


def test_env_uses_the_proxy_for_proxy_only_credentials(monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT_LLM", "http://elsewhere.invalid")
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    entries = [
        {"name": "Shared", "provider": "openai", "granted": True, "key_access": "proxy"},
        {"name": "Az", "provider": "azure", "granted": True, "key_access": "proxy"},
        {"name": "Mine", "provider": "anthropic", "granted": True, "key_access": "read"},
        {"name": "G", "provider": "google", "granted": False, "key_access": "proxy"},
    ]
    mine = {"api_key": "sk-ant-mine", "base_url": None}
    mod = fake_client(entries, {"Mine": mine}, with_proxy=True)
    applied = secrets_env.set_env(mod, [], None)
    assert os.environ["OPENAI_API_KEY"] == "onk_tok"
    assert os.environ["OPENAI_BASE_URL"] == "http://jupyter/open-notebook/api/proxy/Shared/"
    assert os.environ["AZURE_OPENAI_API_KEY"] == "onk_tok"
    assert os.environ["AZURE_OPENAI_ENDPOINT"].endswith("/proxy/Az/")
    assert "AZURE_OPENAI_ENDPOINT_LLM" not in os.environ  # the token goes to the proxy only
    assert os.environ["OPENAI_API_VERSION"] == "2024-10-21"  # left alone
    assert os.environ["ANTHROPIC_API_KEY"] == "sk-ant-mine"
    assert mod.calls == [("POST", "secrets/get", "Mine")]  # proxy-only keys never fetched
    applied.restore()
    assert "OPENAI_API_KEY" not in os.environ
    assert os.environ["AZURE_OPENAI_ENDPOINT_LLM"] == "http://elsewhere.invalid"

    # google has no base-URL variable; a client without secrets.proxy cannot do it either
    with pytest.raises(_Error, match=r"use secrets\.proxy\(\)"):
        secrets_env.set_env(fake_client(entries, {}, with_proxy=True), ["G"], None)
    with pytest.raises(_Error, match=r"no secrets\.proxy"):
        secrets_env.set_env(fake_client(entries, {}, with_proxy=False), ["Shared"], None)
    assert "OPENAI_API_KEY" not in os.environ


def test_env_refuses_two_credentials_for_one_variable():
    entries = [
        {"name": "A", "provider": "openai", "granted": True},
        {"name": "B", "provider": "openai", "granted": True},
    ]
    mod = fake_client(entries, {"A": {"api_key": "sk-a"}, "B": {"api_key": "sk-b"}}, False)
    with pytest.raises(_Error, match="both set OPENAI_API_KEY"):
        secrets_env.set_env(mod, [], None)
    assert "OPENAI_API_KEY" not in os.environ
    assert sys.modules["open_notebook_ext.secrets_env"] is secrets_env
