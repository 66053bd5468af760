"""Redact stored API keys and kernel tokens from a notebook before it is saved.

A pre-save hook on Jupyter's ContentsManager replaces every stored key (8 or
more characters) with ``[REDACTED:<credential name>]``, and every kernel token
(``onk_`` and its random part: ``OPEN_NOTEBOOK_KERNEL_TOKEN`` in a dump of
``os.environ``) with ``[REDACTED:kernel token]``, wherever notebook code or a
widget can have put them:

* cell outputs: stream text, error names, values and tracebacks, output
  metadata, and the text-like MIME types of rich outputs (``text/*``, JSON —
  object keys as well as values —, ``application/javascript``, ``*+xml``
  including ``image/svg+xml``);
* cell metadata, and the notebook's own metadata (where ipywidgets saves its
  widget state, values typed into text boxes included).

Binary outputs are never rewritten: by nbformat's convention every other MIME
type (``image/png``, ``image/jpeg``, ``application/pdf``, audio, video, …) holds
base64 text, and a key that happens to occur in base64 must not corrupt the
image. Base64 buffers in widget state (``{"encoding": "base64", "data": ...}``)
are left alone for the same reason. Cell sources (what the user typed) and
attachments are not touched.

Kernel tokens are matched by their shape (the ``onk_`` prefix and 20 or more
URL-safe base64 characters), not looked up: the server keeps only their
digests, and a token of another server or of a kernel that already stopped is
no less worth hiding.

Key matching is one pass of an Aho-Corasick automaton over each string
(``ahocorasick_rs``, leftmost-longest). The automaton holds the decrypted keys
of the server's owner and is rebuilt only when that owner's credentials change
(one small query per save reads a digest of names and encrypted keys, so a change
made by another server on the same database is seen too): keys are never
decrypted on every save.

This is a safety net, not a guarantee: a transformed key (base64, split across
outputs, partly printed) is not recognised, and outputs already sent to the
browser or written by other means are untouched.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

import ahocorasick_rs

from open_notebook_ext.kernels.tokens import TOKEN_PREFIX

log = logging.getLogger(__name__)

MIN_KEY_LENGTH = 8
KERNEL_TOKEN_LABEL = "[REDACTED:kernel token]"  # noqa: S105 - a label
# TOKEN_PREFIX + secrets.token_urlsafe(32) (43 characters); any length from 20 on.
_KERNEL_TOKEN = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{20,}")
# MIME types nbformat stores as text besides text/*, *+json and *+xml.
_TEXT_MIMES = frozenset(
    {"application/javascript", "application/json", "application/xml", "image/svg+xml"}
)


def is_text_mime(mime: str) -> bool:
    """True for MIME types whose value is text or JSON; every other type holds base64."""
    mime = mime.strip().lower()
    return mime.startswith("text/") or mime in _TEXT_MIMES or mime.endswith(("+json", "+xml"))


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
        self._ac = (
            ahocorasick_rs.BytesAhoCorasick(
                [p.encode("utf-8", "surrogatepass") for p in self.patterns],
                matchkind=ahocorasick_rs.MatchKind.LeftmostLongest,
                implementation=ahocorasick_rs.Implementation.DFA,
            )
            if self.patterns
            else None
        )

    def __len__(self) -> int:
        return len(self.patterns)

    def redact(self, text: str) -> tuple[str, int]:
        """``text`` with stored keys and kernel tokens replaced, and how many were."""
        if not text:
            return text, 0
        count = 0
        if self._ac is not None:
            data = text.encode("utf-8", "surrogatepass")
            matches = self._ac.find_matches_as_indexes(data)
            if matches:
                out, last = [], 0
                for index, start, end in matches:
                    out.append(data[last:start])
                    out.append(self.labels[index])
                    last = end
                out.append(data[last:])
                text, count = b"".join(out).decode("utf-8", "surrogatepass"), len(matches)
        if TOKEN_PREFIX in text:
            text, tokens = _KERNEL_TOKEN.subn(KERNEL_TOKEN_LABEL, text)
            count += tokens
        return text, count


def _redact_value(value: Any, automaton: Automaton) -> tuple[Any, int]:
    """Strings anywhere inside JSON-like data (lists, dicts), object keys included;
    base64 buffers (``{"encoding": "base64", "data": ...}``) are left as they are."""
    if isinstance(value, str):
        return automaton.redact(value)
    if isinstance(value, list):
        total = 0
        for i, item in enumerate(value):
            value[i], n = _redact_value(item, automaton)
            total += n
        return value, total
    if isinstance(value, dict):
        return value, _redact_dict(value, automaton)
    return value, 0


def _redact_dict(value: dict[str, Any], automaton: Automaton) -> int:
    """Keys and values of ``value``, in place (same object, same key order)."""
    binary = value.get("encoding") == "base64"
    total = 0
    items = []
    renamed = False
    for key, item in value.items():
        new_key, n = automaton.redact(key) if isinstance(key, str) else (key, 0)
        total += n
        renamed = renamed or n > 0
        if not (binary and key == "data"):
            item, n = _redact_value(item, automaton)
            total += n
        items.append((new_key, item))
    if renamed:
        value.clear()
        for key, item in items:
            unique, i = key, 2
            while unique in value:  # two keys redacted to the same label: keep both values
                unique, i = f"{key} ({i})", i + 1
            value[unique] = item
    else:
        for key, item in items:
            value[key] = item
    return total


def _redact_mimebundle(data: Any, automaton: Automaton) -> int:
    """The text-like entries of an output's ``data``; binary (base64) ones stay as they are."""
    if not isinstance(data, dict):
        return 0
    total = 0
    for mime in list(data):
        if isinstance(mime, str) and is_text_mime(mime):
            data[mime], n = _redact_value(data[mime], automaton)
            total += n
    return total


def redact_notebook(nb: dict[str, Any], automaton: Automaton) -> int:
    """Redact the notebook's metadata, and every cell's metadata and outputs, in place;
    returns the number of replacements."""
    total = 0
    if isinstance(nb.get("metadata"), dict):
        total += _redact_dict(nb["metadata"], automaton)
    for cell in nb.get("cells") or []:
        if not isinstance(cell, dict):
            continue
        if isinstance(cell.get("metadata"), dict):
            total += _redact_dict(cell["metadata"], automaton)
        for output in cell.get("outputs") or []:
            if not isinstance(output, dict):
                continue
            for field in ("text", "ename", "evalue", "traceback", "metadata"):
                if field in output:
                    output[field], n = _redact_value(output[field], automaton)
                    total += n
            total += _redact_mimebundle(output.get("data"), automaton)
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
        # Called with (owner, path, count) after a save replaced keys (the app tells
        # the owner's open pages); a failure there never blocks the save.
        self.on_redacted: Callable[[str, str, int], None] | None = None

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
            owner = self._owner()
            automaton = self.automaton(owner)
            count = redact_notebook(model["content"], automaton)
        except Exception:
            # Never block a save (that would lose the user's work); say so loudly.
            log.error("Could not redact stored keys from %s before saving", path, exc_info=True)
            return
        if count:
            log.warning(
                "Redacted %d stored API key occurrence(s) from the outputs of %s", count, path
            )
            if self.on_redacted is not None:
                try:
                    self.on_redacted(owner, path, count)
                except Exception:
                    log.error("Could not tell the page that %s was redacted", path, exc_info=True)
