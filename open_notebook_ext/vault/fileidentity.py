"""Which file a notebook path names right now, so a grant can die with its file.

A grant is given to the file at a path, not to the path: when that file is
deleted outside Jupyter's contents API (a terminal, ``git``, a sync tool) and
another file is later created at the same path, the new file must not inherit
the grant. So a grant records the file's identity when it is given, and every
use compares it with the file that is there now.

The identity is the inode number and the file's *birth time* in nanoseconds
(``statx`` on Linux, ``st_birthtime`` elsewhere), ``"<inode>:<birth ns>"``:

* inode numbers are reused: on ext4 a file deleted and created again in the same
  directory often gets the very same number; the birth time tells them apart;
* the change time (ctime) cannot be used: every save changes it;
* the device number is left out: it can change across reboots and container
  restarts (overlay and network filesystems), while the path already pins the
  filesystem;
* where the filesystem reports no birth time the identity is the inode alone
  (``"<inode>"``), and an inode number reused for a new file at the same path
  would pass (see SECURITY.md).

Jupyter saves a notebook in place (``atomic_writing`` copies the old content
aside and rewrites the same file), and renames keep the inode, so saving and
renaming keep a grant. A tool that replaces the file with a new one (an editor
writing a temporary file and renaming it over, ``git checkout``) ends it: grant
the notebook again.
"""

from __future__ import annotations

import ctypes
import os
import stat
import struct
import sys
from collections.abc import Callable
from typing import Any

from open_notebook_ext.http import compat

# statx(2): struct statx is 256 bytes; the fields read here are at fixed offsets.
_AT_FDCWD = -100
_STATX_TYPE, _STATX_INO, _STATX_BTIME = 0x1, 0x100, 0x800
_STATX_SIZE = 256


def _load_statx() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.statx
    except (OSError, AttributeError):  # not glibc 2.28+ / musl 1.2.5+
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_char_p]
    fn.restype = ctypes.c_int
    return fn


_statx = _load_statx()


def _identity_statx(path: bytes) -> str | bool | None:
    """The identity through statx; False when statx is not usable here."""
    assert _statx is not None
    buf = ctypes.create_string_buffer(_STATX_SIZE)
    if _statx(_AT_FDCWD, path, 0, _STATX_TYPE | _STATX_INO | _STATX_BTIME, buf) != 0:
        err = ctypes.get_errno()
        if err in (38, 95):  # ENOSYS, EOPNOTSUPP: an old kernel or a sandbox
            return False
        return None
    raw = buf.raw
    mask, mode, ino = (
        struct.unpack_from("<I", raw, 0)[0],
        struct.unpack_from("<H", raw, 28)[0],
        struct.unpack_from("<Q", raw, 32)[0],
    )
    if not mask & _STATX_TYPE or not stat.S_ISREG(mode):
        return None
    if mask & _STATX_BTIME:
        sec, nsec = struct.unpack_from("<qI", raw, 80)
        return f"{ino}:{sec * 1_000_000_000 + nsec}"
    return str(ino)


def file_identity(os_path: str) -> str | None:
    """The identity of the regular file at ``os_path`` (symlinks followed), or None when
    there is none (missing, a directory, unreadable)."""
    try:
        encoded = os.fsencode(os_path)
    except (TypeError, ValueError):
        return None
    if b"\x00" in encoded:
        return None
    if _statx is not None:
        found = _identity_statx(encoded)
        if found is not False:
            return found  # type: ignore[return-value]  # False was ruled out just above; mypy does not narrow the union
    try:
        st = os.stat(encoded)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    birth = getattr(st, "st_birthtime_ns", None)
    seconds = getattr(st, "st_birthtime", None)  # macOS and the BSDs only
    if birth is None and seconds is not None:
        birth = int(seconds * 1_000_000_000)
    return f"{st.st_ino}:{birth}" if birth else str(st.st_ino)


class ContentsFiles:
    """API path -> file identity, through the server's contents manager.

    Works with contents managers that keep files on the local disk (Jupyter's
    FileContentsManager family: they have ``_get_os_path``). For any other
    (a database, S3), :attr:`tracked` is False and grants are by path alone.
    """

    def __init__(self, contents_manager: Any) -> None:
        self.contents_manager = contents_manager

    @property
    def tracked(self) -> bool:
        return compat.has_os_paths(self.contents_manager)

    def __call__(self, api_path: str) -> str | None:
        try:
            os_path = compat.os_path(self.contents_manager, api_path)
        except Exception:  # 404: outside the root, or an invalid path
            return None
        return file_identity(os_path)


def grant_files(server: Any, log: Any) -> ContentsFiles | None:
    """How a server's grants find the file behind a notebook path (None: they cannot,
    and grants are by path alone)."""
    if getattr(server.identity_provider, "notebooks_elsewhere", False):
        return None  # the hub service: notebooks live in users' servers (hub/relay.py)
    files = ContentsFiles(server.contents_manager)
    if files.tracked:
        return files
    log.warning(
        "%s keeps no local files: notebook grants are by path alone, so a notebook "
        "deleted outside Jupyter's contents API and created again at the same path "
        "keeps its grants.",
        type(server.contents_manager).__name__,
    )
    return None
