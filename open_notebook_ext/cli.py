"""``jupyter open-notebook``: key rotation, key generation, status, verification, migrations,
imports from the environment.

A Jupyter subcommand (the ``jupyter-open-notebook`` script), built like
``jupyter server extension``: traitlets applications that read the same
configuration files and environment as the server (``jupyter_server_config``,
``OpenNotebookApp.*``, ``OPEN_NOTEBOOK_*``), so they find the same database
and key.

Exit codes: 0 success; 1 the command ran but found a problem (undecryptable
credentials, a key mismatch); 2 configuration that cannot work (no key, no
database, bad arguments).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from jupyter_core.application import JupyterApp
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from traitlets import Bool, Int, Unicode

from open_notebook_ext._version import __version__
from open_notebook_ext.audit.log import AuditLog
from open_notebook_ext.db.bootstrap import Backend, open_backend, open_database
from open_notebook_ext.db.engine import safe_url, sqlite_path
from open_notebook_ext.errors import ConfigError
from open_notebook_ext.vault.credentials import RotationReport
from open_notebook_ext.vault.keyring import KeyConfigError

EXIT_OK, EXIT_PROBLEM, EXIT_CONFIG = 0, 1, 2


def _server_settings(config: Any) -> Any:
    """An OpenNotebookApp holding the configured traits (no server is started)."""
    from open_notebook_ext.app import OpenNotebookApp

    return OpenNotebookApp(config=config)


class _Command(JupyterApp):
    version = __version__
    config_file_name = "jupyter_server_config"

    aliases = {
        "db-url": "OpenNotebookApp.db_url",
        "data-dir": "OpenNotebookApp.data_dir",
        "log-level": "Application.log_level",
    }

    @property
    def classes(self) -> list[type]:  # type: ignore[override]  # traitlets declares classes as a List trait; a property is how JupyterApp subclasses compute it
        from open_notebook_ext.app import OpenNotebookApp

        return [type(self), OpenNotebookApp]

    def settings(self) -> Any:
        return _server_settings(self.config)

    def open(self) -> Backend:
        s = self.settings()
        self.require_existing_database(s.db_url)
        try:
            return open_backend(
                db_url=s.db_url,
                data_dir=s.data_dir,
                env=os.environ,
                encryption_key=s.encryption_key,
                encryption_keys=s.encryption_keys,
                generate_key=s.generate_key,
                create_key=False,
                log=self.log,
            )
        except (ConfigError, KeyConfigError) as e:
            self.fail(str(e))
            raise  # unreachable

    def require_existing_database(self, db_url: str) -> None:
        """A SQLite file that is not there is a wrong --db-url or data directory: say so
        (only `migrate` creates one), instead of reporting on a new, empty database."""
        try:
            path = sqlite_path(make_url(db_url))
        except ArgumentError:
            return  # open_backend names the problem
        if path is not None and not path.exists():
            self.fail(
                f"there is no database at {path} (start the server, or run "
                "`jupyter open-notebook migrate`, to create it)"
            )

    def fail(self, message: str, code: int = EXIT_CONFIG) -> None:
        print(f"jupyter open-notebook {self.name}: {message}", file=sys.stderr)
        self.exit(code)


class RotateApp(_Command):
    name = "rotate"
    description = """Re-encrypt every stored API key under the primary encryption key.

    Steps: make a new key first (jupyter open-notebook generate-key --output new.key);
    configure it first, followed by the old one(s):
    OPEN_NOTEBOOK_ENCRYPTION_KEYS="<new>,<old>" (or c.OpenNotebookApp.encryption_keys),
    for the running server too; run this; then run jupyter open-notebook verify, and
    drop the old key once every credential decrypts. Works in batches, each one
    transaction; safe while the server runs; idempotent and resumable (run it again
    after an interruption). Credentials that cannot be decrypted are listed by id and
    skipped. Exit code 1 when any were found."""

    batch_size = Int(500, config=True, help="Credentials re-encrypted per transaction.")
    quiet = Bool(False, config=True, help="No progress bar.")

    aliases = {**_Command.aliases, "batch-size": "RotateApp.batch_size"}
    flags = {"quiet": ({"RotateApp": {"quiet": True}}, "No progress bar.")}

    def start(self) -> None:
        backend = self.open()
        if not backend.keyring.configured:
            self.fail("no encryption key is configured; nothing can be re-encrypted")
        if self.batch_size < 1:
            self.fail("--batch-size must be at least 1")
        total = backend.credentials.total()
        report = RotationReport()
        after = ""
        started = time.perf_counter()
        while True:
            last, batch = backend.credentials.rotate_batch(after, self.batch_size)
            report.add(batch)
            self._progress(report.scanned, total)
            if last is None:
                break
            after = last
        elapsed = time.perf_counter() - started
        if not self.quiet:
            print(file=sys.stderr)
        settings = self.settings()
        audit = AuditLog(
            settings.audit_log or None,
            max_bytes=settings.audit_log_max_bytes,
            backups=settings.audit_log_backups,
        )
        audit.emit(
            "rotation",
            action="run",
            user=_os_user(),
            primary_key_id=backend.keyring.primary_key_id,
            re_encrypted=report.re_encrypted,
            already_current=report.already_current,
            undecryptable=len(report.undecryptable),
            undecryptable_ids=report.undecryptable,
            completed=True,
        )
        audit.close()
        print(f"re-encrypted: {report.re_encrypted}")
        print(f"already current: {report.already_current}")
        print(f"undecryptable: {len(report.undecryptable)}")
        for cid in report.undecryptable:
            print(f"  {cid}")
        print(f"time: {elapsed:.2f}s")
        backend.close()
        if report.undecryptable:
            self.exit(EXIT_PROBLEM)

    def _progress(self, done: int, total: int) -> None:
        if self.quiet:
            return
        width = 30
        filled = width if total == 0 else min(width, width * done // max(total, 1))
        sys.stderr.write(f"\rrotating [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        sys.stderr.flush()


NEXT_STEP = (
    "Next: start Jupyter with {where}. To replace a key already in use, configure "
    'OPEN_NOTEBOOK_ENCRYPTION_KEYS="<new>,<old>" instead, then run jupyter open-notebook '
    "rotate and jupyter open-notebook verify."
)


class GenerateKeyApp(_Command):
    name = "generate-key"
    description = """Print a new random Fernet key, or write it to a new 0600 file (--output).

    The key is printed to stdout only when no --output is given."""

    output = Unicode("", config=True, help="Write the key to this new file (mode 0600).")
    force = Bool(False, config=True, help="Overwrite an existing --output file.")
    aliases = {"output": "GenerateKeyApp.output"}
    flags = {"force": ({"GenerateKeyApp": {"force": True}}, "Overwrite an existing file.")}

    def start(self) -> None:
        key = Fernet.generate_key().decode("ascii")
        if not self.output:
            print(key)  # stdout holds the key alone (for scripts); the next step on stderr
            print(
                NEXT_STEP.format(
                    where="OPEN_NOTEBOOK_ENCRYPTION_KEY=<this key>, or "
                    "save it to a 0600 file (--output) and set "
                    "OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE"
                ),
                file=sys.stderr,
            )
            return
        path = Path(self.output)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if self.force else os.O_EXCL)
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            self.fail(f"{path} exists; use --force to overwrite it")
        except OSError as e:
            self.fail(f"cannot write {path}: {e.strerror}")
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key + "\n")
        path.chmod(0o600)
        print(f"wrote a new key to {path}", file=sys.stderr)
        print(NEXT_STEP.format(where=f"OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE={path}"), file=sys.stderr)


class StatusApp(_Command):
    name = "status"
    description = """Key source, key check, credential counts by provider, undecryptable count.

    Exit code 1 when the key does not match the database or some keys cannot be
    decrypted."""

    as_json = Bool(False, config=True, help="Print JSON.")
    flags = {"json": ({"StatusApp": {"as_json": True}}, "Print JSON.")}

    def start(self) -> None:
        backend = self.open()
        status = {
            **backend.key_status(),
            "primary_key_id": backend.keyring.primary_key_id,
            "database": safe_url(backend.db.url),
            "schema_revision": backend.db.current_revision(),
            **backend.credentials.admin_summary(),
        }
        backend.close()
        if self.as_json:
            print(json.dumps(status, indent=2))
        else:
            by_provider = ", ".join(f"{p}: {n}" for p, n in status["by_provider"].items())
            print(f"database: {status['database']} (schema {status['schema_revision']})")
            print(
                f"key source: {status['key_source']}"
                + (f" ({status['key_file']})" if status["key_file"] else "")
                + f", {status['keys']} key(s)"
            )
            print(f"key check: {status['key_check']}")
            print(
                f"credentials: {status['total']} across {status['owners']} owner(s)"
                + (f" ({by_provider})" if by_provider else "")
            )
            print(f"undecryptable: {status['undecryptable']}")
            print(f"not under the primary key: {status['not_under_primary_key']}")
        if status["key_check"] == "mismatch" or status["undecryptable"]:
            self.exit(EXIT_PROBLEM)


class VerifyApp(_Command):
    name = "verify"
    description = """Try to decrypt every stored key; list failures. Exit code 1 if any fails."""

    def start(self) -> None:
        backend = self.open()
        failures = backend.credentials.verify()
        total = backend.credentials.total()
        backend.close()
        for f in failures:
            print(f"{f['id']} ({f['owner']}, {f['provider']}, {f['name']!r}): {f['error']}")
        print(f"{total - len(failures)} of {total} credential(s) decrypt")
        if failures:
            self.exit(EXIT_PROBLEM)


class MigrateApp(_Command):
    name = "migrate"
    description = """Upgrade the database schema to the latest version.

    The server also does this at start-up."""

    def start(self) -> None:
        s = self.settings()
        Path(s.data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            db = open_database(s.db_url)
        except ConfigError as e:
            self.fail(str(e))
        print(f"schema at revision {db.current_revision()}")
        db.dispose()


class OpenNotebookCLI(JupyterApp):
    name = "jupyter-open-notebook"
    version = __version__
    description = "Administer open_notebook_ext's credential store."
    subcommands = {
        "rotate": (RotateApp, RotateApp.description.splitlines()[0]),
        "generate-key": (GenerateKeyApp, GenerateKeyApp.description.splitlines()[0]),
        "status": (StatusApp, StatusApp.description.splitlines()[0]),
        "verify": (VerifyApp, VerifyApp.description.splitlines()[0]),
        "migrate": (MigrateApp, MigrateApp.description.splitlines()[0]),
        # hub/service.py: a Jupyter server as a JupyterHub-managed service
        "hub-service": (
            "open_notebook_ext.hub.service.HubServiceApp",
            "Run the store, the key and the API as a JupyterHub-managed service.",
        ),
        # ecosystem/cli.py (it imports this module)
        "import-env": (
            "open_notebook_ext.ecosystem.cli.ImportEnvApp",
            "Import provider keys from the environment or a .env file.",
        ),
    }

    def start(self) -> None:
        if self.subapp is None:
            print("No subcommand given. Available: " + ", ".join(self.subcommands), file=sys.stderr)
            self.print_subcommands()
            self.exit(EXIT_CONFIG)
        super().start()


def _os_user() -> str | None:
    try:
        import getpass

        return getpass.getuser()
    except Exception:
        return None


main = launch_new_instance = OpenNotebookCLI.launch_instance

if __name__ == "__main__":
    main()
