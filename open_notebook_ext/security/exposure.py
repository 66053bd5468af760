"""Which of the server's secret files Jupyter's own file APIs could serve.

Jupyter's contents manager serves every file under its root directory through
``/files``, ``/api/contents`` and ``/view`` — hidden ones (a name starting with a
dot, anywhere below the root) only when ``ContentsManager.allow_hidden`` is on.
The database, the key files, the token file, the audit log and the uploads
directory must not be among them: a download of the database and the key file
is every API key in clear, for anyone who may read files but not run code (a
read-only role of an authorizer, a shared link, a zip of the folder).

Judged from paths alone, before any of the files is created, so a refused start
leaves nothing behind inside the root.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jupyter_core.paths import is_hidden

from open_notebook_ext.vault.keyenv import KEY_FILE_ENV, KEYS_FILE_ENV

# A plain SQLite file URL (no query, no %-escapes): its path is read here, without
# loading SQLAlchemy (a tenth of a second at start-up); anything else goes to
# SQLAlchemy's own parser (tests/unit/test_exposure_urls.py compares the two).
_PLAIN_SQLITE = re.compile(r"sqlite(?:\+pysqlite)?:///([^?#%]+)")


def sqlite_file(db_url: str) -> Path | None:
    """The file behind a SQLite URL, as ``db.engine.sqlite_path`` finds it; None for
    another backend, an in-memory database, or a URL that cannot be parsed (which
    fails when the database is opened)."""
    plain = _PLAIN_SQLITE.fullmatch(db_url)
    if plain is not None:
        database = plain.group(1)
        if database == ":memory:" or database.startswith("file::memory:"):
            return None
        return Path(database).expanduser().resolve()
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from open_notebook_ext.db.engine import sqlite_path

    try:
        return sqlite_path(make_url(db_url))
    except ArgumentError:
        return None


# Files that name a secret outside our own traits.
SECRET_FILE_ENV = {
    KEY_FILE_ENV: "encryption key file",
    KEYS_FILE_ENV: "encryption key file",
    "OPEN_NOTEBOOK_DB_URL_FILE": "database URL file",
    "JUPYTER_TOKEN_FILE": "Jupyter token file",
}
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class SecretFile:
    what: str
    path: Path


def secret_files(
    *, data_dir: str, db_url: str, audit_log: str, generated_key: bool, env: Mapping[str, str]
) -> list[SecretFile]:
    """Every file or directory holding a secret (or data as private), as configured."""
    data = Path(data_dir)
    files = [SecretFile("data directory", data), SecretFile("uploads directory", data / "uploads")]
    db_path = sqlite_file(db_url)
    if db_path is not None:
        files.append(SecretFile("database", db_path))
        files += [
            SecretFile(f"database's {side[1:]} file", Path(f"{db_path}{side}"))
            for side in SQLITE_SIDE_FILES
        ]
    if generated_key or (data / "encryption.key").exists():
        files.append(SecretFile("generated key file", data / "encryption.key"))
    for var, what in SECRET_FILE_ENV.items():
        if env.get(var, "").strip():
            files.append(SecretFile(f"{what} ({var})", Path(env[var].strip())))
    if audit_log:
        files.append(SecretFile("audit log", Path(audit_log)))
    return files


def servable(path: Path, root: Path, allow_hidden: bool) -> bool:
    """Could a file API rooted at ``root`` serve ``path``?

    Jupyter checks request paths with ``os.path.abspath`` (symbolic links inside
    the root are followed), so both the written and the resolved forms count.
    """
    forms = (
        (Path(os.path.abspath(path)), Path(os.path.abspath(root))),
        (path.expanduser().resolve(), root.resolve()),
    )
    return any(
        candidate.is_relative_to(base)  # True for the root itself too
        and (allow_hidden or not is_hidden(str(candidate), str(base)))
        for candidate, base in forms
    )


def exposed(files: list[SecretFile], root: str, allow_hidden: bool) -> list[SecretFile]:
    """The entries of ``files`` that the contents API could serve (one per path)."""
    seen: set[Path] = set()
    out = []
    for f in files:
        if f.path not in seen and servable(f.path, Path(root), allow_hidden):
            seen.add(f.path)
            out.append(f)
    return out


def describe(files: list[SecretFile]) -> str:
    """``the database /r/d/open_notebook.db (and its -wal/-shm/-journal files), ...``"""
    databases = {f.path for f in files if f.what == "database"}
    parts = []
    for f in files:
        side = next((s for s in SQLITE_SIDE_FILES if str(f.path).endswith(s)), None)
        if (
            f.what.startswith("database's")
            and side
            and Path(str(f.path)[: -len(side)]) in databases
        ):
            continue  # said with the database
        note = " (and its -wal/-shm/-journal files)" if f.what == "database" else ""
        parts.append(f"the {f.what} {f.path}{note}")
    return ", ".join(parts)
