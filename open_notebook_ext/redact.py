"""Redact stored API keys from notebook outputs before a notebook is saved.

A pre-save hook on Jupyter's ContentsManager replaces every stored key (8 or
more characters) found in cell outputs — stream text, ``text/plain``,
``text/html``, ``text/markdown``, JSON values, error names, values and
tracebacks — with ``[REDACTED:<credential name>]``.

Matching is one pass of an Aho-Corasick automaton over each output string
(``ahocorasick_rs``, leftmost-longest). The automaton holds the decrypted keys
of the server's owner and is rebuilt only when that owner's credentials change
(one cheap count/max(updated) query per save detects it): keys are never
decrypted on every save.

This is a safety net, not a guarantee: a transformed key (base64, split across
outputs, partly printed) is not recognised, and outputs already sent to the
browser or written by other means are untouched.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import ahocorasick_rs

log = logging.getLogger(__name__)

MIN_KEY_LENGTH = 8


class Automaton:
    """Keys -> replacement labels, matched in one pass."""

    def __init__(self, keys: list[tuple[str, str]], min_length: int = MIN_KEY_LENGTH) -> None:
        labels: dict[str, str] = {}
        for name, key in keys:
            if len(key) >= min_length:
                labels.setdefault(key, f"[REDACTED:{name}]")
        self.patterns = list(labels)
        self.labels = [labels[p].encode("utf-8") for p in self.patterns]
        # Searching UTF-8 bytes is ~6x faster than searching str (no character-index
        # bookkeeping), and encoding output text is cheap next to it.
        self._ac = (ahocorasick_rs.BytesAhoCorasick(
            [p.encode("utf-8", "surrogatepass") for p in self.patterns],
            matchkind=ahocorasick_rs.MatchKind.LeftmostLongest,
            implementation=ahocorasick_rs.Implementation.DFA)
            if self.patterns else None)

    def __len__(self) -> int:
        return len(self.patterns)

    def redact(self, text: str) -> tuple[str, int]:
        if self._ac is None or not text:
            return text, 0
        data = text.encode("utf-8", "surrogatepass")
        matches = self._ac.find_matches_as_indexes(data)
        if not matches:
            return text, 0
        out, last = [], 0
        for index, start, end in matches:
            out.append(data[last:start])
            out.append(self.labels[index])
            last = end
        out.append(data[last:])
        return b"".join(out).decode("utf-8", "surrogatepass"), len(matches)


def _redact_value(value: Any, automaton: Automaton) -> tuple[Any, int]:
    """Strings anywhere inside JSON-like data (lists, dicts)."""
    if isinstance(value, str):
        return automaton.redact(value)
    if isinstance(value, list):
        total = 0
        for i, item in enumerate(value):
            value[i], n = _redact_value(item, automaton)
            total += n
        return value, total
    if isinstance(value, dict):
        total = 0
        for k in list(value):
            value[k], n = _redact_value(value[k], automaton)
            total += n
        return value, total
    return value, 0


def redact_notebook(nb: dict[str, Any], automaton: Automaton) -> int:
    """Redact every output of every cell in place; returns the number of replacements."""
    total = 0
    for cell in nb.get("cells") or []:
        for output in cell.get("outputs") or []:
            for field in ("text", "data", "ename", "evalue", "traceback", "metadata"):
                if field in output:
                    output[field], n = _redact_value(output[field], automaton)
                    total += n
    return total


class Redactor:
    """Keeps one automaton per owner, rebuilt when that owner's credentials change."""

    def __init__(
        self,
        load_keys: Callable[[str], list[tuple[str, str]]],
        change_marker: Callable[[str], object],
        owner: Callable[[], str],
        min_length: int = MIN_KEY_LENGTH,
    ) -> None:
        self._load_keys = load_keys
        self._marker = change_marker
        self._owner = owner
        self.min_length = min_length
        self._cache: dict[str, tuple[object, Automaton]] = {}
        self._lock = threading.Lock()
        self.builds = 0

    def automaton(self, owner: str) -> Automaton:
        marker = self._marker(owner)
        with self._lock:
            cached = self._cache.get(owner)
            if cached is not None and cached[0] == marker:
                return cached[1]
        automaton = Automaton(self._load_keys(owner), self.min_length)
        with self._lock:
            self._cache[owner] = (marker, automaton)
            self.builds += 1
        return automaton

    def pre_save_hook(self, model: dict[str, Any], path: str, **_: Any) -> None:
        """ContentsManager pre-save hook (signature: model, path, contents_manager)."""
        if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
            return
        try:
            automaton = self.automaton(self._owner())
            count = redact_notebook(model["content"], automaton)
        except Exception:
            # Never block a save (that would lose the user's work); say so loudly.
            log.error("Could not redact stored keys from %s before saving", path,
                      exc_info=True)
            return
        if count:
            log.warning("Redacted %d stored API key occurrence(s) from the outputs of %s",
                        count, path)
