"""Audit events: structured, schema-validated (jupyter_events), never carrying a secret.

Events go to an ``EventLogger`` of our own, so the usual jupyter_events
configuration (``c.EventLogger.handlers = [...]``) adds sinks, and by default
to a JSON-lines file in the data directory (0600, rotated by size). The
schemas in ``open_notebook_ext/audit/events/`` forbid any property they do not
list (``additionalProperties: false``), so a secret cannot ride along in a
field nobody meant to add.

``read()`` serves ``GET open-notebook/api/audit`` from the same files, newest
first.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from functools import cache
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from jupyter_events import EventLogger
from jupyter_events.schema import EventSchema
from traitlets.config import Configurable

SCHEMA_DIR = Path(__file__).resolve().parent / "events"
SCHEMA_BASE = "https://events.open-notebook-ext.invalid"
KINDS = ("credential", "grant", "auth", "rotation", "budget", "prompt")
SCHEMA_IDS = {kind: f"{SCHEMA_BASE}/{kind}/v1" for kind in KINDS}
_KIND_OF = {v: k for k, v in SCHEMA_IDS.items()}

log = logging.getLogger(__name__)


@cache
def _schema(kind: str) -> EventSchema:
    """The ``kind`` event schema, read and checked against jupyter_events' meta-schema
    once per process (each check costs ~10 ms; a server and its tests build many
    loggers)."""
    return EventSchema(SCHEMA_DIR / f"{kind}.yaml")


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A size-rotated log file created 0600 (and its rotated copies too)."""

    def _open(self):  # type: ignore[no-untyped-def]  # the stub of RotatingFileHandler._open is private and varies across Python versions
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return os.fdopen(fd, self.mode, encoding=self.encoding, errors=self.errors)


class AuditLog:
    """Emit audit events; read back recent ones."""

    def __init__(
        self,
        path: str | Path | None,
        *,
        max_bytes: int = 10 * 1024 * 1024,
        backups: int = 5,
        parent: Configurable | None = None,
    ) -> None:
        self.path = Path(path) if path else None
        self.backups = backups
        self.events = EventLogger(parent=parent) if parent is not None else EventLogger()
        for kind in KINDS:
            # EventLogger hands it to SchemaRegistry.register, which takes an EventSchema
            # as is; EventLogger's own hint leaves that type out.
            self.events.register_event_schema(_schema(kind))  # type: ignore[arg-type]
        self._handler: logging.Handler | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._handler = PrivateRotatingFileHandler(
                self.path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
            )
            self.events.register_handler(self._handler)

    def emit(self, kind: str, **data: Any) -> None:
        """Record one event. Auditing must never break the request it describes."""
        clean = {k: v for k, v in data.items() if v is not None}
        try:
            self.events.emit(schema_id=SCHEMA_IDS[kind], data=clean)
        except Exception:
            # The data is not logged: it failed validation, so it may hold anything.
            log.error("Could not record a %s audit event", kind, exc_info=False)

    def close(self) -> None:
        if self._handler is not None:
            self.events.remove_handler(self._handler)
            self._handler.close()

    # -- reading -------------------------------------------------------------

    def _files(self) -> list[Path]:
        if self.path is None:
            return []
        files = [self.path] + [Path(f"{self.path}.{i}") for i in range(1, self.backups + 1)]
        return [f for f in files if f.exists()]

    def _lines_newest_first(self) -> Iterator[str]:
        for f in self._files():
            yield from reversed(f.read_text(encoding="utf-8", errors="replace").splitlines())

    def read(
        self, *, owner: str | None = None, limit: int = 100, since: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Recent events, newest first; only ``owner``'s where events have an owner."""
        out: list[dict[str, Any]] = []
        for line in self._lines_newest_first():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            kind = _KIND_OF.get(record.get("__schema__", ""))
            if kind is None:
                continue
            when = parse_time(record.get("__timestamp__", ""))
            if since is not None and (when is None or when <= since):
                break  # files are in time order: everything further is older
            if owner is not None and record.get("owner", owner) != owner:
                continue
            event = {k: v for k, v in record.items() if not k.startswith("__")}
            event.update(kind=kind, time=when.isoformat() if when else None)
            out.append(event)
            if len(out) >= limit:
                break
        return out


def parse_time(value: str) -> datetime | None:
    """jupyter_events writes ``<isoformat>Z`` even after a ``+00:00`` offset."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1]
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
