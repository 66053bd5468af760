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

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

if not (os.environ.get("JUPYTER_TOKEN_FILE") or os.environ.get("JUPYTER_TOKEN")):
    raise SystemExit("production config: set JUPYTER_TOKEN_FILE (a file holding the token)")
if not any(os.environ.get(v) for v in (
    "OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE", "OPEN_NOTEBOOK_ENCRYPTION_KEYS_FILE",
    "OPEN_NOTEBOOK_ENCRYPTION_KEY", "OPEN_NOTEBOOK_ENCRYPTION_KEYS",
)):
    raise SystemExit("production config: set OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE")

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

# Authentication: the token from JUPYTER_TOKEN_FILE (Jupyter reads it), compared
# in constant time; cookies only over HTTPS and never sent cross-site.
c.ServerApp.identity_provider_class = "open_notebook_ext.auth.ConstantTimeIdentityProvider"
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
