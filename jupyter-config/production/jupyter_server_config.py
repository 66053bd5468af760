"""Production settings for Jupyter + open_notebook_ext behind a TLS reverse proxy.

Used by the container image (/etc/jupyter/jupyter_server_config.py) and by the
tests that prove the deployment live. Secrets come from files named by
environment variables (compose `secrets:`), never from the command line:

  JUPYTER_TOKEN_FILE                  the Jupyter token (required)
  OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE   the encryption key (or ..._KEYS_FILE)
  OPEN_NOTEBOOK_DB_URL_FILE           optional: a database URL with a password

Other knobs: NOTEBOOK_DIR (/data/notebooks), OPEN_NOTEBOOK_DATA_DIR
(/data/open_notebook), OPEN_NOTEBOOK_CORS_ORIGINS (empty: same-origin only),
JUPYTER_IP / JUPYTER_PORT (0.0.0.0:8888 inside the container; only the proxy
reaches it), JUPYTER_ENABLE_TERMINALS=1 to allow terminals,
OPEN_NOTEBOOK_TRUSTED_PROXIES (the proxy's own address: docker-compose.yml gives
it a fixed one on the backend network and sets this).
"""

import os

from open_notebook_ext.security.secretfile import SecretError, check_length, read_secret_file
from open_notebook_ext.vault.keyring import split_keys

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

# Secrets: each must be there, readable and at least 32 characters (a token file
# holding only a newline would otherwise mean "authentication disabled"). One
# line and exit 1 when not, before anything starts. The first variable set wins,
# in the order Jupyter (token) and open_notebook_ext (key) read them.
MIN_SECRET_LENGTH = 32


def _secret(*sources: str, several: bool = False) -> bool:
    """Check the first of ``sources`` that is set (``*_FILE``: a file holding the secret)."""
    whole = 1 if several else MIN_SECRET_LENGTH  # a key list: each key is checked below
    for var in sources:
        raw = os.environ.get(var, "")
        if var.endswith("_FILE") and raw.strip():
            text = read_secret_file(raw.strip(), var, min_length=whole)
        elif raw and not var.endswith("_FILE"):
            text = check_length(raw, var, whole)
        else:
            continue
        if several:
            keys = split_keys(text)
            if not keys:
                raise SecretError(f"{var} holds no key")
            for key in keys:
                check_length(key, f"a key in {var}", MIN_SECRET_LENGTH)
        return True
    return False


try:
    if not _secret("JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE"):
        raise SecretError("set JUPYTER_TOKEN_FILE (a file holding the token)")
    if not (
        _secret("OPEN_NOTEBOOK_ENCRYPTION_KEYS_FILE", "OPEN_NOTEBOOK_ENCRYPTION_KEYS", several=True)
        or _secret("OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE", "OPEN_NOTEBOOK_ENCRYPTION_KEY")
    ):
        raise SecretError("set OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE (a file holding the key)")
except SecretError as e:
    raise SystemExit(
        f"production config: {e}; refusing to start "
        f"(secrets need {MIN_SECRET_LENGTH}+ characters, e.g. "
        f"`openssl rand -hex 32`)"
    ) from None

# Network: listen inside the container only; the proxy terminates TLS and adds
# X-Forwarded-*, which Jupyter trusts because of this flag, and open_notebook_ext
# only from OpenNotebookApp.trusted_proxies (OPEN_NOTEBOOK_TRUSTED_PROXIES, the
# proxy's address): kernels reach Jupyter directly and could write anything there.
c.ServerApp.ip = os.environ.get("JUPYTER_IP", "0.0.0.0")  # noqa: S104 - container-internal
c.ServerApp.port = int(os.environ.get("JUPYTER_PORT", "8888"))
c.ServerApp.port_retries = 0
c.ServerApp.open_browser = False
c.ServerApp.trust_xheaders = True
c.ServerApp.allow_remote_access = True  # the Host header is the public name
c.ServerApp.root_dir = os.environ.get("NOTEBOOK_DIR", "/data/notebooks")

# Authentication: the token from JUPYTER_TOKEN_FILE (read by the identity provider,
# never copied into this config: config values show in --debug logs), compared in
# constant time; the provider refuses a short or empty token itself too. Cookies
# only over HTTPS and never sent cross-site.
c.ServerApp.identity_provider_class = "open_notebook_ext.security.identity.ConstantTimeIdentityProvider"
c.ConstantTimeIdentityProvider.min_token_length = MIN_SECRET_LENGTH
c.IdentityProvider.cookie_options = {"secure": True, "samesite": "Lax", "httponly": True}
c.ServerApp.allow_origin = ""  # Jupyter's own API: same-origin only
c.ServerApp.allow_credentials = False
c.ServerApp.disable_check_xsrf = False

# Less surface: no terminals unless asked, idle kernels culled.
c.ServerApp.terminals_enabled = os.environ.get("JUPYTER_ENABLE_TERMINALS", "") == "1"
c.MappingKernelManager.cull_idle_timeout = 3600
c.MappingKernelManager.cull_interval = 300

# open_notebook_ext: never generate a key (it must come from a secret); the
# allowlist comes from OPEN_NOTEBOOK_CORS_ORIGINS (the trait's default).
c.OpenNotebookApp.generate_key = False
