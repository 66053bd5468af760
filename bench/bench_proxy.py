"""The provider proxy against calling the provider directly, same run, from a real kernel.

A fake provider on loopback (tests/support/fake_provider.py: a standard-library HTTP server
answering OpenAI's chat completions) and a real server whose credential points at
it. The timing loops run inside a kernel, as notebook code would, with the kernel's
token and a granted notebook (so the grant check is in the measured path), on
kept-alive connections: each direct call is followed by the same call through the
proxy, so both see the same machine load.

* added latency: p50 of (proxied - direct) for a small non-streamed answer;
* added time to the first streamed chunk (``stream: true``, the first ``data:`` line);
* throughput: 8 streams at once through the proxy (and directly), for a few seconds;
* the floor: the same small call through a bare Tornado forwarder with the same
  upstream code (``proxy_floor.py``), in the same loop: what any Tornado-served proxy
  costs on this machine, so that the real proxy's figure minus it is our own work.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.fake_provider import FakeProvider
from support.kernels import Kernel
from support.leaks import random_api_key
from support.servers import ServerProcess, free_port

FLOOR = Path(__file__).resolve().parent / "proxy_floor.py"

CODE = r"""
import http.client, json, statistics, threading, time
from urllib.parse import urlsplit
from open_notebook_ext import secrets

p = secrets.proxy("Bench")
DIRECT, PROXY, FLOOR = urlsplit("%(direct)s"), urlsplit(p.base_url), urlsplit("%(floor)s")
BODY = json.dumps({"model": "bench", "messages": [{"role": "user", "content": "hi"}]})
STREAM = json.dumps({"model": "bench", "stream": True,
                     "messages": [{"role": "user", "content": "hi"}]})
HEAD_D = {"Authorization": "Bearer %(key)s", "Content-Type": "application/json"}
HEAD_P = {"Authorization": "Bearer " + p.api_key, "Content-Type": "application/json"}

def conn(u):
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)

def call(c, u, head, body, first=False):
    t = time.perf_counter()
    c.request("POST", u.path.rstrip("/") + "/chat/completions", body=body, headers=head)
    r = c.getresponse()
    assert r.status == 200, r.status
    ttfc = None
    if first:
        while True:
            line = r.readline()
            if line.startswith(b"data:"):
                ttfc = time.perf_counter() - t
                break
    r.read()
    return time.perf_counter() - t, ttfc

cd, cp, cf = conn(DIRECT), conn(PROXY), conn(FLOOR)
for _ in range(50):  # warm up the three paths
    call(cd, DIRECT, HEAD_D, BODY); call(cp, PROXY, HEAD_P, BODY); call(cf, FLOOR, HEAD_P, BODY)
direct, proxied, added, floor_added = [], [], [], []
for _ in range(%(n)d):
    d, _ = call(cd, DIRECT, HEAD_D, BODY); pr, _ = call(cp, PROXY, HEAD_P, BODY)
    f, _ = call(cf, FLOOR, HEAD_P, BODY)
    direct.append(d); proxied.append(pr); added.append(pr - d); floor_added.append(f - d)
fd, fp, fadded = [], [], []
for _ in range(%(n_stream)d):
    _, d = call(cd, DIRECT, HEAD_D, STREAM, first=True)
    _, pr = call(cp, PROXY, HEAD_P, STREAM, first=True)
    fd.append(d); fp.append(pr); fadded.append(pr - d)

def throughput(u, head, seconds=%(seconds)f, streams=8):
    done, stop = [0] * streams, time.perf_counter() + seconds
    def run(i):
        c = conn(u)
        while time.perf_counter() < stop:
            call(c, u, head, STREAM, first=True); done[i] += 1
    threads = [threading.Thread(target=run, args=(i,)) for i in range(streams)]
    t = time.perf_counter()
    for th in threads: th.start()
    for th in threads: th.join()
    return sum(done) / (time.perf_counter() - t)

tp_direct, tp_proxy = throughput(DIRECT, HEAD_D), throughput(PROXY, HEAD_P)
ms = lambda xs: statistics.median(xs) * 1e3
q99 = lambda xs: sorted(xs)[int(len(xs) * 0.99)] * 1e3
print(json.dumps({
    "n": len(added), "direct_p50_ms": ms(direct), "proxy_p50_ms": ms(proxied),
    "added_p50_ms": ms(added), "added_p99_ms": q99(added),
    "floor_added_p50_ms": ms(floor_added),
    "n_stream": len(fadded), "ttfc_direct_ms": ms(fd), "ttfc_proxy_ms": ms(fp),
    "ttfc_added_p50_ms": ms(fadded),
    "streams_per_s_direct": tp_direct, "streams_per_s_proxy": tp_proxy}))
"""


def main(n: int = 1000, n_stream: int = 300, seconds: float = 5.0) -> dict:
    key = random_api_key()
    fake = FakeProvider(key, hold=5.0, gap=0.0)
    fake.release_event.set()  # no hold after the first event
    floor_port = free_port()
    floor = subprocess.Popen(
        [sys.executable, str(FLOOR), str(floor_port), f"{fake.url}/v1", key],
        stdout=subprocess.DEVNULL,
    )
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(
            Path(tmp),
            env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": "bench"},
            args=["--OpenNotebookApp.allow_private_targets=True", "--ServerApp.log_level=WARN"],
        ).start()
        try:
            cred = server.api(
                "POST",
                "credentials",
                {
                    "name": "Bench",
                    "provider": "openai",
                    "api_key": key,
                    "base_url": f"{fake.url}/v1",
                    "key_access": "proxy",
                },
            ).json
            (server.root / "bench.ipynb").write_text('{"cells": []}')
            server.api(
                "PUT", "grants", {"credential_id": cred["id"], "notebook_path": "bench.ipynb"}
            )
            kernel = Kernel(server, "bench.ipynb")
            try:
                out = kernel.run(
                    CODE
                    % {
                        "direct": f"{fake.url}/v1",
                        "floor": f"http://127.0.0.1:{floor_port}/v1",
                        "key": key,
                        "n": n,
                        "n_stream": n_stream,
                        "seconds": seconds,
                    },
                    timeout=1200,
                )
            finally:
                kernel.shutdown()
        finally:
            server.stop()
            floor.terminate()
            floor.wait(10)
            fake.close()
    return json.loads(out)


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
