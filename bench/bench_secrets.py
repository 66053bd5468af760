"""`secrets.get` latency from a real kernel (kernel token, grant check, decrypt), loopback.

Starts a real server, a notebook session and its kernel; the timing loop runs
inside the kernel, as notebook code would. Twice: a local kernel (same user,
through open_notebook_ext.kernel_launch), and a kernel on a Jupyter Kernel
Gateway run as another user (tests/unpriv.py builds its environment; skipped
unless run as root, which can create that user).
"""

from __future__ import annotations

import json
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from helpers import Kernel, ServerProcess, random_api_key

CODE = """
import json, time, statistics
from open_notebook_ext import secrets
secrets.get('Work')  # warm the connection
samples = []
for _ in range(N):
    t = time.perf_counter(); secrets.get('Work'); samples.append(time.perf_counter() - t)
samples.sort()
print(json.dumps({"p50_ms": samples[len(samples) // 2] * 1e3,
                  "p99_ms": samples[int(len(samples) * 0.99)] * 1e3, "n": N}))
"""


def _measure(server: ServerProcess, kernel_class: type, n: int) -> dict[str, float]:
    cred = server.api(
        "POST", "credentials", {"name": "Work", "provider": "openai", "api_key": random_api_key()}
    ).json
    (server.root / "bench.ipynb").write_text('{"cells": []}')  # grants need the file
    server.api("PUT", "grants", {"credential_id": cred["id"], "notebook_path": "bench.ipynb"})
    kernel = kernel_class(server, "bench.ipynb")
    out = kernel.run(CODE.replace("N", str(n)), timeout=600)
    kernel.shutdown()
    return json.loads(out)


def local(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(
            Path(tmp), env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": "bench passphrase"}
        ).start()
        try:
            return _measure(server, Kernel, n)
        finally:
            server.stop()


def gateway(n: int) -> dict[str, float] | None:
    import unpriv

    if unpriv.cannot_use_users():
        return None
    venv = unpriv.build_world_venv()
    base = Path(tempfile.mkdtemp(prefix="on-bench-", dir="/tmp"))
    base.chmod(0o755)
    user = unpriv.create_user("onbench", base)
    gw = server = None
    try:
        notebooks = base / "notebooks"
        notebooks.mkdir()
        user.owns(notebooks, mode=0o755)
        config = base / "jupyter_kernel_gateway_config.py"
        shutil.copyfile(unpriv.ROOT / "jupyter-config/isolated" / config.name, config)
        config.chmod(0o644)
        private = Path(tempfile.mkdtemp(prefix="on-bench-server-"))
        gw = unpriv.Gateway(user, venv, notebooks, config, private / "gateway.log")
        gw.wait_ready()
        (private / "gateway_token").write_text(gw.token)
        (private / "gateway_token").chmod(0o600)
        server = ServerProcess(
            private / "server",
            args=[f"--GatewayClient.url={gw.url}"],
            env={
                "OPEN_NOTEBOOK_ENCRYPTION_KEY": "bench passphrase",
                "OPEN_NOTEBOOK_GATEWAY_TOKEN_FILE": str(private / "gateway_token"),
            },
            token=secrets.token_hex(24),
        )
        server.root = notebooks
        server.start(timeout=120)
        return _measure(server, unpriv.WsKernel, n)
    finally:
        if server is not None:
            server.stop()
        if gw is not None:
            gw.stop()
        unpriv.remove_user(user)
        shutil.rmtree(base, ignore_errors=True)


def main(n: int = 1000) -> dict[str, dict[str, float] | None]:
    return {"local": local(n), "gateway": gateway(n)}


if __name__ == "__main__":
    r = main()
    for where, m in r.items():
        if m is None:
            print(f"secrets.get ({where}): skipped (needs root to create the gateway's user)")
        else:
            print(
                f"secrets.get ({where}): p50 {m['p50_ms']:.2f} ms, p99 {m['p99_ms']:.2f} ms "
                f"over {m['n']} calls"
            )
