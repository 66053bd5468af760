"""jupyter-ai v3 (Jupyternaut) keeps its keys in the encrypted store, not in ``.env``.

Jupyternaut publishes its secrets manager at
``web_app.settings["jupyternaut.secrets_manager"]``, and its AI Settings page talks to
it through ``SecretsRestAPI`` (``GET/PUT api/jupyternaut/secrets``), which reads the
object from the settings on every request. Its own ``EnvSecretsManager`` writes
every key to a plaintext ``.env`` (0644, served by the contents API since Jupyternaut
turns ``allow_hidden`` on) and loads it into the server's ``os.environ``. Here, when
``jupyter_ai_jupyternaut`` is enabled, that object is replaced (after its ``stop()``,
which cancels the ``.env`` watcher) by :class:`StoreSecretsManager`, which has the
same duck-typed interface — ``list_secrets()``, ``async update_secrets()``,
``get_secret()``, ``stop()`` — and keeps the keys as credentials:

* saving ``OPENAI_API_KEY`` on the AI Settings page creates (or updates) the
  credential ``jupyter-ai`` of the provider the variable belongs to
  (``provider_env.PROVIDER_ENV``: ``GEMINI_API_KEY`` -> google, ...), encrypted;
  a variable of no known provider is refused; nothing is written to ``.env``;
* the page lists, as editable, the variables of the credentials delivered (below);
* a ``.env`` that exists is not read: it is imported on request (the panel's
  *Import from environment*, ``jupyter open-notebook import-env --dotenv``).

Delivery to litellm: through the server process's ``os.environ`` (what jupyter-ai
does), not litellm's custom secret manager, because litellm reads
``os.environ["ANTHROPIC_API_KEY"]`` directly on its Anthropic path (the custom
manager only covers names looked up through ``get_secret``), and a base URL
(``OPENAI_BASE_URL``) comes from the environment too. Per provider one credential is
delivered: the one named ``jupyter-ai``, else the provider's only one. Values set
after start-up are not in ``/proc/<pid>/environ`` (which shows the start-up
environment), the server is non-dumpable (``procsec.py``), and every variable of the
table is stripped from kernels' environments while the bridge is active
(``kernel_env_strip`` is extended here), so kernels do not receive them.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any

from tornado.ioloop import IOLoop
from tornado.web import HTTPError

from open_notebook_ext.errors import OpenNotebookError
from open_notebook_ext.vault.provider_env import PROVIDER_ENV, secret_variables

SETTING = "jupyternaut.secrets_manager"
JUPYTER_AI_NAME = "jupyter-ai"
# variable -> (provider, credential field)
VARIABLES: dict[str, tuple[str, str]] = {}
for _provider, _spec in PROVIDER_ENV.items():
    for _field, _names in _spec.fields.items():
        for _name in _names:
            VARIABLES.setdefault(_name, (_provider, _field))


def _secrets_list(editable: list[str], static: list[str]) -> Any:
    try:
        from jupyter_ai_jupyternaut.secrets.secrets_types import SecretsList
    except ImportError:  # pragma: no cover - only used with Jupyternaut present
        import json

        class SecretsList:  # type: ignore[no-redef]
            def __init__(self, **kw: list[str]) -> None:
                self.kw = kw

            def model_dump_json(self) -> str:
                return json.dumps(self.kw)

    return SecretsList(editable_secrets=editable, static_secrets=static)


def desired_environment(
    credentials: list[dict[str, Any]], read: Any
) -> tuple[dict[str, str], list[str]]:
    """(variable -> value, warnings) for the credentials to deliver, one per provider.

    ``credentials`` are the store's JSON (no keys); ``read(credential_id)`` returns a
    credential's fields with its key. Warnings name credentials, never values.
    """
    by_provider: dict[str, list[dict[str, Any]]] = {}
    for c in credentials:
        if c["provider"] in PROVIDER_ENV and not c.get("decryption_error"):
            by_provider.setdefault(c["provider"], []).append(c)
    env: dict[str, str] = {}
    warnings: list[str] = []
    for provider, group in by_provider.items():
        named = [c for c in group if c["name"] == JUPYTER_AI_NAME]
        if named:
            chosen = named[0]
        elif len(group) == 1:
            chosen = group[0]
        else:
            warnings.append(
                f"{provider}: {len(group)} credentials ({', '.join(c['name'] for c in group)})"
                f" and none named {JUPYTER_AI_NAME!r}; none is given to jupyter-ai"
            )
            continue
        fields = read(chosen["id"])
        for field, names in PROVIDER_ENV[provider].fields.items():
            value = fields.get(field)
            if value:
                for name in names:
                    env[name] = value
    return env, warnings


class StoreSecretsManager:
    """Jupyternaut's secrets manager, backed by the encrypted credential store."""

    def __init__(self, ext: Any, initial_env: Mapping[str, str]) -> None:
        self.ext = ext
        self.log = ext.log
        self._initial_env = dict(initial_env)
        self._applied: dict[str, str] = {}
        self._lock = asyncio.Lock()
        # Whose keys the server process holds: jupyter-ai is one per process, so one
        # owner's (the configured owner, or whoever saved keys in AI Settings last).
        self.owner: str = ext.owner

    # -- what jupyter-ai calls -------------------------------------------------

    def list_secrets(self) -> Any:
        editable = sorted(self._applied)
        static = sorted(
            n
            for n in self._initial_env
            if any(w in n for w in ("KEY", "TOKEN", "SECRET"))
            and n != "TIKTOKEN_CACHE_DIR"
            and n not in self._applied
        )
        return _secrets_list(editable, static)

    async def update_secrets(self, updated_secrets: dict[str, str | None]) -> None:
        if not updated_secrets:
            return
        unknown = sorted(n for n in updated_secrets if n not in VARIABLES)
        if unknown:
            # str() of this reaches the client (SecretsRestAPI wraps it in a 500): names only
            raise HTTPError(
                400,
                reason=(
                    f"{', '.join(unknown)[:200]}: not a provider variable open_notebook_ext "
                    "stores; set it in the server's environment instead"
                ),
            )
        owner = self.ext.current_owner()
        self.owner = owner
        async with self._lock:
            try:
                created = await IOLoop.current().run_in_executor(
                    self.ext.executor, self._save, owner, updated_secrets
                )
            except OpenNotebookError as e:
                raise HTTPError(400, reason=e.detail[:300]) from None
            for c in created:
                self.ext.audit.emit(
                    "credential",
                    action=c.pop("_action"),
                    owner=owner,
                    user=owner,
                    **c,
                    source="jupyter-ai",
                )
            await self.refresh(owner)

    def get_secret(self, secret_name: str) -> str | None:
        return self._applied.get(secret_name)

    def stop(self) -> None:
        self._apply({})

    # -- the store ----------------------------------------------------------------

    def _save(self, owner: str, updated: dict[str, str | None]) -> list[dict[str, Any]]:
        """One credential write per provider named in ``updated``."""
        store = self.ext.credentials
        per_provider: dict[str, dict[str, str | None]] = {}
        for name, value in updated.items():
            provider, field = VARIABLES[name]
            per_provider.setdefault(provider, {})[field] = value
        existing = {c["provider"]: c for c in store.list(owner) if c["name"] == JUPYTER_AI_NAME}
        done = []
        for provider, fields in per_provider.items():
            current = existing.get(provider)
            if "api_key" in fields and fields["api_key"] is None:
                if current is not None:
                    store.delete(owner, current["id"])
                    done.append(
                        {
                            "_action": "deleted",
                            "credential_id": current["id"],
                            "credential_name": JUPYTER_AI_NAME,
                            "provider": provider,
                        }
                    )
                continue
            if current is None:
                row = store.create(owner, {"name": JUPYTER_AI_NAME, "provider": provider, **fields})
                action = "created"
            else:
                row = store.update(owner, current["id"], fields)
                action = "updated"
            done.append(
                {
                    "_action": action,
                    "credential_id": row["id"],
                    "credential_name": row["name"],
                    "provider": provider,
                }
            )
        return done

    def _read(self, owner: str) -> tuple[dict[str, str], list[str]]:
        access = self.ext.secret_access

        def read(credential_id: str) -> dict[str, Any]:
            _meta, secret = access.read(owner, credential_id=credential_id, require_key=False)
            return secret or {}

        return desired_environment(self.ext.credentials.list(owner), read)

    async def refresh(self, owner: str | None = None) -> None:
        """Put the delivered credentials' variables in the server's environment."""
        owner = owner or self.owner
        if owner != self.owner:
            return  # another user's change: not this process's keys
        env, warnings = await IOLoop.current().run_in_executor(self.ext.executor, self._read, owner)
        for w in warnings:
            self.log.warning("jupyter-ai: %s", w)
        self._apply(env)

    def _apply(self, env: dict[str, str]) -> None:
        for name in set(self._applied) - set(env):
            if name in self._initial_env:
                os.environ[name] = self._initial_env[name]
            else:
                os.environ.pop(name, None)
        os.environ.update(env)
        self._applied = dict(env)


def _replace(ext: Any) -> bool:
    settings = ext.serverapp.web_app.settings
    current = settings.get(SETTING)
    if current is None:
        return False
    if isinstance(current, StoreSecretsManager):
        return True
    try:
        current.stop()  # cancels the .env watcher, un-sets what it loaded
    except Exception:
        ext.log.warning("jupyter-ai's secrets manager did not stop cleanly", exc_info=True)
    initial = getattr(current, "_initial_env", None) or dict(os.environ)
    manager = StoreSecretsManager(ext, initial)
    settings[SETTING] = manager
    ext.settings[SETTING] = manager
    ext.jupyter_ai_secrets = manager
    ext.log.info("jupyter-ai's keys are kept in open_notebook_ext's encrypted store (not in .env)")
    _warn_about_dotenv(ext)
    # the stores and the audit log are opened after the server listens (startlater.py):
    # jupyter-ai wants its keys early, so the opening begins now, off the loop, and these
    # run on the loop once it is done (reading them here would wait for it, stalling
    # the server)
    ext.when_started(manager.refresh)
    ext.when_started(lambda: _follow_credential_changes(ext, manager))
    return True


def _follow_credential_changes(ext: Any, manager: StoreSecretsManager) -> None:
    """Any credential change (the panel, an import, the API) updates what jupyter-ai
    gets: the audit events say when, and whose."""
    from open_notebook_ext.audit.log import SCHEMA_IDS

    async def on_event(logger: Any, schema_id: str, data: dict) -> None:
        if data.get("action") in ("created", "updated", "deleted"):
            try:
                await manager.refresh(data.get("owner"))
            except Exception:
                ext.log.error(
                    "Could not update jupyter-ai's keys after a credential change", exc_info=False
                )

    ext.audit.events.add_listener(schema_id=SCHEMA_IDS["credential"], listener=on_event)


def _warn_about_dotenv(ext: Any) -> None:
    from open_notebook_ext.ecosystem import dotenv

    path = dotenv.contents_root(ext) / dotenv.DOTENV_NAME
    try:
        names = sorted(n for n in dotenv.read(path) if n in VARIABLES)
    except dotenv.DotenvError:
        names = []
    if names:
        ext.log.warning(
            "%s holds %s in plain text and is no longer loaded: import it in the "
            "Credentials panel (Import from environment) or with `jupyter open-notebook "
            "import-env --dotenv=%s`, then remove it",
            path,
            ", ".join(names),
            path,
        )


def install(ext: Any) -> None:
    """Replace Jupyternaut's secrets manager when it is there (now, or once every
    extension has loaded, in case one sorts after ours), and keep every provider key
    variable out of kernels' environments."""
    enabled = ext.serverapp.jpserver_extensions.get("jupyter_ai_jupyternaut")
    if not enabled:
        return
    # every variable the bridge may set (keys, and base URLs that would point a
    # kernel's SDK at the server's choice): the firewall strips the key ones anyway
    managed = [*secret_variables(), *VARIABLES]
    extra = [n for n in dict.fromkeys(managed) if n not in ext.kernel_env_strip]
    ext.kernel_env_strip = [*ext.kernel_env_strip, *extra]
    if not _replace(ext):
        IOLoop.current().add_callback(lambda: _replace(ext))
