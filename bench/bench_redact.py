"""Output redaction throughput: MB/s of notebook output scanned, 10 / 1,000 / 10,000 keys.

The text is realistic output (log lines, numbers, a JSON dump) of about 32 MB
with a stored key every ~1 MB; throughput counts the characters scanned.
"""

from __future__ import annotations

import secrets
import time

from open_notebook_ext.redact import Automaton

SIZE = 32 * 1024 * 1024


def corpus(keys: list[str]) -> str:
    line = (
        "2026-11-23 10:00:00 INFO step=1234 loss=0.0421 lr=3e-4 "
        '{"model": "gpt-4o-mini", "tokens": 812, "ok": true}\n'
    )
    chunk = line * (1024 * 1024 // len(line))
    parts, i = [], 0
    while sum(len(p) for p in parts) < SIZE:
        parts.append(chunk)
        parts.append(f"leaked {keys[i % len(keys)]}\n")
        i += 1
    return "".join(parts)


def measure(n_keys: int) -> float:
    keys = [f"sk-{secrets.token_hex(20)}" for _ in range(n_keys)]
    automaton = Automaton([(f"k{i}", k) for i, k in enumerate(keys)])
    text = corpus(keys)
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        redacted, count = automaton.redact(text)
        elapsed = time.perf_counter() - start
        best = max(best, len(text) / elapsed / 1e6)
    assert count > 0 and keys[0] not in redacted
    return best


def main() -> dict[str, float]:
    return {n: measure(n) for n in (10, 1000, 10000)}


if __name__ == "__main__":
    for n, mbs in main().items():
        print(f"{n:>6} keys: {mbs:.0f} MB/s")
