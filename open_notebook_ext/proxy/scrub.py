"""Error answers from providers, scrubbed of anything that may be (part of) the key.

Providers echo a masked key in error messages (OpenAI: "Incorrect API key provided:
sk-te****wxyz"); the proxy passes error bodies back only through :func:`scrub`.
"""

from __future__ import annotations

import re

SCRUBBED = "[REDACTED]"
_MASKED = re.compile(r"[A-Za-z0-9_\-]*(?:\*{2,}|\u2022{2,}|\.{3,}|\u2026)[A-Za-z0-9_\-]*")
_WORD = re.compile(r"[A-Za-z0-9_\-.+/=]{8,}")
_GRAM = 8


def scrub(body: bytes, secrets: list[str]) -> bytes:
    """``body`` with anything that may be (part of) one of ``secrets`` replaced.

    Providers echo a masked key in error messages (OpenAI: "Incorrect API key
    provided: sk-te****wxyz"): every masked word (``**``, ``••``, ``...`` inside a
    word) goes, as does every word sharing 8 consecutive characters with a secret.
    Only error answers are scrubbed; they are small.
    """
    text = body.decode("utf-8", "replace")
    grams = {s[i : i + _GRAM] for s in secrets if s for i in range(max(len(s) - _GRAM + 1, 0))}
    for s in secrets:
        if s:
            text = text.replace(s, SCRUBBED)
    text = _MASKED.sub(lambda m: SCRUBBED if len(m.group(0)) >= 4 else m.group(0), text)

    def word(m: re.Match[str]) -> str:
        w = m.group(0)
        return SCRUBBED if any(w[i : i + _GRAM] in grams for i in range(len(w) - _GRAM + 1)) else w

    return _WORD.sub(word, text).encode("utf-8")
