"""HTTP benchmarks against one real server, side by side with Jupyter's own `/api/status`.

* ``one``: GET one credential vs GET ``/api/status`` on the same server in the same
  run, driven by ``wrk`` (2 threads, 8 connections, keep-alive). The two are
  interleaved (status, credential, status, credential, ...) so a noisy moment
  hits both; each figure is the median over the rounds.
* ``listing``: GET ``credentials`` holding 100 / 1,000 / 10,000 credentials. Rows
  are inserted straight into the database (encrypted with the server's key, as
  the API would store them) between sizes; the first list after an insert is
  reported separately ("cold": it checks every new row's ciphertext), then the
  p50 of ``LIST_SAMPLES`` lists over one keep-alive connection: the server's own
  time (its ``Server-Timing`` header: handler start to response ready) and the
  time the client saw (plus sending and receiving the body); then a page of 100
  from the middle (``limit``/``offset``), and the list read right after renaming one
  credential (the server keeps the list it answered until a credential is written;
  vault/listing.py).

``main_postgres`` runs both on a throwaway PostgreSQL cluster (tests/support/pg.py):
the scale backend, whose reads leave the event loop for a worker thread and cross
a socket.

Everything runs on loopback; nothing here asserts a speed.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import requests
from cryptography.fernet import Fernet

from open_notebook_ext.db.common import new_id
from open_notebook_ext.db.engine import Database
from open_notebook_ext.db.orm import Credential, utcnow
from open_notebook_ext.vault.credentials import key_hint
from open_notebook_ext.vault.keyring import KeyRing
from support.leaks import random_api_key
from support.pg import PostgresCluster, find_bindir
from support.servers import API, ServerProcess

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
LIST_SIZES = (100, 1_000, 10_000)
LIST_SAMPLES = int(os.environ.get("BENCH_LIST_SAMPLES", "15"))

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def wrk(url: str, token: str, seconds: int = SECONDS) -> dict[str, float]:
    """One wrk run: requests/s, p50 and p99 latency (ms), and non-2xx count."""
    exe = shutil.which("wrk")
    if exe is None:
        raise RuntimeError("wrk is missing: `make bench` installs it (Debian package wrk)")
    out = subprocess.run(
        [
            exe,
            "-t2",
            "-c8",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Authorization: token {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if non2xx or errors:
        raise RuntimeError(f"wrk saw failures against {url}:\n{out}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        # the latency distribution's lines ("     50%    6.02ms"), not a "+/- Stdev" column
        "p50_ms": _ms(re.search(r"^\s*50%\s+(\S+)$", out, re.M).group(1)),  # type: ignore[union-attr]
        "p99_ms": _ms(re.search(r"^\s*99%\s+(\S+)$", out, re.M).group(1)),  # type: ignore[union-attr]
        "requests": float(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
    }


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def one_credential(server: ServerProcess, credential_id: str) -> dict[str, Any]:
    status_url = server.url + "api/status"
    cred_url = f"{server.url}{API}/credentials/{credential_id}"
    for url in (status_url, cred_url):  # warm up both paths
        wrk(url, server.token, seconds=1)
    status_runs, cred_runs = [], []
    for _ in range(ROUNDS):
        status_runs.append(wrk(status_url, server.token))
        cred_runs.append(wrk(cred_url, server.token))
    status, cred = _median(status_runs), _median(cred_runs)
    return {
        "status": status,
        "credential": cred,
        "p50_ratio": cred["p50_ms"] / status["p50_ms"],
        "p99_ratio": cred["p99_ms"] / status["p99_ms"],
        "rps_ratio": status["rps"] / cred["rps"],
        "requests": sum(r["requests"] for r in status_runs + cred_runs),
    }


def _server_ms(header: str) -> float:
    """The ``dur`` of our ``Server-Timing: app;dur=12.34`` header."""
    return float(re.fullmatch(r"app;dur=([\d.]+)", header).group(1))  # type: ignore[union-attr]


def _insert(db_url: str, key: bytes, owner: str, start: int, count: int) -> None:
    ring = KeyRing([key])
    now = utcnow()
    rows = []
    for i in range(start, start + count):
        secret = f"sk-bench-{i:08d}-{os.urandom(8).hex()}"
        token, kid = ring.encrypt(secret)
        rows.append(
            Credential(
                id=new_id("credential"),
                owner=owner,
                name=f"bench {i:05d}",
                provider=("openai", "anthropic", "groq")[i % 3],
                modalities=["language"],
                api_key_encrypted=token,
                key_id=kid,
                api_key_hint=key_hint(secret),
                created=now,
                updated=now,
            )
        )
    db = Database(db_url)
    try:
        with db.session(write=True) as s:
            s.add_all(rows)
    finally:
        db.dispose()


def _page(http: requests.Session, url: str, size: int) -> float:
    """Server p50 of a page of 100 from the middle of the list (limit/offset)."""
    times = []
    for _ in range(LIST_SAMPLES):
        r = http.get(url, params={"limit": 100, "offset": size // 2}, timeout=120)
        r.raise_for_status()
        if len(r.json()) != min(100, size - size // 2):
            raise RuntimeError(f"a page of {len(r.json())} credentials")
        times.append(_server_ms(r.headers["Server-Timing"]))
    return statistics.median(times)


def _after_a_change(http: requests.Session, url: str, credential_id: str) -> float:
    """Server p50 of the list read right after one credential was renamed (what the
    panel does after an edit): the kept list is made again from the rows' kept JSON."""
    times = []
    for i in range(LIST_SAMPLES):
        r = http.put(
            f"{url}/{credential_id}", json={"name": f"renamed {credential_id} {i}"}, timeout=60
        )
        r.raise_for_status()
        r = http.get(url, timeout=120)
        r.raise_for_status()
        times.append(_server_ms(r.headers["Server-Timing"]))
    return statistics.median(times)


def listing(server: ServerProcess, db_url: str, key: bytes, owner: str) -> dict[int, dict]:
    url = f"{server.url}{API}/credentials"
    results: dict[int, dict] = {}
    have = 1
    with requests.Session() as http:
        http.headers["Authorization"] = f"token {server.token}"
        for size in LIST_SIZES:
            _insert(db_url, key, owner, have, size - have)
            have = size
            t = time.perf_counter()
            r = http.get(url, timeout=120)
            cold = (time.perf_counter() - t) * 1e3
            r.raise_for_status()
            if len(r.json()) != size:
                raise RuntimeError(f"listed {len(r.json())} credentials, expected {size}")
            samples, server = [], []
            for _ in range(LIST_SAMPLES):
                t = time.perf_counter()
                r = http.get(url, timeout=120)
                samples.append((time.perf_counter() - t) * 1e3)
                r.raise_for_status()
                server.append(_server_ms(r.headers["Server-Timing"]))
            samples.sort()
            server.sort()
            results[size] = {
                "cold_ms": cold,
                "p50_ms": samples[len(samples) // 2],
                "server_p50_ms": server[len(server) // 2],
                "max_ms": samples[-1],
                "bytes": len(r.content),
                "page_server_p50_ms": _page(http, url, size),
                "changed_server_p50_ms": _after_a_change(http, url, r.json()[size // 2]["id"]),
            }
    return results


def main(db_url: str | None = None) -> dict[str, Any]:
    """Both benchmarks on one server: on SQLite in its home by default, else ``db_url``."""
    key = Fernet.generate_key()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        db_url = db_url or f"sqlite:///{home / 'bench.db'}"
        server = ServerProcess(
            home, env={"OPEN_NOTEBOOK_ENCRYPTION_KEY": key.decode(), "OPEN_NOTEBOOK_DB_URL": db_url}
        ).start()
        try:
            created = server.api(
                "POST",
                "credentials",
                {"name": "bench 00000", "provider": "openai", "api_key": random_api_key()},
            )
            if created.status != 201:
                raise RuntimeError(f"could not create a credential: {created.status}")
            db = Database(db_url)
            with db.session() as s:
                owner = s.get(Credential, created.json["id"]).owner
            db.dispose()
            one = one_credential(server, created.json["id"])
            lists = listing(server, db_url, key, owner)
        finally:
            server.stop()
    return {"one": one, "listing": lists}


def main_postgres() -> dict[str, Any] | None:
    """The same on a throwaway PostgreSQL cluster on loopback (None without its binaries)."""
    bindir = find_bindir()
    if bindir is None:
        return None
    cluster = PostgresCluster(bindir).start()
    try:
        return main(cluster.create_database("bench"))
    finally:
        cluster.stop()


if __name__ == "__main__":
    r = main()
    one = r["one"]
    for name in ("status", "credential"):
        m = one[name]
        print(
            f"GET {name}: p50 {m['p50_ms']:.2f} ms, p99 {m['p99_ms']:.2f} ms, {m['rps']:.0f} req/s"
        )
    print(
        f"ratio: p50 {one['p50_ratio']:.2f}x, p99 {one['p99_ratio']:.2f}x, "
        f"throughput {one['rps_ratio']:.2f}x"
    )
    for size, m in r["listing"].items():
        print(
            f"list {size:>6}: server p50 {m['server_p50_ms']:.1f} ms, "
            f"client p50 {m['p50_ms']:.1f} ms (cold {m['cold_ms']:.1f} ms, "
            f"max {m['max_ms']:.1f} ms, {m['bytes']} bytes)"
        )
