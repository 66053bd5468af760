"""The Jupyter server extension: configuration, start-up checks, routes.

Start-up builds the long-lived objects once (database, key ring, stores) and
hands them to the handlers through the extension app, as jupyter-scheduler
does. Configuration that cannot work stops the server with one clear message
instead of letting it run without our routes.
"""

from __future__ import annotations

import functools
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_server import CallContext
from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.serverapp import ServerApp

from open_notebook_ext import checks
from open_notebook_ext._version import __version__
from open_notebook_ext.audit.log import AuditLog
from open_notebook_ext.audit.startlog import log_like_jupyter
from open_notebook_ext.config.kernels import KernelSettings
from open_notebook_ext.config.outbound import OutboundSettings
from open_notebook_ext.config.requests import RequestSettings
from open_notebook_ext.config.storage import StorageSettings
from open_notebook_ext.ecosystem.setup import setup as ecosystem_setup
from open_notebook_ext.errors import ConfigError
from open_notebook_ext.http.deferred import deferred_routes
from open_notebook_ext.hub import client as hub_client
from open_notebook_ext.kernels import gateway as kernels_gateway
from open_notebook_ext.kernels import provisioner as launch_provisioner
from open_notebook_ext.kernels.env import EnvFirewall
from open_notebook_ext.kernels.tokens import KernelTokens
from open_notebook_ext.kernels.tokens import install as install_kernel_tokens
from open_notebook_ext.security import logscrub, procsec
from open_notebook_ext.security.identity import AuthFailureLimiter
from open_notebook_ext.services import SERVICES_SETTING, RequestPolicy, Services
from open_notebook_ext.startlater import StartLater
from open_notebook_ext.vault.fileidentity import grant_files
from open_notebook_ext.vault.membership import owner_name
from open_notebook_ext.vault.prompts import GrantPrompts, Prompt
from open_notebook_ext.vault.redact import Redactor
from open_notebook_ext.vault.renames import follow_notebook_renames

if TYPE_CHECKING:  # (http/ imports SQLAlchemy: not while the server loads)
    from open_notebook_ext.http.auth import FailureLimiter


class OpenNotebookApp(
    StartLater, StorageSettings, RequestSettings, KernelSettings, OutboundSettings, ExtensionApp
):
    """Open Notebook's credential store and notebook API inside Jupyter Server.

    Its settings (``c.OpenNotebookApp.*``) are declared by the mixins in config/;
    start-up is in two parts (``_start`` while loading, ``finish_start`` once the
    server listens: startlater.py).
    """

    name = "open_notebook"
    version = __version__
    started_at: float | None = None  # time.time() when start-up began

    # -- start-up --------------------------------------------------------------

    def initialize_handlers(self) -> None:
        self.handlers.extend(hub_client.routes() if self.hub_service_url else deferred_routes())

    @property
    def server(self) -> ServerApp:
        """The server this extension is loaded into (Jupyter sets it before
        ``initialize_settings``)."""
        if self.serverapp is None:
            raise RuntimeError("the extension is not loaded into a Jupyter server")
        return self.serverapp

    def initialize_settings(self) -> None:
        try:
            self._start()
        except ConfigError as e:
            self.log.critical("open_notebook_ext cannot start: %s", e)
            raise SystemExit(1) from None

    def _start(self) -> None:
        """What must hold before the server listens: configuration checks (a setting
        that cannot work stops the server here), the kernels' environment firewall and
        tokens, the redaction hook, the request settings. No database, no SQLAlchemy."""
        self.started_at = time.time()
        log_like_jupyter(self.log)
        client_mode = hub_client.prepare(self)  # no store here: hub/client.py
        self.non_dumpable_applied = procsec.protect_server(self.non_dumpable, self.log)
        self.origin_policy = checks.origin_policy(self)  # config errors first, before any file
        trusted_proxies = checks.trusted_proxies(self)
        checks.check_exposure(self)  # before anything is created inside the root
        logscrub.install()
        checks.warn_about_command_line_secrets(self)
        if not self.max_upload_mb > 0:
            raise ConfigError("OpenNotebookApp.max_upload_mb must be a positive number")
        self.auth_limiter: FailureLimiter = AuthFailureLimiter(
            self.auth_failure_limit, self.auth_failure_window, self.auth_failure_max_tracked
        )
        self.prepare_start_later()
        if not client_mode:
            ecosystem_setup(self)  # env imports, jupyter-ai's secrets (ecosystem/)
        self._install_kernel_tokens()
        self._install_grant_prompts()
        self._install_redaction(client_mode)
        if not client_mode:
            follow_notebook_renames(self)
        self.requests = RequestPolicy(
            origins=self.origin_policy,
            trusted_proxies=trusted_proxies,
            auth_limiter=self.auth_limiter,
            body_limit=self.max_body_bytes,
            body_timeout=self.body_timeout,
        )
        if client_mode:
            self.settings[SERVICES_SETTING] = hub_client.start(self)

    def finish_start(self) -> None:
        """The rest, once the server listens (startlater.py): the handler modules, the
        database and key ring (shared with the CLI: db/bootstrap.py), the stores."""
        if self.hub_service_url:
            return  # client mode: the service has the store (hub/client.py)
        from open_notebook_ext.db.bootstrap import open_backend
        from open_notebook_ext.http import routes
        from open_notebook_ext.notebooks.notebooks import NotebookStore
        from open_notebook_ext.notebooks.notes import NoteStore
        from open_notebook_ext.notebooks.sources import SourceStore
        from open_notebook_ext.notebooks.uploads import UploadArea
        from open_notebook_ext.proxy.config import ProviderProxy
        from open_notebook_ext.vault.access import SecretAccess
        from open_notebook_ext.vault.grants import GrantStore
        from open_notebook_ext.vault.shared import SharedCredentials

        routes.ROUTES  # noqa: B018 - imports every handler module now, not at a request
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
        self.grants = GrantStore(self.db, identify=grant_files(self.server, self.log))
        self.secret_access = SecretAccess(self.credentials, self.grants)
        self.audit = AuditLog(
            self.audit_log or None,
            max_bytes=self.audit_log_max_bytes,
            backups=self.audit_log_backups,
            parent=self,
        )
        checks.warn_about_key(self)
        from open_notebook_ext.security.dblimiter import share

        share(self)  # failed authentication counted in the database (hub service replicas)
        self.inline_reads = self.db.backend == "sqlite"
        self.executor = ThreadPoolExecutor(
            max_workers=self.store_threads, thread_name_prefix="open-notebook-db"
        )
        uploads = UploadArea(Path(self.data_dir) / "uploads")
        try:
            uploads.prepare()
        except OSError as e:
            raise ConfigError(
                f"cannot prepare the uploads directory {uploads.path}: {type(e).__name__} {e}"
            ) from None
        self.uploads = uploads
        self.provider_proxy = ProviderProxy(parent=self).open(self.db)
        self.notebooks = NotebookStore(self.db, self.uploads)
        self.notes = NoteStore(self.db)
        self.sources = SourceStore(self.db, self.uploads)
        self.services = Services(
            requests=self.requests,
            db=self.db,
            executor=self.executor,
            inline_reads=self.inline_reads,
            credentials=self.credentials,
            grants=self.grants,
            secret_access=self.secret_access,
            grant_prompts=self.grant_prompts,
            kernel_tokens=self.kernel_tokens,
            notebooks=self.notebooks,
            notes=self.notes,
            sources=self.sources,
            uploads=self.uploads,
            audit=self.audit,
            provider_proxy=self.provider_proxy,
            shared=SharedCredentials(self.credentials),
        )
        # Handlers exist only from here on (http/deferred.py waits for this). Jupyter
        # copied this app's settings into the web application's while loading.
        self.settings[SERVICES_SETTING] = self.services
        self.server.web_app.settings[SERVICES_SETTING] = self.services
        self.log.info(
            "Open Notebook API at %sopen-notebook/api/ (database: %s, key source: %s, keys: %d)",
            self.server.base_url,
            self.db.url.render_as_string(hide_password=True),
            self.key_material.source,
            len(self.keyring.key_ids),
        )

    def _install_kernel_tokens(self) -> None:
        self.kernel_tokens = KernelTokens()
        self.kernel_firewall = EnvFirewall(self.kernel_env_strip)
        options: dict[str, Any] = {}
        if kernels_gateway.gateway_enabled(self.server):
            kernels_gateway.configure_client(
                self.server.gateway_config, self.gateway_token_file, self.log
            )
            install = kernels_gateway.install
        else:
            install = install_kernel_tokens
            # The provisioner is chosen before the first kernel starts, not while the
            # server loads (Jupyter's provisioner factory reads every installed
            # package's entry points: a hundredth of the server's start).
            options["before_first_start"] = functools.partial(
                launch_provisioner.use_for_local_kernels, self.kernel_launcher, self.log
            )
        install(
            self.server.kernel_manager,
            self.kernel_tokens,
            url=lambda: self.kernel_url or self.server.connection_url,
            owner=self.current_owner,
            strip=self.kernel_firewall,
            log=self.log,
            **options,
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
            def done(future: Future[Any]) -> None:
                if future.exception() is not None:
                    self.log.error("Could not remove the grants of console kernel %s", kernel_id)

            self.executor.submit(self.grants.forget_kernel, kernel_id).add_done_callback(done)

        if not self.hub_service_url:  # (client mode: no grants here)
            self.kernel_tokens.on_revoke.append(forget)

    async def console_binding(self, owner: str, path: Any) -> dict[str, Any]:
        """``{"kernel_id": ...}`` when ``path`` is a console session's (no file to bind a
        grant to), else ``{}``."""
        if not isinstance(path, str):
            return {}
        for session in await self.server.session_manager.list_sessions():
            if session.get("path") == path and session.get("type") == "console":
                return self.grant_binding("console", (session.get("kernel") or {}).get("id"))
        return {}

    @staticmethod
    def grant_binding(session_type: str, kernel_id: str | None) -> dict[str, Any]:
        return {"kernel_id": kernel_id} if session_type == "console" and kernel_id else {}

    def isolation_status(self) -> dict[str, Any]:
        return kernels_gateway.isolation_status(
            self.server, getattr(self, "non_dumpable_applied", False)
        )

    def _install_redaction(self, client_mode: bool) -> None:
        # keys: the store's when a notebook is saved, or the service's (hub/redaction.py)
        keys = hub_client.redaction_keys(self) if client_mode else None
        self.redactor = Redactor(
            keys.load_keys if keys else lambda owner: self.credentials.plaintext_keys(owner),
            keys.change_marker if keys else lambda owner: self.credentials.change_marker(owner),
            self.current_owner,
        )
        # The owner's open JupyterLab pages hear of it on the grant-prompt socket (the
        # notebook's path and a count; never a key nor a credential's name).
        self.redactor.on_redacted = lambda owner, path, count: self.grant_prompts.notify(
            owner, {"type": "redacted", "path": path, "count": count}
        )
        if self.redact_outputs:
            self.server.contents_manager.register_pre_save_hook(self.redactor.pre_save_hook)

    def current_owner(self) -> str:
        """The owner for work done on behalf of the request being handled right now."""
        handler = CallContext.get(CallContext.JUPYTER_HANDLER)
        return self.owner_for(getattr(handler, "current_user", None))

    @property
    def key_check(self) -> str:
        return self.backend.key_check

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    def owner_for(self, user: User | None) -> str:
        """The owner whose rows a request may touch.

        Jupyter's stock identity providers do not identify people (each browser
        gets a random anonymous user), so they all map to the configured owner;
        a provider that overrides ``get_user`` (JupyterHub's) names real users.
        """
        provider = self.server.identity_provider
        named = type(provider).get_user is not IdentityProvider.get_user and user is not None
        return owner_name(user.username if named and user is not None else self.owner)

    def key_status(self) -> dict[str, Any]:
        return self.backend.key_status()

    async def stop_extension(self) -> None:
        done = self.__dict__  # what finish_start set, if it ran (hasattr would wait for it)
        pool = getattr(self.settings.get(SERVICES_SETTING), "pool", None)  # client mode
        if pool is not None:
            pool.close()
        if "provider_proxy" in done:
            self.provider_proxy.close_connections()
        if "executor" in done:
            self.executor.shutdown(wait=False, cancel_futures=True)
        if "backend" in done:
            self.backend.close()
        if "audit" in done:
            self.audit.close()
