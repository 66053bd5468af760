"""`secrets.get` latency from a real kernel (kernel token, grant check, decrypt), loopback.

Starts a real server, a notebook session and its kernel; the timing loop runs
inside the kernel, as notebook code would.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from jupyter_client import BlockingKernelClient

from helpers import ServerProcess, random_api_key

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


def main(n: int = 1000) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp), env={
            "OPEN_NOTEBOOK_ENCRYPTION_KEY": "bench passphrase"}).start()
        try:
            cred = server.api("POST", "credentials", {"name": "Work", "provider": "openai",
                                                      "api_key": random_api_key()}).json
            server.api("PUT", "grants", {"credential_id": cred["id"],
                                         "notebook_path": "bench.ipynb"})
            session = server.request("POST", "api/sessions", {
                "path": "bench.ipynb", "type": "notebook", "name": "bench.ipynb",
                "kernel": {"name": "python3"}}).json
            runtime = Path(server.env["JUPYTER_RUNTIME_DIR"])
            conn = runtime / f"kernel-{session['kernel']['id']}.json"
            while not conn.exists():
                time.sleep(0.05)
            client = BlockingKernelClient(connection_file=str(conn))
            client.load_connection_file()
            client.start_channels()
            client.wait_for_ready(timeout=60)
            out: list[str] = []
            client.execute_interactive(
                CODE.replace("N", str(n)), timeout=600,
                output_hook=lambda m: out.append(m["content"].get("text", ""))
                if m["msg_type"] == "stream" else None)
            client.stop_channels()
            return json.loads("".join(out))
        finally:
            server.stop()


if __name__ == "__main__":
    r = main()
    print(f"secrets.get: p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms over {r['n']} calls")
