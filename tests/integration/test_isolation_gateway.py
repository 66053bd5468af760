"""Isolated kernels through a real Jupyter Kernel Gateway (issue 17 §4), live.

``jupyter kernelgateway`` 3.0.1 runs as a user the test creates, from the
world-readable environment (``tests/support/unpriv.py``), with the repository's gateway
configuration (``jupyter-config/isolated/``) and an execute-only interpreter for
kernels; the server runs as root with ``GatewayClient.url`` pointing at it and
the gateway's token in a file. Code in a gateway kernel then tries to reach keys
every way it can (``tests/support/isolation_probe.py``): the key file, the database, the
data directory, ``/proc/*/environ`` and ``/proc/*/cmdline`` of every process,
``fd``/``mem``/``ptrace``/``pidfd_getfd`` on the server, the gateway and another
kernel, its own environment, the gateway's token file, the gateway's API,
``secrets.get`` of a credential not granted, from a subprocess, and the kernel
token on every route of openapi.yaml and Jupyter's own API. Every attempt fails,
and nothing it read holds a secret, while ``secrets.get`` of the granted
credential works, also after a restart and a rename; shutdown revokes the token,
and neither the server's nor the gateway's log holds a secret. The attempts and
their results are printed in the run's summary.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import pytest
import yaml

from support import isolation_probe as probe
from support.leaks import random_api_key
from support.servers import ServerProcess
from support.unpriv import Gateway, WsKernel, pid_of_kernel, report_attempts

pytestmark = pytest.mark.subprocess

ROOT = Path(__file__).resolve().parents[2]
GATEWAY_CONFIG = ROOT / "jupyter-config" / "isolated" / "jupyter_kernel_gateway_config.py"
KERNEL_TOKEN = "from open_notebook_ext import secrets; print(secrets._config()[1])"


def openapi_calls(base: str, other_id: str) -> list[dict]:
    """Every route of openapi.yaml with the kernel's token (ids: the credential not granted)."""
    spec = yaml.safe_load((ROOT / "open_notebook_ext" / "openapi.yaml").read_text())
    calls = []
    for path, ops in spec["paths"].items():
        for method in ("get", "post", "put", "patch", "delete"):
            if method not in ops:
                continue
            concrete = (
                path.replace("{credential_id}", other_id)
                .replace("{provider}", "openai")
                .replace("{notebook_id}", "notebook:x")
                .replace("{source_id}", "source:x")
                .replace("{note_id}", "note:x")
                .replace("{grant_id}", "1")
                .replace("{prompt_id}", "prompt:x")
                .replace("{budget_id}", "budget:x")
                .replace("{path}", "chat/completions")
            )
            assert "{" not in concrete, concrete
            body = (
                {"name": "Other"}
                if path == "/secrets/get"
                else ({} if method in ("post", "put", "patch") else None)
            )
            calls.append(
                {
                    "what": "kernel token on the API",
                    "label": path,
                    "method": method.upper(),
                    "url": base + "open-notebook/api" + concrete,
                    "body": body,
                    "headers": {"Authorization": "Bearer {kernel_token}"},
                }
            )
    return calls


JUPYTER_ROUTES = [
    ("GET", "api/contents"),
    ("GET", "api/kernels"),
    ("POST", "api/kernels"),
    ("GET", "api/sessions"),
    ("GET", "api/kernelspecs"),
    ("GET", "api/me"),
    ("GET", "api/terminals"),
    ("GET", "lab"),
    ("GET", "files/nb.ipynb"),
]


@pytest.fixture
def isolated(world_venv, user_factory, shared_tmp, tmp_path):
    """The gateway (as a new user) and the server (root) that uses it."""
    user = user_factory("onkg")
    notebooks = shared_tmp / "notebooks"
    notebooks.mkdir()
    user.owns(notebooks, mode=0o755)
    config = shared_tmp / GATEWAY_CONFIG.name  # a clone may sit where the user cannot read
    shutil.copyfile(GATEWAY_CONFIG, config)
    config.chmod(0o644)
    gateway = Gateway(user, world_venv, notebooks, config, tmp_path / "gateway.log")
    server = None
    try:
        gateway.wait_ready()
        server_copy = tmp_path / "gateway_token"
        server_copy.write_text(gateway.token + "\n")
        server_copy.chmod(0o600)
        server = ServerProcess(
            tmp_path / "server",
            args=[
                f"--GatewayClient.url={gateway.url}",
                "--debug",
                # every route answers for itself (not 429 once ten wrong tokens were tried)
                "--OpenNotebookApp.auth_failure_limit=0",
            ],
            env={
                "OPEN_NOTEBOOK_GATEWAY_TOKEN_FILE": str(server_copy),
                # a provider key in the server's environment (jupyter-ai puts them there)
                "OPENAI_API_KEY": random_api_key("sk-server-env"),
            },
        )
        server.root = notebooks
        server.start(timeout=120)
        for name in ("nb.ipynb", "other.ipynb"):
            (notebooks / name).write_text('{"cells": []}')
        yield user, gateway, server, server_copy
    finally:
        if server is not None:
            server.stop()
        gateway.stop()


def test_kernels_behind_the_gateway_reach_no_key_they_were_not_given(isolated, report):
    user, gateway, server, server_copy = isolated
    granted_key, other_key = random_api_key(), random_api_key()
    granted = server.api(
        "POST", "credentials", {"name": "Granted", "provider": "openai", "api_key": granted_key}
    ).json
    other = server.api(
        "POST", "credentials", {"name": "Other", "provider": "anthropic", "api_key": other_key}
    ).json
    r = server.api("PUT", "grants", {"credential_id": granted["id"], "notebook_path": "nb.ipynb"})
    assert r.status == 201, r.text
    status = server.api("GET", "credentials/status").json
    assert status["kernel_isolation"] == "gateway" and status["non_dumpable"] is True

    kernel = WsKernel(server, "nb.ipynb")
    neighbour = WsKernel(server, "other.ipynb")
    data_dir = server.data_dir
    assert (data_dir / "encryption.key").exists()  # generated: there is a key file to steal
    tokens = [kernel.run(KERNEL_TOKEN).strip(), neighbour.run(KERNEL_TOKEN).strip()]
    assert all(t.startswith("onk_") for t in tokens) and tokens[0] != tokens[1]
    # the kernel id is the gateway's: the token was bound to it
    assert (
        json.loads(
            kernel.run(
                "import os; print(__import__('json').dumps("
                "os.environ.get('OPEN_NOTEBOOK_KERNEL_ID')))"
            )
        )
        == kernel.id
    )

    spec = {
        "files": {
            "the key file": str(data_dir / "encryption.key"),
            "the database": str(data_dir / "open_notebook.db"),
            "the audit log": str(data_dir / "audit.jsonl"),
            "the gateway's token file": str(gateway.token_file),
            "the server's copy of the gateway token": str(server_copy),
        },
        "dirs": {"the data directory": str(data_dir), "the server's home": str(server.home)},
        "processes": {
            "the server": server.proc.pid,
            "the gateway": gateway.proc.pid,
            "another kernel": pid_of_kernel(neighbour.id),
        },
        "http": [
            {
                "what": "the gateway's API",
                "label": "without a token",
                "method": "GET",
                "url": gateway.url + "/api/kernels",
                "headers": {},
            },
            {
                "what": "the gateway's API",
                "label": "with the kernel token",
                "method": "GET",
                "url": gateway.url + "/api/kernels",
                "headers": {"Authorization": "token {kernel_token}"},
            },
            *openapi_calls(server.url, other["id"]),
            *(
                {
                    "what": "kernel token on Jupyter's API",
                    "label": path,
                    "method": method,
                    "url": server.url + path,
                    "headers": {"Authorization": "Bearer {kernel_token}"},
                }
                for method, path in JUPYTER_ROUTES
            ),
        ],
        "secrets": {"the credential not granted": "Other"},
        "child_secrets": {"the granted credential, from a subprocess": "Granted"},
        "every_process": True,
    }
    found = json.loads(kernel.run(probe.code_for(spec), timeout=300))
    secrets_known = (
        granted_key,
        other_key,
        *tokens,
        gateway.token,
        server.token,
        server.env["OPENAI_API_KEY"],
        (data_dir / "encryption.key").read_text(),
    )
    report_attempts(
        report,
        "code in a gateway kernel (its own OS user) against the keys",
        found["attempts"],
        secrets_known,
    )

    assert found["uid"] == user.uid
    assert found["launch"] == {
        "dumpable_at_start": False,
        "non_dumpable": True,
        "traced": False,
        "delivery": "handoff",
    }
    for a in found["attempts"]:
        if a["what"] == "read /proc/<pid>/cmdline":
            assert a["ok"], a  # world-readable by design: nothing secret in them (below)
        elif a["what"] == "kernel token on the API" and a["target"] == "GET /openapi.json":
            assert a["ok"]  # public
        elif a["what"] == "kernel token on the API" and a["target"] == "GET /secrets":
            assert a["ok"] and granted_key not in a["data"]  # names and hints only
        else:
            assert not a["ok"], a
            if a["what"].startswith("kernel token on"):
                assert a["status"] in (302, 401, 403, 404), a  # 302: to the login page
    by = {(a["what"], a["target"]): a["outcome"] for a in found["attempts"]}
    assert by[("secrets.get", "the credential not granted")] == "refused: AccessDenied"
    assert by[("read file", "the gateway's token file")] == "denied: FileNotFoundError"
    for target in ("the server", "the gateway", "another kernel"):
        for what in (
            "read /proc/<pid>/environ",
            "open /proc/<pid>/fd/*",
            "read /proc/<pid>/mem",
            "ptrace attach",
            "pidfd_getfd",
        ):
            assert by[(what, target)].startswith("denied"), (what, target)
    everything = json.dumps(found)
    for secret in secrets_known:
        assert secret.strip() not in everything
    assert "onk_" not in found["own_environ"] and "onk_" not in json.dumps(found["own_os_environ"])
    assert found["own_os_environ"].get("OPEN_NOTEBOOK_URL") == server.url

    def granted_sha() -> str:
        out = json.loads(kernel.run(probe.code_for({"secrets": {"granted": "Granted"}})))
        return out["attempts"][0].get("sha256", out["attempts"][0]["outcome"])

    want = hashlib.sha256(granted_key.encode()).hexdigest()
    assert granted_sha() == want
    kernel.restart()
    assert granted_sha() == want  # the gateway restarted it with the same token
    assert kernel.run(KERNEL_TOKEN).strip() == tokens[0]
    r = server.request("PATCH", "api/contents/nb.ipynb", {"path": "renamed.ipynb"})
    assert r.status == 200, r.text
    r = server.request(
        "PATCH",
        f"api/sessions/{kernel.session_id}",
        {"path": "renamed.ipynb", "name": "renamed.ipynb"},
    )
    assert r.status == 200, r.text
    # the grant follows the notebook a moment after the rename (a contents event, then a
    # write on the store's thread: vault/grants.py), the session its path at once
    deadline = time.monotonic() + 20
    while (got := granted_sha()) != want and time.monotonic() < deadline:
        time.sleep(0.2)
    assert got == want

    kernel.shutdown()
    neighbour.shutdown()
    for t in tokens:
        r = server.api(
            "POST",
            "secrets/get",
            {"name": "Granted"},
            auth=False,
            headers={"Authorization": f"Bearer {t}"},
        )
        assert r.status == 401, r.text
    report(f"after shutdown, both kernel tokens: HTTP {r.status} ({r.json['detail']})")

    time.sleep(0.5)
    logs = {"server": server.log, "gateway": gateway.log}
    for name, text in logs.items():
        for secret in secrets_known:
            assert secret.strip() not in text, f"a secret in the {name}'s log"
        assert "onk_" not in text, name
    # jupyter_server's line that printed the kernel's whole environment is there, cut
    assert "GatewayKernelManager started kernel:" in logs["server"]
    assert "args: (withheld" in logs["server"]
