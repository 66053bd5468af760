"""Notebook code reads granted keys through a real kernel; saved outputs are redacted."""

from __future__ import annotations

import json
import secrets as secrets_module
import sys
from pathlib import Path

import pytest

from support.kernels import Kernel
from support.leaks import random_api_key

NOTEBOOK = "work/analysis.ipynb"


ENV_DUMP = "import os, json; print(json.dumps(dict(os.environ)))"


def environments_through_rename_and_restart(server, kernel: Kernel) -> list[dict[str, str]]:
    """The kernel's environment at start and after a session rename (Jupyter merges its
    own environment back in) then a restart; the kernel is shut down after."""
    try:
        seen = [json.loads(kernel.run(ENV_DUMP))]
        r = server.request(
            "PATCH",
            f"api/sessions/{kernel.session_id}",
            {"path": "work/renamed.ipynb", "name": "renamed.ipynb"},
        )
        assert r.status == 200, r.text
        r = server.request("POST", f"api/kernels/{kernel.id}/restart")
        assert r.status == 200, r.text
        kernel.client.wait_for_ready(timeout=60)
        seen.append(json.loads(kernel.run(ENV_DUMP)))
    finally:
        kernel.shutdown()
    assert seen[1].get("JPY_SESSION_NAME", "").endswith("renamed.ipynb")  # the merge happened
    return seen


# The kernel's own token: open_notebook_ext.kernel_launch hands it to the secrets
# module inside the kernel process, never in the environment (test_isolation_local.py)
KERNEL_TOKEN = "from open_notebook_ext import secrets; print(secrets._config()[1])"


@pytest.fixture
def server(server_factory):
    s = server_factory(env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": "kernel test passphrase"}).start()
    (s.root / "work").mkdir()
    (s.root / NOTEBOOK).write_text('{"cells": []}')  # grants are given to files that exist
    return s


def test_kernel_reads_granted_secret_and_loses_access_after_shutdown(server):
    key = random_api_key()
    cred = server.api(
        "POST", "credentials", {"name": "Work", "provider": "openai", "api_key": key}
    ).json
    kernel = Kernel(server, NOTEBOOK)
    try:
        env = json.loads(kernel.run("import os, json; print(json.dumps(dict(os.environ)))"))
        assert env["OPEN_NOTEBOOK_URL"].startswith("http://")
        assert env["OPEN_NOTEBOOK_KERNEL_ID"] == kernel.id
        kernel_token = kernel.run(KERNEL_TOKEN).strip()
        assert kernel_token.startswith("onk_")
        assert not [k for k, v in env.items() if kernel_token in v]  # in the process only
        assert "JUPYTER_TOKEN" not in env
        assert not [k for k, v in env.items() if server.token in v]
        assert not [k for k in env if k.startswith("OPEN_NOTEBOOK_ENCRYPTION")]

        # no grant yet: a clear error, no key
        denied = kernel.run(
            "from open_notebook_ext import secrets\n"
            "try:\n    secrets.get('Work')\n"
            "except secrets.AccessDenied as e:\n    print('DENIED', e)\n"
        )
        assert denied.startswith("DENIED")
        assert NOTEBOOK in denied and "Grant it in the Credentials panel" in denied
        assert key not in denied

        r = server.api("PUT", "grants", {"credential_id": cred["id"], "notebook_path": NOTEBOOK})
        assert r.status == 201
        digest = kernel.run(
            "import hashlib\nfrom open_notebook_ext import secrets\n"
            "print(hashlib.sha256(secrets.get('Work').encode()).hexdigest())\n"
        )
        import hashlib

        assert digest.strip() == hashlib.sha256(key.encode()).hexdigest()
        listed = json.loads(
            kernel.run(
                "import json\nfrom open_notebook_ext import secrets\n"
                "print(json.dumps(secrets.list()))"
            )
        )
        assert listed == [
            {
                "id": cred["id"],
                "name": "Work",
                "provider": "openai",
                "has_api_key": True,
                "api_key_hint": cred["api_key_hint"],
                "decryption_error": None,
                "granted": True,
                "key_access": "read",
            }
        ]
        missing = kernel.run(
            "from open_notebook_ext import secrets\n"
            "try:\n    secrets.get('Nope')\nexcept secrets.SecretNotFound as e:\n    print(e)\n"
        )
        assert "Credential not found" in missing
        asyncio_ok = kernel.run(
            "from open_notebook_ext import secrets\nprint(len(await secrets.aget('Work')))\n"
        )
        assert asyncio_ok.strip() == str(len(key))

        # the kernel token is scoped to secrets: nothing else accepts it
        other = server.api(
            "GET", "credentials", auth=False, headers={"Authorization": f"Bearer {kernel_token}"}
        )
        assert other.status == 401
    finally:
        kernel.shutdown()

    # revoked with the kernel
    r = server.api(
        "POST",
        "secrets/get",
        {"name": "Work"},
        auth=False,
        headers={"Authorization": f"Bearer {kernel_token}"},
    )
    assert r.status == 401
    assert "revoked" in r.json["detail"]
    events = [
        json.loads(line) for line in (server.data_dir / "audit.jsonl").read_text().splitlines()
    ]
    reads = [e for e in events if e.get("action") in ("secret_read", "secret_denied")]
    assert [e["action"] for e in reads][:2] == ["secret_denied", "secret_read"]
    assert reads[1]["kernel_id"] == kernel.id and reads[1]["notebook_path"] == NOTEBOOK
    for text in (server.log, (server.data_dir / "audit.jsonl").read_text()):
        assert key not in text and kernel_token not in text


def test_saved_outputs_are_redacted(server):
    key, short = random_api_key(), "short7!"
    server.api("POST", "credentials", {"name": "Work", "provider": "openai", "api_key": key})
    server.api("POST", "credentials", {"name": "Tiny", "provider": "groq", "api_key": short})
    server.api(
        "POST",
        "credentials",
        {"name": "Local", "provider": "ollama", "base_url": "http://localhost:11434"},
    )
    cred = server.api("GET", "credentials").json
    work = next(c for c in cred if c["name"] == "Work")
    server.api("PUT", "grants", {"credential_id": work["id"], "notebook_path": NOTEBOOK})
    kernel = Kernel(server, NOTEBOOK)
    try:
        printed = kernel.run(
            "from open_notebook_ext import secrets\nprint('the key is', secrets.get('Work'))"
        )
    finally:
        kernel.shutdown()
    assert key in printed  # the kernel really printed it
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "id": "c1",
                "execution_count": 1,
                "metadata": {},
                "source": "print(secrets.get('Work'))",
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": printed},
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {
                            "text/plain": [f"'{key}'"],
                            "text/html": f"<b>{key}</b>",
                            "text/markdown": f"`{key}`",
                            "application/json": {"k": [key]},
                        },
                    },
                    {
                        "output_type": "error",
                        "ename": "ValueError",
                        "evalue": f"bad {key}",
                        "traceback": [f"ValueError: bad {key}", f"short {short}"],
                    },
                ],
            }
        ],
    }
    r = server.request(
        "PUT",
        f"api/contents/{NOTEBOOK}",
        {"type": "notebook", "format": "json", "content": notebook},
    )
    assert r.status in (200, 201), r.text
    raw = (server.root / NOTEBOOK).read_bytes()
    assert key.encode() not in raw
    assert raw.count(b"[REDACTED:Work]") == 7
    assert short.encode() in raw  # under 8 characters: not redacted (too many false hits)
    assert "Redacted 7 stored API key occurrence(s)" in server.log
    assert key not in server.log


def test_kernel_without_notebook_session_and_require_grants_off(server_factory):
    server = server_factory(args=["--OpenNotebookApp.require_grants=False"]).start()
    key = random_api_key()
    server.api("POST", "credentials", {"name": "Work", "provider": "openai", "api_key": key})
    kernel = Kernel(server)  # no notebook session: nothing to check a grant against
    out = kernel.run("from open_notebook_ext import secrets\nprint(len(secrets.get('Work')))")
    kernel.shutdown()
    assert out.strip() == str(len(key))


SECRET_FILE_VARS = (
    "JUPYTER_TOKEN_FILE",
    "OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE",
    "OPEN_NOTEBOOK_ENCRYPTION_KEYS_FILE",
    "OPEN_NOTEBOOK_DB_URL_FILE",
    "PGPASSFILE",
)


def test_kernels_get_no_secret_file_variables(server_factory, tmp_path):
    """With the token, key and database URL in files, as compose secrets give them, the
    kernel must not learn where those files are: JUPYTER_TOKEN_FILE made the server's
    token one open() away. Checked at start, and after a session rename (Jupyter merges
    its own environment back in) and a restart."""
    secret_dir = tmp_path / "run-secrets"
    secret_dir.mkdir()
    token = secrets_module.token_hex(24)
    contents = {
        "JUPYTER_TOKEN_FILE": token,  # Jupyter's own provider keeps a newline: none here
        "OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE": "kernel file passphrase\n",
        "OPEN_NOTEBOOK_ENCRYPTION_KEYS_FILE": "kernel file passphrase\n",
        "OPEN_NOTEBOOK_DB_URL_FILE": f"sqlite:///{tmp_path / 'kernel-env.db'}\n",
        "PGPASSFILE": "*:*:*:*:pg-password\n",
    }
    env = {}
    for var, text in contents.items():
        (secret_dir / var.lower()).write_text(text)
        env[var] = str(secret_dir / var.lower())
    server = server_factory(env=env, token=token).start()
    assert server.api("GET", "credentials/status").json["key_source"] == "file"
    (server.root / "work").mkdir()
    kernel = Kernel(server, NOTEBOOK)
    seen = environments_through_rename_and_restart(server, kernel)
    for kernel_env in seen:
        assert not [v for v in SECRET_FILE_VARS if v in kernel_env]
        assert not [k for k, v in kernel_env.items() if str(secret_dir) in v]
        assert not [k for k, v in kernel_env.items() if token in v]
        assert "OPEN_NOTEBOOK_KERNEL_TOKEN" not in kernel_env  # handed over, not inherited
        assert kernel_env["OPEN_NOTEBOOK_KERNEL_ID"] == kernel.id


# -- issue 17, part 2: the kernel environment firewall -------------------------------------


def test_provider_keys_in_the_servers_environment_never_reach_a_kernel(server_factory):
    """jupyter-ai and `.env` loaders put provider keys into the server's environment, and
    jupyter_server copies that environment into every kernel. A server started with
    OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, the encryption key and a variable
    matched by a configured pattern: a kernel started through the sessions API sees none
    of them — at start, after a rename (Jupyter merges its environment back in) and after
    a restart — while an ordinary variable of the server does arrive (the copy happens)."""
    planted = {
        "OPENAI_API_KEY": "sk-server-" + secrets_module.token_hex(16),
        "ANTHROPIC_API_KEY": "sk-ant-server-" + secrets_module.token_hex(16),
        "GEMINI_API_KEY": "gm-server-" + secrets_module.token_hex(16),
        "OPEN_NOTEBOOK_ENCRYPTION_KEY": "firewall passphrase " + secrets_module.token_hex(8),
        "ACME_SERVICE_SECRET": "acme-" + secrets_module.token_hex(16),
    }
    server = server_factory(
        env={**planted, "HARMLESS_SETTING": "kept"},
        args=["--OpenNotebookApp.kernel_env_strip=ACME_*_SECRET"],
    ).start()
    (server.root / "work").mkdir()
    (server.root / NOTEBOOK).write_text('{"cells": []}')
    kernel = Kernel(server, NOTEBOOK)
    seen = environments_through_rename_and_restart(server, kernel)
    for env in seen:
        assert env.get("HARMLESS_SETTING") == "kept"  # the server's environment is copied
        assert not set(planted) & set(env)
        assert not [k for k, v in env.items() if any(p in v for p in planted.values())]
    # the start-up line names what is kept out, never a value
    log = server.log_path.read_text()
    assert "Kept out of kernels' environment" in log and "OPENAI_API_KEY" in log
    assert not [v for v in planted.values() if v in log]


def test_a_kernelspec_naming_its_own_provisioner_is_still_behind_the_firewall(server_factory):
    """Why the kernel manager's start is wrapped (kernels/tokens.py) rather than the
    environment being set in a provisioner or the session manager's get_kernel_env alone:
    a kernelspec may name its own provisioner (``metadata.kernel_provisioner``), which
    replaces ours, and a kernel started with POST api/kernels has no session. Such a
    kernel, started both ways, still gets no provider key and no encryption key of the
    server's environment, and does get its kernel token and URL."""
    planted = {
        "OPENAI_API_KEY": "sk-server-" + secrets_module.token_hex(16),
        "OPEN_NOTEBOOK_ENCRYPTION_KEY": "own provisioner " + secrets_module.token_hex(8),
    }
    server = server_factory(env=planted)
    spec = Path(server.env["JUPYTER_DATA_DIR"]) / "kernels" / "own-provisioner"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python (its own provisioner)",
                "language": "python",
                "metadata": {"kernel_provisioner": {"provisioner_name": "local-provisioner"}},
            }
        )
    )
    server.start()
    r = server.request("GET", "api/kernelspecs")
    assert "own-provisioner" in r.json["kernelspecs"], r.text
    (server.root / NOTEBOOK).parent.mkdir(parents=True, exist_ok=True)
    (server.root / NOTEBOOK).write_text('{"cells": []}')
    for path in (None, NOTEBOOK):
        kernel = Kernel(server, path, kernel_name="own-provisioner")
        try:
            env = json.loads(kernel.run(ENV_DUMP))
        finally:
            kernel.shutdown()
        assert not set(planted) & set(env), path
        assert not [k for k, v in env.items() if any(p in v for p in planted.values())], path
        # local-provisioner has no socket hand-over: the token comes in the environment
        assert env["OPEN_NOTEBOOK_KERNEL_TOKEN"].startswith("onk_"), path
        assert env["OPEN_NOTEBOOK_KERNEL_ID"] == kernel.id
        assert env["OPEN_NOTEBOOK_URL"].startswith("http://127.0.0.1:")
