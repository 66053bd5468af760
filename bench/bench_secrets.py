"""`secrets.get` latency from a real kernel (kernel token, grant check, decrypt), loopback.

Starts a real server, a notebook session and its kernel; the timing loop runs
inside the kernel, as notebook code would.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.kernels import Kernel
from support.leaks import random_api_key
from support.servers import ServerProcess

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
        server = ServerProcess(
            Path(tmp), env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": "bench passphrase"}
        ).start()
        try:
            cred = server.api(
                "POST",
                "credentials",
                {"name": "Work", "provider": "openai", "api_key": random_api_key()},
            ).json
            (server.root / "bench.ipynb").write_text('{"cells": []}')  # grants need the file
            server.api(
                "PUT", "grants", {"credential_id": cred["id"], "notebook_path": "bench.ipynb"}
            )
            kernel = Kernel(server, "bench.ipynb")
            out = kernel.run(CODE.replace("N", str(n)), timeout=600)
            kernel.shutdown()
            return json.loads(out)
        finally:
            server.stop()


if __name__ == "__main__":
    r = main()
    print(f"secrets.get: p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms over {r['n']} calls")
