"""Where the extension keeps its data: directory, database, key, owner, audit log.

Mixed into ``OpenNotebookApp`` (app.py): the settings stay ``c.OpenNotebookApp.<name>``.
"""

from __future__ import annotations

import getpass
import logging
import os
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from traitlets import Bool, Float, HasTraits, Int, List, TraitError, Unicode, default, validate


class StorageSettings(HasTraits):
    """Storage, key and audit-log settings of OpenNotebookApp (``c.OpenNotebookApp.*``)."""

    log: logging.Logger  # the app's (these defaults may warn or stop start-up)

    data_dir = Unicode(
        config=True,
        help="""Directory for the database, the generated key file and uploads.
        Created 0700. Default: `open_notebook` under the Jupyter data directory.
        Environment: OPEN_NOTEBOOK_DATA_DIR.""",
    )

    @default("data_dir")
    def _data_dir_default(self) -> str:
        return os.environ.get("OPEN_NOTEBOOK_DATA_DIR") or str(
            Path(jupyter_data_dir()) / "open_notebook"
        )

    db_url = Unicode(
        config=True,
        help="""SQLAlchemy database URL. Default: the SQLite file open_notebook.db in
        data_dir, created 0600. PostgreSQL: postgresql+psycopg://user@host/db.
        Environment: OPEN_NOTEBOOK_DB_URL_FILE (a file holding the URL, for URLs with a
        password), then OPEN_NOTEBOOK_DB_URL.""",
    )

    @default("db_url")
    def _db_url_default(self) -> str:
        url_file = os.environ.get("OPEN_NOTEBOOK_DB_URL_FILE", "").strip()
        if url_file:
            # A URL with a password is a secret: a compose/Kubernetes secret file.
            try:
                return Path(url_file).read_text(encoding="utf-8").strip()
            except OSError as e:
                self.log.critical(
                    "OPEN_NOTEBOOK_DB_URL_FILE names %s, which cannot be read: %s",
                    url_file,
                    e.strerror,
                )
                raise SystemExit(1) from None
        return os.environ.get("OPEN_NOTEBOOK_DB_URL") or (
            f"sqlite:///{Path(self.data_dir) / 'open_notebook.db'}"
        )

    encryption_key = Unicode(
        "",
        config=True,
        help="""Encryption key for stored API keys: a Fernet key (44 characters of URL-safe
        base64), used as is, or any other string, used as a passphrase (PBKDF2-HMAC-SHA256,
        600,000 iterations, salt kept in the database). The environment wins over this
        setting: OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE (a file holding the key, e.g. a Docker
        secret), then OPEN_NOTEBOOK_ENCRYPTION_KEY, then this value.""",
    )

    encryption_keys = List(
        Unicode(),
        config=True,
        help="""Several keys for rotation, primary first: new values are encrypted with the
        first, any of them decrypts (cryptography's MultiFernet). Each is a Fernet key or a
        passphrase. Environment (wins over settings): OPEN_NOTEBOOK_ENCRYPTION_KEYS_FILE (a
        file, one key per line or comma-separated), OPEN_NOTEBOOK_ENCRYPTION_KEYS
        (comma-separated); they win over the single-key variables. Run `jupyter
        open-notebook rotate` to re-encrypt everything under the primary key, then drop
        the old ones.""",
    )

    generate_key = Bool(
        True,
        config=True,
        help="""With no key configured, create a random key file encryption.key (0600) in
        data_dir on first start and reuse it after. When False and no key is configured,
        the server starts, reads work, and writes that need encryption answer 400.""",
    )

    owner = Unicode(
        config=True,
        help="""Owner recorded on rows when the identity provider does not name users.
        Jupyter's own token and password login give every browser a random anonymous
        identity, so all such requests are this one owner. With an identity provider that
        names users (JupyterHub), each user's username is used instead.
        Default: the operating-system user. Environment: OPEN_NOTEBOOK_OWNER.""",
    )

    @default("owner")
    def _owner_default(self) -> str:
        if os.environ.get("OPEN_NOTEBOOK_OWNER"):
            return os.environ["OPEN_NOTEBOOK_OWNER"]
        try:
            return getpass.getuser()
        except (KeyError, OSError):  # no passwd entry (some containers)
            return f"uid-{os.getuid()}"

    hub_service_url = Unicode(
        config=True,
        help="""Client mode, for users' single-user servers under JupyterHub: the base URL
        of the hub-managed service (`jupyter open-notebook hub-service`) as this server
        reaches it, e.g. http://127.0.0.1:10101/services/open-notebook/ (the service's
        `url` and prefix) or the same path through the hub's proxy. When set, this server
        opens no database and holds no encryption key: its Open Notebook API, the panel's
        and kernels' requests, go to the service with this server's hub token
        (JUPYTERHUB_API_TOKEN), and start-up stops if a database URL or a key is also
        configured here. Empty: the extension keeps its own store (the default).
        Environment: OPEN_NOTEBOOK_HUB_SERVICE_URL.""",
    )

    @default("hub_service_url")
    def _hub_service_url_default(self) -> str:
        return os.environ.get("OPEN_NOTEBOOK_HUB_SERVICE_URL", "").strip()

    hub_service_timeout = Float(
        600.0,
        config=True,
        help="""Client mode: seconds a request forwarded to the hub-managed service may
        take, its whole answer included (the provider proxy's streamed answers too).""",
    )

    start_delay = Float(
        1.0,
        config=True,
        help="""Seconds after the server starts listening before the extension opens the
        database and the key and imports its handlers (the second half of its start-up,
        on a thread), so that the server's own first requests (the JupyterLab page and
        its assets) do not share the CPU with it. Whatever needs the extension earlier
        (a request to its routes, a kernel's secrets.get) starts it at once and waits
        for it; nothing fails meanwhile. 0: right away.""",
    )

    @validate("start_delay")
    def _valid_start_delay(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if not 0 <= value <= 3600:
            raise TraitError("OpenNotebookApp.start_delay must be between 0 and 3600 seconds")
        return value

    store_threads = Int(
        4,
        config=True,
        help="Worker threads that run database calls off the event loop.",
    )

    audit_log = Unicode(
        config=True,
        help="""JSON-lines file receiving audit events (credential changes, secret reads,
        grant changes, auth failures, rotation runs), created 0600 and rotated by size.
        Empty string: no file (sinks configured with EventLogger.handlers still get the
        events). Default: audit.jsonl in data_dir.""",
    )

    @default("audit_log")
    def _audit_log_default(self) -> str:
        return str(Path(self.data_dir) / "audit.jsonl")

    audit_log_max_bytes = Int(
        10 * 1024 * 1024, config=True, help="Size at which the audit log file is rotated."
    )

    audit_log_backups = Int(5, config=True, help="Rotated audit log files kept.")

    allow_secrets_in_root = Bool(
        False,
        config=True,
        help="""Start even when Jupyter's contents API (/files, /api/contents, /view) could
        serve a secret file: the data directory, uploads, the SQLite database and its
        -wal/-shm files, a key file, the token file, the database URL file or the audit
        log, because it lies inside the contents root and is not hidden, or is hidden but
        ContentsManager.allow_hidden is on. Default: such a configuration stops start-up
        (with this on: a warning). Anyone who can download the database and the key file
        can decrypt every stored key.""",
    )
