"""The Jupyter server extension: configuration, start-up checks, routes.

Start-up builds the long-lived objects once (database, key ring, stores) and
hands them to the handlers through the extension app, as jupyter-scheduler
does. Configuration that cannot work stops the server with one clear message
instead of letting it run without our routes.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from jupyter_server import CallContext
from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.serverapp import ServerApp
from traitlets import Bool, Float, Int, List, Unicode, default

from open_notebook_ext._version import __version__
from open_notebook_ext.audit.log import AuditLog
from open_notebook_ext.audit.startlog import key_file_made, log_like_jupyter
from open_notebook_ext.db.bootstrap import open_backend
from open_notebook_ext.ecosystem.setup import setup as ecosystem_setup
from open_notebook_ext.errors import ConfigError
from open_notebook_ext.http.base import (
    BODY_LIMIT_SETTING,
    BODY_TIMEOUT_SETTING,
    LIMITER_SETTING,
    POLICY_SETTING,
    TRUSTED_PROXIES_SETTING,
)
from open_notebook_ext.http.routes import ROUTES
from open_notebook_ext.kernels import gateway as kernels_gateway
from open_notebook_ext.kernels import provisioner as launch_provisioner
from open_notebook_ext.kernels.env import EnvFirewall
from open_notebook_ext.kernels.tokens import KernelTokens
from open_notebook_ext.kernels.tokens import install as install_kernel_tokens
from open_notebook_ext.notebooks.notebooks import NotebookStore
from open_notebook_ext.notebooks.notes import NoteStore
from open_notebook_ext.notebooks.sources import SourceStore
from open_notebook_ext.notebooks.uploads import UploadArea
from open_notebook_ext.proxy.config import ProviderProxy
from open_notebook_ext.security import exposure, logscrub, procsec
from open_notebook_ext.security.identity import AuthFailureLimiter, TrustedProxies
from open_notebook_ext.security.origin import DEFAULT_ALLOW_HEADERS, OriginPolicy, parse_origin_list
from open_notebook_ext.vault.access import SecretAccess
from open_notebook_ext.vault.fileidentity import ContentsFiles
from open_notebook_ext.vault.grants import GrantStore
from open_notebook_ext.vault.keyring import (
    KEY_ENV,
    KEY_FILE_ENV,
    KEYS_ENV,
    KEYS_FILE_ENV,
    KeyConfigError,
)
from open_notebook_ext.vault.prompts import GrantPrompts, Prompt
from open_notebook_ext.vault.redact import Redactor

CONTENTS_EVENTS = "https://events.jupyter.org/jupyter_server/contents_service/v1"
DEFAULT_MAX_UPLOAD_MB = 100.0


class OpenNotebookApp(ExtensionApp):
    """Open Notebook's credential store and notebook API inside Jupyter Server."""

    name = "open_notebook"
    version = __version__

    # -- configuration ---------------------------------------------------------

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

    store_threads = Int(
        4,
        config=True,
        help="Worker threads that run database calls off the event loop.",
    )

    allowed_origins = List(
        Unicode(),
        config=True,
        help="""Browser origins allowed to call the API cross-origin, exactly
        (scheme://host[:port], e.g. https://lab.example.org). Default: none (same-origin
        only). Allowed origins are reflected with credentials allowed; "*" allows any
        origin but then without credentials. Entries are normalised; an invalid entry
        stops start-up. ServerApp.allow_origin does not apply to these routes.
        Environment: OPEN_NOTEBOOK_CORS_ORIGINS (comma-separated; CORS_ORIGINS, Open
        Notebook's name, is accepted too).""",
    )

    @default("allowed_origins")
    def _allowed_origins_default(self) -> list[str]:
        raw = os.environ.get("OPEN_NOTEBOOK_CORS_ORIGINS") or os.environ.get("CORS_ORIGINS", "")
        return [part.strip() for part in raw.split(",") if part.strip()]

    cors_max_age = Int(600, config=True, help="Seconds a browser may cache a preflight answer.")

    cors_allow_headers = List(
        Unicode(),
        default_value=list(DEFAULT_ALLOW_HEADERS),
        config=True,
        help="Request headers allowed in cross-origin requests (answered to preflights).",
    )

    auth_failure_limit = Int(
        10,
        config=True,
        help="""Failed authentication attempts (a wrong token) a client address may make
        within auth_failure_window seconds before it gets 429 until the window passes.
        0 turns rate limiting off. Counted per server process.""",
    )

    auth_failure_window = Float(
        60.0, config=True, help="Window, in seconds, for auth_failure_limit."
    )

    auth_failure_max_tracked = Int(
        10_000,
        config=True,
        help="Most client addresses remembered by the rate limiter (oldest forgotten first).",
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

    require_grants = Bool(
        True,
        config=True,
        help="""A kernel may read a credential's key only if its notebook was granted that
        credential (panel: "Notebooks with access", API: grants). False lets every kernel of
        this server read every key of its owner (single-user convenience).""",
    )

    grant_prompt_timeout = Float(
        60.0,
        config=True,
        help="""Seconds a denied secrets.get waits while a JupyterLab page asks "Allow /
        Deny" (the call then gets the key or AccessDenied). Only while a logged-in page of
        the same user is open: with none, the call is denied at once, as when this is 0
        (no prompts).""",
    )

    redact_outputs = Bool(
        True,
        config=True,
        help="""Before a notebook is saved, replace stored API keys (8+ characters) found in
        its outputs with [REDACTED:<credential name>]. A safety net, not a guarantee.""",
    )

    kernel_url = Unicode(
        config=True,
        help="""URL kernels use to reach this server (OPEN_NOTEBOOK_URL in their
        environment). Default: the server's own connection URL; with a Kernel Gateway
        in another container, the server's address there (http://jupyter:8888/).
        Environment: OPEN_NOTEBOOK_KERNEL_URL.""",
    )

    @default("kernel_url")
    def _kernel_url_default(self) -> str:
        return os.environ.get("OPEN_NOTEBOOK_KERNEL_URL", "")

    non_dumpable = Bool(
        True,
        config=True,
        help="""Mark the server process non-dumpable at start-up (Linux
        prctl(PR_SET_DUMPABLE, 0), as ssh-agent does): processes of the same OS user,
        kernels included, can then not read its environment (/proc/<pid>/environ),
        open files or memory, nor attach a debugger. Turn off to profile or debug the
        server (py-spy, gdb). Elsewhere than Linux: a no-op, logged.""",
    )

    kernel_launcher = Bool(
        True,
        config=True,
        help="""Start local Python kernels through open_notebook_ext.kernel_launch (the
        open-notebook-launcher kernel provisioner): each kernel is non-dumpable from its
        first statements, and gets its token over an inherited socket instead of its
        environment, so sibling kernels and the kernel's own subprocesses cannot read it.
        Off: the token is in the kernel's environment (OPEN_NOTEBOOK_KERNEL_TOKEN).""",
    )

    gateway_token_file = Unicode(
        config=True,
        help="""With a Kernel Gateway (GatewayClient.url): a file holding the gateway's
        token, read at start-up into GatewayClient.auth_token (so the token is in no
        environment and no configuration file). Environment:
        OPEN_NOTEBOOK_GATEWAY_TOKEN_FILE.""",
    )

    @default("gateway_token_file")
    def _gateway_token_file_default(self) -> str:
        return os.environ.get("OPEN_NOTEBOOK_GATEWAY_TOKEN_FILE", "").strip()

    kernel_env_strip = List(
        Unicode(),
        config=True,
        help="""More environment variables to remove from every kernel's environment:
        names, or shell-style patterns (``*_API_KEY``, ``HF_*``; case-sensitive). Always
        removed, whatever this says: the server's token and password, the encryption
        key(s), the database URL and password, the ``*_FILE`` variables that say where one
        of those is stored, the gateway's token, and every provider key variable of
        ``GET providers`` (OPENAI_API_KEY, ANTHROPIC_API_KEY, GOOGLE_API_KEY,
        GEMINI_API_KEY, AZURE_OPENAI_API_KEY, ...; the table in ``vault/provider_env.py``).""",
    )

    max_body_bytes = Int(
        1024 * 1024,
        config=True,
        help="""Largest request body accepted by the JSON routes (413 above it); also the
        most the non-file fields of a multipart source upload may add up to.""",
    )

    max_upload_mb = Float(
        config=True,
        help="""Largest multipart upload to POST sources, in MiB (the whole request body;
        413 above it, checked while the file streams to disk). Default 100.
        Environment: OPEN_NOTEBOOK_MAX_UPLOAD_SIZE_MB (as Open Notebook).""",
    )

    @default("max_upload_mb")
    def _max_upload_mb_default(self) -> float:
        raw = os.environ.get("OPEN_NOTEBOOK_MAX_UPLOAD_SIZE_MB", "").strip()
        if not raw:
            return DEFAULT_MAX_UPLOAD_MB
        try:
            value = float(raw)
        except ValueError:
            value = 0.0
        if not value > 0:
            self.log.warning(
                "OPEN_NOTEBOOK_MAX_UPLOAD_SIZE_MB=%r is not a positive size; using %g",
                raw,
                DEFAULT_MAX_UPLOAD_MB,
            )
            return DEFAULT_MAX_UPLOAD_MB
        return value

    fetch_links = Bool(
        True,
        config=True,
        help="""Fetch a link source's page when it is created and keep its text (for
        search). The fetch goes through the SSRF guard (see allow_private_targets).
        When False, a link is only validated and stored.""",
    )

    connection_test_timeout = Float(
        10.0,
        config=True,
        help="""Seconds a provider connection test (POST credentials/{id}/test) may take.
        The provider's URL goes through the same SSRF guard as link fetching
        (allow_private_targets applies: a provider on localhost, e.g. Ollama, needs it).""",
    )

    allow_private_targets = Bool(
        False,
        config=True,
        help="""Let outbound requests (fetching link sources) reach loopback and private
        addresses (127.0.0.0/8, ::1, 10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10, ...),
        for tests and intranets. Link-local and cloud-metadata addresses stay refused.""",
    )

    fetch_timeout = Float(
        20.0,
        config=True,
        help="Seconds a link fetch may take in all (DNS, connect, redirects, body).",
    )

    fetch_max_bytes = Int(
        5 * 1024 * 1024,
        config=True,
        help="Largest page body a link fetch reads, after decompression (502 above it).",
    )

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

    # -- requests: proxies and body time (one block; see handlers/base.py) ---------

    trusted_proxies = List(
        Unicode(),
        config=True,
        help="""Addresses and networks (CIDR; "unix:" for a Unix socket) of the reverse
        proxies whose X-Forwarded-For, X-Real-Ip, X-Forwarded-Proto and X-Forwarded-Host
        are believed, as nginx's set_real_ip_from: only from these peers, and only while
        ServerApp.trust_xheaders is on. X-Forwarded-For is read right to left past
        trusted proxies (nginx's real_ip_recursive). Default: none, so no forwarded
        header counts: loopback is not trusted by default because every kernel and
        local process reaches Jupyter from there and could write any address. List the
        proxy's own address (the compose deployment's is on its backend network).
        Environment: OPEN_NOTEBOOK_TRUSTED_PROXIES (comma-separated).""",
    )

    @default("trusted_proxies")
    def _trusted_proxies_default(self) -> list[str]:
        raw = os.environ.get("OPEN_NOTEBOOK_TRUSTED_PROXIES", "")
        return [part.strip() for part in raw.split(",") if part.strip()]

    body_timeout = Float(
        60.0,
        config=True,
        help="""Seconds a client may take to send a request body to these routes (408 and
        the connection closed after that); Tornado sets no limit of its own. 0: none.""",
    )

    upload_timeout = Float(
        1800.0,
        config=True,
        help="""Seconds a multipart upload to POST sources may take to arrive (408 after
        that); 1800 s lets 100 MiB through at 60 KB/s. 0: no limit.""",
    )

    def _request_settings(self) -> dict[str, Any]:
        """Settings for the handlers' request checks (config errors stop start-up)."""
        proxies = TrustedProxies(self.trusted_proxies, "OpenNotebookApp.trusted_proxies")
        trust = bool(self._server.trust_xheaders)
        if trust and not proxies:
            self.log.warning(
                "ServerApp.trust_xheaders is on but OpenNotebookApp.trusted_proxies is empty: "
                "open-notebook/api ignores X-Forwarded-* and X-Real-Ip from every peer. Set "
                "trusted_proxies (OPEN_NOTEBOOK_TRUSTED_PROXIES) to your proxy's address."
            )
        elif proxies and not trust:
            self.log.warning(
                "OpenNotebookApp.trusted_proxies has no effect while "
                "ServerApp.trust_xheaders is off."
            )
        return {TRUSTED_PROXIES_SETTING: proxies, BODY_TIMEOUT_SETTING: self.body_timeout}

    # -- start-up --------------------------------------------------------------

    def initialize_handlers(self) -> None:
        self.handlers.extend(ROUTES)

    @property
    def _server(self) -> ServerApp:
        """The server this extension is loaded into (Jupyter sets it before
        ``initialize_settings``)."""
        if self.serverapp is None:
            raise RuntimeError("the extension is not loaded into a Jupyter server")
        return self.serverapp

    def initialize_settings(self) -> None:
        try:
            self._start()
        except (ConfigError, KeyConfigError) as e:
            self.log.critical("open_notebook_ext cannot start: %s", e)
            raise SystemExit(1) from None

    def _start(self) -> None:
        self._started_at = time.time()
        log_like_jupyter(self.log)
        self.non_dumpable_applied = procsec.protect_server(self.non_dumpable, self.log)
        self.origin_policy = self._origin_policy()  # config errors first, before any file
        request_settings = self._request_settings()
        self._check_exposure()  # before anything is created inside the root
        logscrub.install()
        self._warn_about_command_line_secrets()
        self.backend = open_backend(
            db_url=self.db_url,
            data_dir=self.data_dir,
            env=os.environ,
            encryption_key=self.encryption_key,
            encryption_keys=self.encryption_keys,
            generate_key=self.generate_key,
            log=self.log,
        )
        self.db = self.backend.db
        self.key_material = self.backend.material
        self.keyring = self.backend.keyring
        self.credentials = self.backend.credentials
        self.grants = GrantStore(self.db, identify=self._grant_files())
        self.secret_access = SecretAccess(self.credentials, self.grants)
        self.audit = AuditLog(
            self.audit_log or None,
            max_bytes=self.audit_log_max_bytes,
            backups=self.audit_log_backups,
            parent=self,
        )
        self._warn_about_key()
        self.inline_reads = self.db.backend == "sqlite"
        self.executor = ThreadPoolExecutor(
            max_workers=self.store_threads, thread_name_prefix="open-notebook-db"
        )
        if not self.max_upload_mb > 0:
            raise ConfigError("OpenNotebookApp.max_upload_mb must be a positive number")
        self.uploads = UploadArea(Path(self.data_dir) / "uploads")
        try:
            self.uploads.prepare()
        except OSError as e:
            raise ConfigError(
                f"cannot prepare the uploads directory {self.uploads.path}: {type(e).__name__} {e}"
            ) from None
        self.provider_proxy = ProviderProxy(parent=self).open(self.db)
        self.notebooks = NotebookStore(self.db, self.uploads)
        self.notes = NoteStore(self.db)
        self.sources = SourceStore(self.db, self.uploads)
        self.auth_limiter = AuthFailureLimiter(
            self.auth_failure_limit, self.auth_failure_window, self.auth_failure_max_tracked
        )
        ecosystem_setup(self)  # env imports, jupyter-ai's secrets (ecosystem/)
        self._install_kernel_tokens()
        self._install_grant_prompts()
        self._install_redaction()
        self._follow_notebook_renames()
        self.settings.update(
            {
                POLICY_SETTING: self.origin_policy,
                LIMITER_SETTING: self.auth_limiter,
                BODY_LIMIT_SETTING: self.max_body_bytes,
                **request_settings,
            }
        )
        self.log.info(
            "Open Notebook API at %sopen-notebook/api/ (database: %s, key source: %s, keys: %d)",
            self._server.base_url,
            self.db.url.render_as_string(hide_password=True),
            self.key_material.source,
            len(self.keyring.key_ids),
        )

    def _grant_files(self) -> ContentsFiles | None:
        """How grants find the file behind a notebook path (None: they cannot)."""
        files = ContentsFiles(self._server.contents_manager)
        if files.tracked:
            return files
        self.log.warning(
            "%s keeps no local files: notebook grants are by path alone, so a notebook "
            "deleted outside Jupyter's contents API and created again at the same path "
            "keeps its grants.",
            type(self._server.contents_manager).__name__,
        )
        return None

    def _install_kernel_tokens(self) -> None:
        self.kernel_tokens = KernelTokens()
        self.kernel_firewall = EnvFirewall(self.kernel_env_strip)
        install = install_kernel_tokens
        if kernels_gateway.gateway_enabled(self._server):
            kernels_gateway.configure_client(
                self._server.gateway_config, self.gateway_token_file, self.log
            )
            install = kernels_gateway.install
        else:
            launch_provisioner.use_for_local_kernels(self.kernel_launcher, self.log)
        install(
            self._server.kernel_manager,
            self.kernel_tokens,
            url=lambda: self.kernel_url or self._server.connection_url,
            owner=self.current_owner,
            strip=self.kernel_firewall,
            log=self.log,
        )
        blocked = self.kernel_firewall.blocked(os.environ)
        if blocked:
            self.log.info("Kept out of kernels' environment: %s", ", ".join(blocked))

    def _install_grant_prompts(self) -> None:
        """Prompts in the page for denied reads (vault/prompts.py); a console's grants
        end with its kernel."""

        def audit(prompt: Prompt, outcome: str) -> None:
            self.audit.emit(
                "prompt",
                action=outcome,
                owner=prompt.owner,
                credential_id=prompt.credential["id"],
                credential_name=prompt.credential["name"],
                provider=prompt.credential["provider"],
                notebook_path=prompt.notebook_path,
                kernel_id=prompt.kernel_id,
            )

        self.grant_prompts = GrantPrompts(self.grant_prompt_timeout, on_outcome=audit)

        def forget(kernel_id: str) -> None:
            future = self.executor.submit(self.grants.forget_kernel, kernel_id)
            future.add_done_callback(
                lambda f: (
                    f.exception()
                    and self.log.error(
                        "Could not remove the grants of console kernel %s", kernel_id
                    )
                )
            )

        self.kernel_tokens.on_revoke.append(forget)

    async def console_binding(self, owner: str, path: Any) -> dict[str, Any]:
        """``{"kernel_id": ...}`` when ``path`` is a console session's (no file to bind a
        grant to), else ``{}``."""
        if not isinstance(path, str):
            return {}
        for session in await self._server.session_manager.list_sessions():
            if session.get("path") == path and session.get("type") == "console":
                return self.grant_binding("console", (session.get("kernel") or {}).get("id"))
        return {}

    @staticmethod
    def grant_binding(session_type: str, kernel_id: str | None) -> dict[str, Any]:
        return {"kernel_id": kernel_id} if session_type == "console" and kernel_id else {}

    def isolation_status(self) -> dict[str, Any]:
        return kernels_gateway.isolation_status(
            self._server, getattr(self, "non_dumpable_applied", False)
        )

    def _install_redaction(self) -> None:
        self.redactor = Redactor(
            self.credentials.plaintext_keys, self.credentials.change_marker, self.current_owner
        )
        # The owner's open JupyterLab pages hear of it on the grant-prompt socket (the
        # notebook's path and a count; never a key nor a credential's name).
        self.redactor.on_redacted = lambda owner, path, count: self.grant_prompts.notify(
            owner, {"type": "redacted", "path": path, "count": count}
        )
        if self.redact_outputs:
            self._server.contents_manager.register_pre_save_hook(self.redactor.pre_save_hook)

    def _follow_notebook_renames(self) -> None:
        """Grants follow a renamed notebook and die with a deleted one."""

        async def on_contents_event(logger: Any, schema_id: str, data: dict) -> None:
            action, path = data.get("action"), data.get("path")
            try:
                if action == "rename" and data.get("source_path") and path:
                    await asyncio.to_thread(
                        self.grants.move, self.current_owner(), data["source_path"], path
                    )
                elif action == "delete" and path:
                    await asyncio.to_thread(self.grants.forget, self.current_owner(), path)
            except Exception:
                self.log.error("Could not update notebook grants after a %s", action, exc_info=True)

        events = self._server.event_logger
        if events is None:  # pragma: no cover - jupyter_server always has one
            self.log.warning("No event logger: grants will not follow renames and deletes")
            return
        events.add_listener(schema_id=CONTENTS_EVENTS, listener=on_contents_event)

    def current_owner(self) -> str:
        """The owner for work done on behalf of the request being handled right now."""
        handler = CallContext.get(CallContext.JUPYTER_HANDLER)
        return self.owner_for(getattr(handler, "current_user", None))

    @property
    def key_check(self) -> str:
        return self.backend.key_check

    def _origin_policy(self) -> OriginPolicy:
        allowed = parse_origin_list(self.allowed_origins, "OpenNotebookApp.allowed_origins")
        policy = OriginPolicy(allowed, self.cors_max_age, tuple(self.cors_allow_headers))
        if policy.wildcard:
            self.log.warning(
                "allowed_origins is '*': any website may call the Open Notebook API from a "
                "visitor's browser. Access-Control-Allow-Credentials is not sent with '*', so "
                "browsers will not attach cookies; list exact origins for production."
            )
        server = self._server
        if (server.allow_origin or server.allow_origin_pat) and not allowed:
            self.log.info(
                "ServerApp.allow_origin/allow_origin_pat do not apply to open-notebook/api; "
                "set OpenNotebookApp.allowed_origins to allow cross-origin calls there."
            )
        return policy

    def _warn_about_key(self) -> None:
        if self.key_material.source == "generated":
            made = key_file_made(self.key_material.path, getattr(self, "_started_at", None))
            self.log.warning(
                "No encryption key configured: %s. Anyone who can read this "
                "file can decrypt the stored API keys. In production supply your own key "
                "with OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE or OPEN_NOTEBOOK_ENCRYPTION_KEY.",
                f"generated one in {self.key_material.path}"
                if made is None
                else f"using the key file generated on {made} in {self.key_material.path}",
            )
        elif not self.keyring.configured:
            self.log.warning(
                "No encryption key configured and generate_key is off: credentials can be "
                "read but not stored. Set OPEN_NOTEBOOK_ENCRYPTION_KEY or "
                "OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE."
            )

    def _warn_about_command_line_secrets(self) -> None:
        named = logscrub.command_line_secrets(getattr(self._server, "cli_config", None) or {})
        if named:
            self.log.warning(
                "%s given on the command line, where every local user and process can read "
                "it (ps, /proc/<pid>/cmdline). Use OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE or "
                "OPEN_NOTEBOOK_ENCRYPTION_KEY for the key, JUPYTER_TOKEN_FILE or JUPYTER_TOKEN "
                "for the token, OPEN_NOTEBOOK_DB_URL_FILE for a database URL with a password.",
                ", ".join(named),
            )

    def _key_given(self) -> bool:
        """A key is configured (no key file will be generated)."""
        env_vars = (KEY_ENV, KEY_FILE_ENV, KEYS_ENV, KEYS_FILE_ENV)
        return bool(
            self.encryption_key.strip()
            or self.encryption_keys
            or any(os.environ.get(v, "").strip() for v in env_vars)
        )

    def _check_exposure(self) -> None:
        """Refuse (or, when allowed, warn) when a secret file could be read back through
        Jupyter's contents API: see exposure.py."""
        cm = self._server.contents_manager
        root = getattr(cm, "root_dir", None) or self._server.root_dir
        allow_hidden = bool(getattr(cm, "allow_hidden", False))
        files = exposure.secret_files(
            data_dir=self.data_dir,
            db_url=self.db_url,
            audit_log=self.audit_log,
            env=os.environ,
            generated_key=self.generate_key and not self._key_given(),
        )
        found = exposure.exposed(files, root, allow_hidden)
        if not found:
            return
        why = "ContentsManager.allow_hidden is on" if allow_hidden else "not hidden"
        problem = (
            f"Jupyter's contents API (/files, /api/contents, /view) could serve "
            f"{exposure.describe(found)} (inside the root directory {root}, {why})"
        )
        if not self.allow_secrets_in_root:
            fix = (
                "turn ContentsManager.allow_hidden off"
                if allow_hidden
                else "move them into a hidden directory"
            )
            raise ConfigError(
                f"{problem}: whoever can download the database and the key can decrypt every "
                f"stored key. Move data_dir (OPEN_NOTEBOOK_DATA_DIR) and these files outside "
                f"{root} or {fix}; OpenNotebookApp.allow_secrets_in_root = True starts anyway"
            )
        self.log.warning(
            "%s; started anyway because OpenNotebookApp.allow_secrets_in_root is set.", problem
        )

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    def owner_for(self, user: User | None) -> str:
        """The owner whose rows a request may touch.

        Jupyter's stock identity providers do not identify people (each browser
        gets a random anonymous user), so they all map to the configured owner;
        a provider that overrides ``get_user`` (JupyterHub's) names real users.
        """
        provider = self._server.identity_provider
        if type(provider).get_user is IdentityProvider.get_user or user is None:
            return self.owner
        return user.username

    def key_status(self) -> dict[str, Any]:
        return self.backend.key_status()

    async def stop_extension(self) -> None:
        if hasattr(self, "executor"):
            self.executor.shutdown(wait=False, cancel_futures=True)
        if hasattr(self, "backend"):
            self.backend.close()
        if hasattr(self, "audit"):
            self.audit.close()
