"""What forwarding one call costs on this machine without Jupyter: the floors under the
provider proxy's figures (bench_proxy), from one client process on loopback.

The same small chat call, interleaved round after round, to: the fake provider
directly (Python's threaded HTTP server), a Tornado handler answering a constant
(no forwarding: Tornado's own server cost), a forwarder on raw asyncio protocols
(``floor_servers.py``: the least a Python proxy does), and the bare Tornado forwarder
with the proxy's upstream code (``proxy_floor.py``, as in bench_proxy). Each figure
is the p50 added over the direct call.
"""

from __future__ import annotations

import http.client
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.fake_provider import FakeProvider
from support.leaks import random_api_key
from support.servers import free_port

HERE = Path(__file__).resolve().parent
BODY = json.dumps({"model": "bench", "messages": [{"role": "user", "content": "hi"}]})


def _wait_listening(port: int, timeout: float = 30) -> None:
    stop = time.monotonic() + timeout
    while time.monotonic() < stop:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port}")


def main(n: int = 2000) -> dict[str, float]:
    key = random_api_key()
    fake = FakeProvider(key, hold=5.0, gap=0.0)
    fake.release_event.set()
    ports = {name: free_port() for name in ("constant", "asyncio", "tornado")}
    upstream = f"{fake.url}/v1"
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "floor_servers.py"), "constant", str(ports["constant"])]
        ),
        subprocess.Popen(
            [
                sys.executable,
                str(HERE / "floor_servers.py"),
                "asyncio",
                str(ports["asyncio"]),
                str(fake.port),
                key,
            ]
        ),
        subprocess.Popen(
            [sys.executable, str(HERE / "proxy_floor.py"), str(ports["tornado"]), upstream, key]
        ),
    ]
    try:
        for port in ports.values():
            _wait_listening(port)
        head = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        conns = {"direct": http.client.HTTPConnection("127.0.0.1", fake.port, timeout=30)}
        for name, port in ports.items():
            conns[name] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        times: dict[str, list[float]] = {name: [] for name in conns}
        for i in range(n + 100):  # the first 100 rounds warm up
            for name, conn in conns.items():
                t = time.perf_counter()
                conn.request("POST", "/v1/chat/completions", body=BODY, headers=head)
                answer = conn.getresponse()
                answer.read()
                if answer.status != 200:
                    raise RuntimeError(f"{name}: HTTP {answer.status}")
                if i >= 100:
                    times[name].append(time.perf_counter() - t)
        direct = statistics.median(times["direct"]) * 1e3
        result = {"direct_p50_ms": direct, "n": float(n)}
        for name in ports:
            result[f"{name}_added_ms"] = statistics.median(times[name]) * 1e3 - direct
        return result
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        fake.close()


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
