"""Kernels of one user cannot read each other's tokens or the server's secrets (issue 17 §3).

Live, as a user the test creates (root reads every process, so a test as root
would prove nothing), with the server and its kernels from the world-readable
environment (``tests/unpriv.py``). Kernel B tries everything a same-user process
can do to kernel A and to the server: read ``/proc/<pid>/environ``, open
``/proc/<pid>/fd/*``, read ``/proc/<pid>/mem``, ``ptrace``-attach, copy file
descriptors with ``pidfd_getfd``, use A's grant. The control test runs the same
attack with the protections off (``non_dumpable`` and ``kernel_launcher``) and
shows it then succeeds: without the fix this test fails.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import subprocess

import isolation_probe as probe
import pytest
from unpriv import UserServer, pid_of_kernel, report_attempts

from helpers import Kernel, random_api_key

pytestmark = pytest.mark.subprocess

KERNEL_TOKEN = "from open_notebook_ext import secrets; print(secrets._config()[1])"
PASSPHRASE_ENV = "OPEN_NOTEBOOK_ENCRYPTION_KEY"


def _server(user, venv, *args: str) -> UserServer:
    passphrase = "isolation passphrase " + secrets.token_hex(12)
    server = UserServer(user, venv, user.home, env={PASSPHRASE_ENV: passphrase}, args=list(args))
    server.passphrase = passphrase  # type: ignore[attr-defined]
    server.start(timeout=120)
    for name in ("a.ipynb", "b.ipynb"):
        (server.root / name).write_text('{"cells": []}')
        user.owns(server.root / name)
    return server


def _attack(server: UserServer, key: str) -> tuple[dict, dict, str, int]:
    """Kernels A (granted) and B; B attacks A and the server. Returns (B's findings,
    A's own run, A's token, A's pid)."""
    cred = server.api(
        "POST", "credentials", {"name": "Work", "provider": "openai", "api_key": key}
    ).json
    r = server.api("PUT", "grants", {"credential_id": cred["id"], "notebook_path": "a.ipynb"})
    assert r.status == 201, r.text
    a, b = Kernel(server, "a.ipynb"), Kernel(server, "b.ipynb")
    try:
        token_a = a.run(KERNEL_TOKEN).strip()
        assert token_a.startswith("onk_")
        pid_a = pid_of_kernel(a.id)
        own = json.loads(
            a.run(
                probe.code_for(
                    {
                        "secrets": {"A reads its granted credential": "Work"},
                        "child_secrets": {"A's subprocess reads it": "Work"},
                    }
                )
            )
        )
        found = json.loads(
            b.run(
                probe.code_for(
                    {
                        "processes": {"the server": server.proc.pid, "kernel A": pid_a},
                        "secrets": {"B reads A's credential": "Work"},
                        "every_process": True,
                    }
                ),
                timeout=180,
            )
        )
        # a restart launches the kernel again, through the launcher, with a new hand-off
        r = server.request("POST", f"api/kernels/{a.id}/restart")
        assert r.status == 200, r.text
        a.client.wait_for_ready(timeout=60)
        again = json.loads(
            a.run(probe.code_for({"secrets": {"A reads it after a restart": "Work"}}))
        )
        own["attempts"] += again["attempts"]
        own["launch_after_restart"] = again["launch"]
        assert a.run(KERNEL_TOKEN).strip() == token_a  # the same token
    finally:
        a.shutdown()
        b.shutdown()
    return found, own, token_a, pid_a


def test_kernels_of_one_user_cannot_read_each_other_or_the_server(world_venv, user_factory, report):
    user = user_factory("onloc")
    server = _server(user, world_venv)
    key = random_api_key()
    # modules a notebook directory could hold to replace the launcher or ipykernel
    # before the prctl (the launcher runs with -P: the directory is not on sys.path)
    planted = server.root / "planted"
    for module in ("open_notebook_ext/__init__.py", "ipykernel_launcher.py"):
        (server.root / module).parent.mkdir(exist_ok=True)
        (server.root / module).write_text(
            f"import sys; open({str(planted)!r}, 'a').write({module!r} + ' ' + "
            "repr(sys.argv) + '\\n')\n"
        )
    try:
        status = server.api("GET", "credentials/status").json
        found, own, token_a, pid_a = _attack(server, key)
    finally:
        server.stop()
    assert status["kernel_isolation"] == "none" and status["non_dumpable"] is True
    # no planted module ran in a kernel, though a plain `python -c` in that directory
    # does import the planted package (so the plant works)
    assert not planted.exists()
    subprocess.run(
        [str(world_venv / "bin" / "python"), "-c", "import open_notebook_ext"],
        cwd=server.root,
        check=True,
    )
    assert planted.read_text().splitlines() == ["open_notebook_ext/__init__.py ['-c']"]

    # A works: its key, from the kernel; its subprocess has no token
    mine = {a["target"]: a for a in own["attempts"]}
    want = hashlib.sha256(key.encode()).hexdigest()
    assert mine["A reads its granted credential"]["sha256"] == want
    assert mine["A reads it after a restart"]["sha256"] == want
    assert own["launch_after_restart"]["delivery"] == "handoff"
    assert mine["A's subprocess reads it"]["outcome"] == "refused: AuthenticationFailed"
    assert own["launch"] == {
        "dumpable_at_start": True,
        "non_dumpable": True,
        "traced": False,
        "delivery": "handoff",
    }
    assert own["dumpable"] is False and own["uid"] == user.uid

    # B: every attempt on A and on the server fails; only command lines are readable
    # (they are world-readable by design), and hold nothing secret
    attempts = found["attempts"]
    report_attempts(
        report,
        "kernel B (same user) against kernel A and the server",
        attempts,
        (key, token_a, server.token, server.passphrase),
    )
    assert found["uid"] == user.uid
    for a in attempts:
        if a["what"] == "read /proc/<pid>/cmdline":
            assert a["ok"], a
        else:
            assert not a["ok"], a
    by_target = {(a["what"], a["target"]): a for a in attempts}
    assert (
        by_target[("secrets.get", "B reads A's credential")]["outcome"] == "refused: AccessDenied"
    )
    for target in ("the server", "kernel A"):
        for what in (
            "read /proc/<pid>/environ",
            "open /proc/<pid>/fd/*",
            "read /proc/<pid>/mem",
            "ptrace attach",
            "pidfd_getfd",
        ):
            outcome = by_target[(what, target)]["outcome"]
            assert outcome.startswith("denied"), (what, target, outcome)
    # nothing B could read anywhere holds a secret, nor any kernel's token
    readable = json.dumps(found)
    for secret in (key, token_a, server.token, server.passphrase):
        assert secret not in readable
    assert "onk_" not in readable
    environs = {pid: p["environ"] for pid, p in found["processes"].items()}
    assert not environs[str(pid_a)]["ok"] and not environs[str(server.proc.pid)]["ok"]
    assert "onk_" not in found["own_environ"]  # B's own token is not in its environment


def test_without_the_protections_the_same_attack_succeeds(world_venv, user_factory, report):
    """The control: non_dumpable and kernel_launcher off, B reads the server's token from
    its environ and A's token from A's. This is what the first test rules out."""
    user = user_factory("onctl")
    server = _server(
        user,
        world_venv,
        "--OpenNotebookApp.non_dumpable=False",
        "--OpenNotebookApp.kernel_launcher=False",
    )
    try:
        assert server.api("GET", "credentials/status").json["non_dumpable"] is False
        found, own, token_a, _ = _attack(server, random_api_key())
    finally:
        server.stop()
    by_target = {(a["what"], a["target"]): a for a in found["attempts"]}
    report_attempts(
        report,
        "the same attack, protections off",
        [a for a in found["attempts"] if a["what"].startswith("read /proc")],
        (token_a, server.token, server.passphrase),
    )
    server_env = by_target[("read /proc/<pid>/environ", "the server")]
    kernel_env = by_target[("read /proc/<pid>/environ", "kernel A")]
    assert server_env["ok"] and server.token in server_env["data"]
    assert server.passphrase in server_env["data"]
    assert kernel_env["ok"] and token_a in kernel_env["data"]
    assert own["launch"] == {}  # the launcher did not run
