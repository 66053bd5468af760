"""Processes that hold secrets are not readable by their siblings: ``PR_SET_DUMPABLE``.

Linux lets any process of the same user read another's ``/proc/<pid>/environ``
(the *initial* environment block: deleting from ``os.environ`` does not scrub
it), open its ``/proc/<pid>/fd/*``, read ``/proc/<pid>/mem`` once attached, and
``ptrace``-attach to it. ``prctl(PR_SET_DUMPABLE, 0)``, as ssh-agent and gpg-agent
do, makes those files root's and refuses ``ptrace`` (and ``pidfd_getfd``) to
everyone but root; ``/proc/<pid>/cmdline`` and ``status`` stay readable, so no
secret may ever be on a command line. ``execve`` resets the flag to 1, so each
program that holds a secret must set it itself (the server at start-up, each
kernel in ``open_notebook_ext.kernel_launch``), unless its interpreter is an
execute-only file (mode 0111), which the kernel starts non-dumpable.

Standard library only: the kernel launcher imports this before anything else.
"""

from __future__ import annotations

import ctypes
import os
import sys

# No typing import: the launcher's prctl waits for every module imported before it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging

PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4

# What open_notebook_ext.kernel_launch found when this kernel started (empty
# elsewhere): {"dumpable_at_start": bool | None, "non_dumpable": bool,
# "traced": bool, "delivery": "handoff" | "environment" | "none" | "refused"}.
launch_report: dict[str, object] = {}

_libc: ctypes.CDLL | None = None


def _prctl() -> ctypes._CFuncPtr:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc.prctl


def available() -> bool:
    """prctl(PR_SET_DUMPABLE) exists here (Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        _prctl()
    except (OSError, AttributeError):
        return False
    return True


def is_dumpable() -> bool | None:
    """This process's dumpable flag; None where it cannot be asked."""
    if not available():
        return None
    return _prctl()(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1


def set_non_dumpable() -> None:
    """``prctl(PR_SET_DUMPABLE, 0)``; OSError when it fails or is unavailable."""
    if not available():
        raise OSError(0, f"prctl(PR_SET_DUMPABLE) is not available on {sys.platform}")
    if _prctl()(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def set_dumpable() -> None:
    """Undo ``set_non_dumpable`` (profilers and debuggers need to attach)."""
    if available() and _prctl()(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def tracer_pid() -> int | None:
    """The pid tracing this process (0: none), from /proc/self/status; None if unknown."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def protect_server(enabled: bool, log: logging.Logger) -> bool:
    """At server start-up: become non-dumpable when ``enabled``; True when it is now.

    A no-op, with a log line, where prctl is not available (not Linux) or fails.
    """
    if not enabled:
        log.info(
            "OpenNotebookApp.non_dumpable is off: processes of this user can read "
            "this server's environment and memory (/proc/%d/environ).",
            os.getpid(),
        )
        if is_dumpable() is False:
            set_dumpable()
        return False
    try:
        set_non_dumpable()
    except OSError as e:
        log.info(
            "Could not mark the server non-dumpable (%s): processes of this user can "
            "read its environment and memory.",
            e.strerror or e,
        )
        return False
    return True
