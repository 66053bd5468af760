"""`make bench`: run every benchmark, print the table and write bench/results.md.

Benchmarks are measurements, not tests: nothing here fails because a machine is
slow. Each module exposes ``main() -> dict`` and a ``ROW`` formatter.
"""

from __future__ import annotations

import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_redact
import bench_rotate
import bench_secrets

BENCHES = [
    ("Kernel client `secrets.get` p50 (from a real kernel, loopback)", bench_secrets.main,
     lambda r: (f"{r['p50_ms']:.2f} ms (p99 {r['p99_ms']:.2f} ms, {r['n']} calls)",
                "<= 3 ms", r["p50_ms"] <= 3)),
    ("Output redaction, 10 / 1,000 / 10,000 keys", bench_redact.main,
     lambda r: (" / ".join(f"{v:.0f}" for v in r.values()) + " MB/s", ">= 200 MB/s at 1,000",
                r[1000] >= 200)),
    ("Rotate 10,000 credentials (`jupyter open-notebook rotate`)", bench_rotate.main,
     lambda r: (f"{r['rotation_s']:.2f} s (command incl. start-up: {r['wall_s']:.2f} s)",
                "<= 5 s", r["rotation_s"] <= 5)),
]


def main() -> None:
    rows = []
    for title, fn, fmt in BENCHES:
        started = time.perf_counter()
        result = fn()
        value, target, met = fmt(result)
        rows.append((title, value, target, "yes" if met else "**no**"))
        print(f"{title}: {value} (target {target}) [{time.perf_counter() - started:.0f}s]")
    lines = [
        "# Benchmark results",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"Python {platform.python_version()}, {platform.system()} (`make bench`).",
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
