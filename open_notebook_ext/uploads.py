"""Uploaded files: stored under ``<data_dir>/uploads`` with generated names.

No client-supplied name or path ever reaches the file system: an upload is
written to ``<32 hex>.part`` (created exclusively, 0600, never following a
symlink), renamed to ``<32 hex>`` when the request succeeds and removed when
it fails. The database keeps only that generated name; the client's file name
is kept for display. Leftover ``.part`` files (a server killed mid-upload)
are removed at start-up once they are a day old.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_NAME = re.compile(r"[0-9a-f]{32}")
_PART_SUFFIX = ".part"
STALE_PART_SECONDS = 24 * 3600
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class StoredUpload:
    """A finished upload, ready to be recorded on a source."""

    stored_name: str
    file_name: str
    size: int
    content_type: str | None


def display_name(raw: str | None) -> str:
    """The client's file name, for display only: last path component, no control chars."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _CONTROL.sub("", name).strip()
    if name in ("", ".", ".."):
        return "upload"
    return name[-255:]


class UploadArea:
    def __init__(self, path: Path) -> None:
        self.path = path

    def prepare(self) -> None:
        """Create the directory 0700 (tightening it if needed); sweep stale parts."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o077:
            self.path.chmod(0o700)
            log.warning("Tightened permissions of %s from %o to 700", self.path, mode)
        cutoff = time.time() - STALE_PART_SECONDS
        for entry in self.path.glob(f"*{_PART_SUFFIX}"):
            try:
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
            except OSError:
                pass

    def open_part(self) -> tuple[Path, int]:
        """A new, empty, exclusively created part file and its descriptor."""
        flags = (
            os.O_WRONLY
            | os.O_CREAT
            | os.O_EXCL
            | getattr(os, "O_NOFOLLOW", 0)
            | getattr(os, "O_CLOEXEC", 0)
        )
        while True:
            path = self.path / f"{secrets.token_hex(16)}{_PART_SUFFIX}"
            try:
                return path, os.open(path, flags, 0o600)
            except FileExistsError:  # pragma: no cover - 128 random bits
                continue

    def commit_part(self, part: Path) -> str:
        """Give a finished part its final name; returns the name to store."""
        name = part.name.removesuffix(_PART_SUFFIX)
        if part.parent != self.path or not _NAME.fullmatch(name):
            raise ValueError("not one of our part files")
        os.rename(part, self.path / name)
        return name

    def path_of(self, stored_name: str) -> Path:
        if not _NAME.fullmatch(stored_name or ""):
            raise ValueError("not a stored upload name")
        return self.path / stored_name

    def exists(self, stored_name: str | None) -> bool:
        try:
            return stored_name is not None and self.path_of(stored_name).is_file()
        except ValueError:
            return False

    def remove(self, stored_name: str | None) -> None:
        if not stored_name:
            return
        try:
            self.path_of(stored_name).unlink(missing_ok=True)
        except (OSError, ValueError) as e:
            log.warning("Could not remove uploaded file %s: %s", stored_name, type(e).__name__)

    def discard(self, path: Path | None) -> None:
        """Remove a part (or committed) file this request created; never raises."""
        if path is None:
            return
        try:
            path.unlink(missing_ok=True)
        except OSError as e:
            log.warning("Could not remove %s: %s", path.name, type(e).__name__)
