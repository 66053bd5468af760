"""Start-up checks of OpenNotebookApp's configuration: origins, proxies, secret files
reachable through the contents API, and warnings about the key.

Each takes the app (its settings and its server); a configuration that cannot work
raises ``ConfigError``, which stops the server with one message (app.py).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from open_notebook_ext.audit.startlog import key_file_made
from open_notebook_ext.errors import ConfigError
from open_notebook_ext.security import exposure, logscrub
from open_notebook_ext.security.identity import TrustedProxies
from open_notebook_ext.security.origin import OriginPolicy, parse_origin_list
from open_notebook_ext.vault.keyenv import KEY_ENV, KEY_FILE_ENV, KEYS_ENV, KEYS_FILE_ENV

if TYPE_CHECKING:
    from open_notebook_ext.app import OpenNotebookApp


def trusted_proxies(app: OpenNotebookApp) -> TrustedProxies:
    """The reverse proxies whose forwarded headers count (an invalid entry stops start-up)."""
    proxies = TrustedProxies(app.trusted_proxies, "OpenNotebookApp.trusted_proxies")
    trust = bool(app.server.trust_xheaders)
    if trust and not proxies:
        app.log.warning(
            "ServerApp.trust_xheaders is on but OpenNotebookApp.trusted_proxies is empty: "
            "open-notebook/api ignores X-Forwarded-* and X-Real-Ip from every peer. Set "
            "trusted_proxies (OPEN_NOTEBOOK_TRUSTED_PROXIES) to your proxy's address."
        )
    elif proxies and not trust:
        app.log.warning(
            "OpenNotebookApp.trusted_proxies has no effect while ServerApp.trust_xheaders is off."
        )
    return proxies


def origin_policy(app: OpenNotebookApp) -> OriginPolicy:
    allowed = parse_origin_list(app.allowed_origins, "OpenNotebookApp.allowed_origins")
    policy = OriginPolicy(allowed, app.cors_max_age, tuple(app.cors_allow_headers))
    if policy.wildcard:
        app.log.warning(
            "allowed_origins is '*': any website may call the Open Notebook API from a "
            "visitor's browser. Access-Control-Allow-Credentials is not sent with '*', so "
            "browsers will not attach cookies; list exact origins for production."
        )
    server = app.server
    if (server.allow_origin or server.allow_origin_pat) and not allowed:
        app.log.info(
            "ServerApp.allow_origin/allow_origin_pat do not apply to open-notebook/api; "
            "set OpenNotebookApp.allowed_origins to allow cross-origin calls there."
        )
    return policy


def warn_about_key(app: OpenNotebookApp) -> None:
    if app.key_material.source == "generated":
        made = key_file_made(app.key_material.path, app.started_at)
        app.log.warning(
            "No encryption key configured: %s. Anyone who can read this "
            "file can decrypt the stored API keys. In production supply your own key "
            "with OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE or OPEN_NOTEBOOK_ENCRYPTION_KEY.",
            f"generated one in {app.key_material.path}"
            if made is None
            else f"using the key file generated on {made} in {app.key_material.path}",
        )
    elif not app.keyring.configured:
        app.log.warning(
            "No encryption key configured and generate_key is off: credentials can be "
            "read but not stored. Set OPEN_NOTEBOOK_ENCRYPTION_KEY or "
            "OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE."
        )


def warn_about_command_line_secrets(app: OpenNotebookApp) -> None:
    named = logscrub.command_line_secrets(getattr(app.server, "cli_config", None) or {})
    if named:
        app.log.warning(
            "%s given on the command line, where every local user and process can read "
            "it (ps, /proc/<pid>/cmdline). Use OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE or "
            "OPEN_NOTEBOOK_ENCRYPTION_KEY for the key, JUPYTER_TOKEN_FILE or JUPYTER_TOKEN "
            "for the token, OPEN_NOTEBOOK_DB_URL_FILE for a database URL with a password.",
            ", ".join(named),
        )


def key_given(app: OpenNotebookApp) -> bool:
    """A key is configured (no key file will be generated)."""
    env_vars = (KEY_ENV, KEY_FILE_ENV, KEYS_ENV, KEYS_FILE_ENV)
    return bool(
        app.encryption_key.strip()
        or app.encryption_keys
        or any(os.environ.get(v, "").strip() for v in env_vars)
    )


def check_exposure(app: OpenNotebookApp) -> None:
    """Refuse (or, when allowed, warn) when a secret file could be read back through
    Jupyter's contents API: see exposure.py."""
    cm = app.server.contents_manager
    root = getattr(cm, "root_dir", None) or app.server.root_dir
    allow_hidden = bool(getattr(cm, "allow_hidden", False))
    files = exposure.secret_files(
        data_dir=app.data_dir,
        db_url=app.db_url,
        audit_log=app.audit_log,
        env=os.environ,
        generated_key=app.generate_key and not key_given(app),
    )
    found = exposure.exposed(files, root, allow_hidden)
    if not found:
        return
    why = "ContentsManager.allow_hidden is on" if allow_hidden else "not hidden"
    problem = (
        f"Jupyter's contents API (/files, /api/contents, /view) could serve "
        f"{exposure.describe(found)} (inside the root directory {root}, {why})"
    )
    if not app.allow_secrets_in_root:
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
    app.log.warning(
        "%s; started anyway because OpenNotebookApp.allow_secrets_in_root is set.", problem
    )
