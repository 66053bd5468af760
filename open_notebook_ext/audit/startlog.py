"""How the extension's own log lines look, and what start-up says about a key file.

Module loggers (``open_notebook_ext.vault.redact`` and the others) would otherwise reach
no handler and print bare messages through Python's last-resort handler; here
they get Jupyter's handlers, so a line reads like every other line of the server
(``[W 2026-12-01 10:00:00.000 open_notebook_ext.vault.redact] ...``).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime

PACKAGE_LOGGER = "open_notebook_ext"


def log_like_jupyter(app_log: logging.Logger) -> None:
    """Send the package's module loggers through Jupyter's handlers (once). They still
    propagate: a root handler (pytest's caplog, an operator's logging config) sees them
    too."""
    package = logging.getLogger(PACKAGE_LOGGER)
    handlers = app_log.handlers or (app_log.parent.handlers if app_log.parent else [])
    if package.handlers or not handlers:
        return
    for handler in handlers:
        package.addHandler(handler)
    if package.level == logging.NOTSET:
        package.setLevel(app_log.getEffectiveLevel())


def key_file_made(path: str | None, started_at: float | None) -> str | None:
    """None when the key file was created by this start; else the date it was made
    (its modification time: the file is written once and never changed)."""
    if not path or started_at is None:
        return None
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    if mtime >= started_at - 1:
        return None
    return datetime.fromtimestamp(mtime).astimezone().strftime("%Y-%m-%d %H:%M %Z")
