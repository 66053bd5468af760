"""A throwaway PostgreSQL cluster for the tests: initdb + pg_ctl on a loopback port.

Runs the server binaries as a non-root user (``postgres`` when the tests run as
root, as CI does), with fsync off, a private socket directory and trust auth on
127.0.0.1 only. ``make test`` installs Debian's ``postgresql`` package when it
is missing; when the binaries truly cannot be found the PostgreSQL half of the
suite is skipped with the reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def find_bindir() -> Path | None:
    """The newest installed PostgreSQL server's bin directory (no version hard-coded)."""
    candidates = []
    for path in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        version = path.split("/")[4]
        if version.replace(".", "").isdigit():
            candidates.append((float(version), Path(path).parent))
    if candidates:
        return max(candidates)[1]
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="on-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        self.log = self.root / "postgres.log"
        self.as_root = os.geteuid() == 0
        self.user = "postgres" if self.as_root else pwd.getpwuid(os.geteuid()).pw_name
        self._counter = 0

    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        argv = [str(self.bindir / cmd[0]), *cmd[1:]]
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=120)

    def start(self) -> PostgresCluster:
        self.sockets.mkdir()
        if self.as_root:
            subprocess.run(["chown", "-R", "postgres:postgres", str(self.root)], check=True)
            self.root.chmod(0o755)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "-U",
            self.user,
        )
        self.start_server()
        return self

    def start_server(self) -> None:
        """Start the server on the existing cluster (again, after stop_server)."""
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop_server(self, mode: str = "fast") -> None:
        """Stop the server, keeping the cluster (an outage)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str, password: str | None = None) -> str:
        """SQLAlchemy URL (trust authentication: a password is accepted and ignored)."""
        auth = f"{self.user}:{password}" if password else self.user
        return f"postgresql+psycopg://{auth}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        if name is None:
            self._counter += 1
            name = f"t{os.getpid()}_{self._counter}_{int(time.monotonic() * 1000) % 100000}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name)
        return self.url(name)

    def dump(self, database: str) -> str:
        """pg_dump's SQL for one database: everything it holds, as text."""
        return self._run(
            "pg_dump", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", database
        ).stdout

    def psql(self, database: str, sql: str) -> str:
        return self._run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            self.user,
            "-d",
            database,
            "-tA",
            "-c",
            sql,
        ).stdout
