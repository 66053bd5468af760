"""`make bench`: run every benchmark, print the table and write bench/results.md.

Benchmarks are measurements, not tests: nothing here fails because a machine is
slow. Each module exposes ``main() -> dict``; BENCHES turns results into rows.
``bench/run.py HTTP Start-up`` runs only the benchmarks named.
"""

from __future__ import annotations

import itertools
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The servers, kernels and commands measured run compiled modules, as a user's do
# (pip compiles an installed package; Python caches what it compiles): where
# PYTHONDONTWRITEBYTECODE is set, an editable install's modules would be compiled
# again at every start, and Jupyter's (compiled at install) would not.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
os.environ.setdefault("PYTHONPYCACHEPREFIX", str(Path(sys.prefix) / "pycache"))

import bench_floors
import bench_http
import bench_launch_window
import bench_proxy
import bench_redact
import bench_rotate
import bench_secrets
import bench_startup


def _http_rows(r: dict, where: str = "") -> list[tuple[str, str, str, bool | None]]:
    """The HTTP rows; ``where`` (a backend's name) marks a run whose rows carry no
    target (the targets are the default backend's)."""
    rows = _http_rows_of(r)
    if not where:
        return rows
    return [(f"{where}: {title}", value, "", None) for title, value, _, _ in rows]


def _pg_rows(r: dict | None) -> list[tuple[str, str, str, bool | None]]:
    if r is None:
        return [("PostgreSQL", "skipped (no PostgreSQL server binaries)", "", None)]
    return _http_rows(r, "PostgreSQL")


def _http_rows_of(r: dict) -> list[tuple[str, str, str, bool | None]]:
    one, lists = r["one"], r["listing"]
    s, c = one["status"], one["credential"]
    rows = [
        (
            "GET `/api/status` (Jupyter's own handler), wrk -t2 -c8",
            f"p50 {s['p50_ms']:.2f} ms, p99 {s['p99_ms']:.2f} ms, {s['rps']:.0f} req/s",
            "(the floor)",
            None,
        ),
        (
            "GET one credential, same server, same run",
            f"p50 {c['p50_ms']:.2f} ms, p99 {c['p99_ms']:.2f} ms, {c['rps']:.0f} req/s",
            "",
            None,
        ),
        (
            "Ratio credential / status",
            f"p50 {one['p50_ratio']:.2f}x, p99 {one['p99_ratio']:.2f}x, "
            f"throughput {one['rps_ratio']:.2f}x ({one['requests']:.0f} requests)",
            "<= 1.3x",
            one["p50_ratio"] <= 1.3 and one["rps_ratio"] <= 1.3,
        ),
    ]
    sizes = sorted(lists)
    for size in sizes:
        m = lists[size]
        rows.append(
            (
                f"List {size:,} credentials (GET `credentials`)",
                f"server p50 {m['server_p50_ms']:.1f} ms; client p50 {m['p50_ms']:.1f} ms "
                f"(first after insert {m['cold_ms']:.1f} ms; {m['bytes'] / 1e6:.2f} MB); "
                f"right after renaming one: server p50 {m['changed_server_p50_ms']:.1f} ms",
                "<= 40 ms at 10,000" if size == 10_000 else "",
                m["server_p50_ms"] <= 40 if size == 10_000 else None,
            )
        )
    growth = ", ".join(
        f"{lists[b]['server_p50_ms'] / lists[a]['server_p50_ms']:.1f}x from {a:,} to {b:,}"
        for a, b in itertools.pairwise(sizes)
    )
    top = [(a, b) for a, b in itertools.pairwise(sizes) if a >= 1_000]
    rows.append(
        (
            "List growth, server time (10x the rows each step)",
            growth,
            "<= 4x per 10x from 1,000",
            all(lists[b]["server_p50_ms"] <= 4 * lists[a]["server_p50_ms"] for a, b in top),
        )
    )
    big = max(sizes)
    rows.append(
        (
            f"List a page of 100 at {big:,} credentials (`limit=100&offset={big // 2}`)",
            f"server p50 {lists[big]['page_server_p50_ms']:.2f} ms",
            "<= 5 ms",
            lists[big]["page_server_p50_ms"] <= 5,
        )
    )
    return rows


def _startup_rows(r: dict) -> list[tuple[str, str, str, bool | None]]:
    return [
        (
            f"Start-up, `jupyter {app}`, with vs without the extension",
            f"{m['with_s']:.2f} s vs {m['without_s']:.2f} s (medians of {m['pairs']:.0f}); "
            f"the extension's share {m['overhead_pct']:+.1f} % (median of the pairs; "
            f"fastest with vs fastest without {m['fastest_pct']:+.1f} %); "
            f"the extension's own routes answering at {m['ready_s']:.2f} s; "
            f"first start (creates DB and key) {m['first_s']:.2f} s",
            "<= +5 %",
            m["overhead_pct"] <= 5,
        )
        for app, m in r.items()
    ]


BENCHES = [
    ("HTTP", bench_http.main, _http_rows),
    ("HTTP on PostgreSQL", bench_http.main_postgres, _pg_rows),
    (
        "Kernel client",
        bench_secrets.main,
        lambda r: [
            (
                "Kernel client `secrets.get` p50 (from a real kernel, loopback)",
                f"{r['local']['p50_ms']:.2f} ms (p99 {r['local']['p99_ms']:.2f} ms, "
                f"{r['local']['n']} calls)",
                "<= 3 ms",
                r["local"]["p50_ms"] <= 3,
            ),
            (
                "`secrets.get` p50 from a kernel on a Kernel Gateway run as another user",
                "skipped (needs root to create the gateway's user)"
                if r["gateway"] is None
                else f"{r['gateway']['p50_ms']:.2f} ms (p99 {r['gateway']['p99_ms']:.2f} ms, "
                f"{r['gateway']['n']} calls; local {r['local']['p50_ms']:.2f} ms, same run)",
                "",
                None,
            ),
        ],
    ),
    (
        "Launch window",
        bench_launch_window.main,
        lambda r: (
            []
            if r is None
            else [
                (
                    f"Kernel readable by siblings between exec and the launcher's prctl ({label})",
                    f"p50 {m['p50_ms']:.1f} ms, max {m['max_ms']:.1f} ms "
                    f"({m['readable_starts']}/{m['n']} starts readable at all); "
                    "a sibling racing PTRACE_ATTACH caught "
                    f"{m['caught']}/{m['n']}",
                    "0 with the execute-only interpreter",
                    m["readable_starts"] == 0 if label.startswith("execute") else None,
                )
                for label, m in r.items()
            ]
        ),
    ),
    (
        "Proxy",
        bench_proxy.main,
        lambda r: [
            (
                "Provider proxy: added p50 latency vs the provider directly (small JSON answer, "
                "from a kernel, kernel token and grant checked)",
                f"{r['added_p50_ms']:.2f} ms (p99 {r['added_p99_ms']:.2f} ms; direct p50 "
                f"{r['direct_p50_ms']:.2f} ms, proxied {r['proxy_p50_ms']:.2f} ms; {r['n']} pairs)",
                "<= 1 ms",
                r["added_p50_ms"] <= 1,
            ),
            (
                "Provider proxy: the floor, a bare Tornado handler forwarding with the same "
                "upstream code (no Jupyter, no checks), same loop",
                f"added p50 {r['floor_added_p50_ms']:.2f} ms; the proxy's own work above it: "
                f"{r['added_p50_ms'] - r['floor_added_p50_ms']:.2f} ms",
                "",
                None,
            ),
            (
                "Provider proxy: added time to the first streamed chunk (`stream: true`)",
                f"{r['ttfc_added_p50_ms']:.2f} ms (direct {r['ttfc_direct_ms']:.2f} ms, proxied "
                f"{r['ttfc_proxy_ms']:.2f} ms; {r['n_stream']} pairs)",
                "<= 2 ms",
                r["ttfc_added_p50_ms"] <= 2,
            ),
            (
                "Provider proxy: 8 concurrent streams, complete streams per second",
                f"{r['streams_per_s_proxy']:.0f}/s through the proxy, "
                f"{r['streams_per_s_direct']:.0f}/s directly",
                "",
                None,
            ),
        ],
    ),
    (
        "Floors",
        bench_floors.main,
        lambda r: [
            (
                "Forwarding floors without Jupyter: p50 added over the provider directly "
                "(one client process, loopback)",
                f"a Tornado handler answering a constant +{r['constant_added_ms']:.2f} ms; a "
                f"raw asyncio forwarder +{r['asyncio_added_ms']:.2f} ms; the bare Tornado "
                f"forwarder with the proxy's upstream code +{r['tornado_added_ms']:.2f} ms "
                f"(direct {r['direct_p50_ms']:.2f} ms; {r['n']:.0f} rounds)",
                "",
                None,
            )
        ],
    ),
    (
        "Redaction",
        bench_redact.main,
        lambda r: [
            (
                "Output redaction, 10 / 1,000 / 10,000 keys",
                " / ".join(f"{v:.0f}" for v in r.values()) + " MB/s",
                ">= 200 MB/s at 1,000",
                r[1000] >= 200,
            )
        ],
    ),
    ("Start-up", bench_startup.main, _startup_rows),
    (
        "Rotation",
        bench_rotate.main,
        lambda r: [
            (
                "Rotate 10,000 credentials (`jupyter open-notebook rotate`)",
                f"{r['rotation_s']:.2f} s (command incl. start-up: {r['wall_s']:.2f} s)",
                "<= 5 s",
                r["rotation_s"] <= 5,
            )
        ],
    ),
]


def main() -> None:
    load = os.getloadavg()
    rows = []
    only = set(sys.argv[1:])  # e.g. `bench/run.py HTTP Start-up` runs those alone
    for name, fn, fmt in BENCHES:
        if only and name not in only:
            continue
        started = time.perf_counter()
        result = fn()
        print(f"[{name}: {time.perf_counter() - started:.0f} s]")
        for title, value, target, met in fmt(result):
            verdict = "—" if met is None else "yes" if met else "**no**"
            rows.append((title, value, target or "", verdict))
            print(f"{title}: {value}" + (f" (target {target})" if target else ""))
    lines = [
        "# Benchmark results",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"Python {platform.python_version()}, {platform.system()}, {os.cpu_count()} CPUs, "
        f"load average before the run {load[0]:.2f} (`make bench`).",
        "",
        "Medians over interleaved rounds; the HTTP figures come from one server in one run,",
        "so their ratios hold on any machine, while absolute times vary with it.",
        "",
        "| Benchmark | Result | Target | Met |",
        "| --- | --- | --- | --- |",
        *(f"| {t} | {v} | {g} | {m} |" for t, v, g, m in rows),
        "",
    ]
    out = Path(__file__).resolve().parent / "results.md"
    out.write_text("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
