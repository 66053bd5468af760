"""``jupyter open-notebook hub-service``: the store, the key and the API as a hub-managed service.

JupyterHub starts the command (``c.JupyterHub.services``, with ``command``) with the
service's environment: ``JUPYTERHUB_SERVICE_URL`` (where to listen),
``JUPYTERHUB_SERVICE_PREFIX`` (the path the hub's proxy forwards, ``/services/<name>/``),
``JUPYTERHUB_API_URL`` and ``JUPYTERHUB_API_TOKEN`` (to check users' tokens), and the
service's own ``environment`` entries: the database URL and the encryption key (or the
files holding them) live there, in the service's process, and nowhere in users' servers.
``JUPYTERHUB_SERVICE_NAME`` names the access scope users need
(``access:services!service=<name>``, jupyterhub's ``HubAuth``) and the admin scope.

Several replicas (the hub's service entry *externally managed*: a load balancer's
``url`` and an ``api_token``, no ``command``): each replica is started by the operator
with the same variables, ``JUPYTERHUB_SERVICE_URL`` being where that replica listens
(the load balancer's upstream) and ``JUPYTERHUB_API_TOKEN`` the entry's ``api_token``;
they share one PostgreSQL database, where the failed-authentication limit and the
budgets are counted (``security/dblimiter.py``).

The command runs a Jupyter server with this extension alone, at that URL and prefix:

* every request is identified by its hub token (``hub/identity.py``): no Jupyter token,
  no password, no login page;
* only Open Notebook's routes are authorized (``hub/authorizer.py``): no kernels, no
  contents, no terminals for the users the hub lets in;
* the contents root is an empty private directory under ``data_dir``.

These settings are given on the server's command line, so no configuration file can
change them; every other setting (``c.OpenNotebookApp.*``, ``OPEN_NOTEBOOK_*``) is read as
for any server.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from jupyter_core.application import JupyterApp
from traitlets import Bool

from open_notebook_ext._version import __version__

REQUIRED_ENV = (
    "JUPYTERHUB_SERVICE_URL",
    "JUPYTERHUB_SERVICE_PREFIX",
    "JUPYTERHUB_API_URL",
    "JUPYTERHUB_API_TOKEN",
    "JUPYTERHUB_SERVICE_NAME",
)
IDENTITY_PROVIDER = "open_notebook_ext.hub.identity.HubServiceIdentityProvider"
AUTHORIZER = "open_notebook_ext.hub.authorizer.ServiceAuthorizer"
EXTENSION = "open_notebook_ext"
EXIT_CONFIG = 2


class ServiceSetupError(Exception):
    """The service cannot start as configured (the message says why)."""


def listen_address(service_url: str) -> tuple[str, int]:
    """(host, port) to listen on, from ``JUPYTERHUB_SERVICE_URL``."""
    parts = urlsplit(service_url)
    if parts.scheme != "http" or not parts.hostname or parts.port is None:
        raise ServiceSetupError(
            f"JUPYTERHUB_SERVICE_URL must be http://<host>:<port> (the service's `url` in "
            f"jupyterhub_config.py), not {service_url!r}"
        )
    return parts.hostname, parts.port


def server_argv(env: Mapping[str, str], root_dir: Path, *, allow_root: bool) -> list[str]:
    """The Jupyter server's command line for service mode (see the module's docstring)."""
    missing = [name for name in REQUIRED_ENV if not env.get(name)]
    if missing:
        raise ServiceSetupError(
            f"{', '.join(missing)} not set: this command is started by JupyterHub, as a "
            "service with a `command` in c.JupyterHub.services, or (several replicas, an "
            "externally managed service) with these variables set by whoever starts it"
        )
    host, port = listen_address(env["JUPYTERHUB_SERVICE_URL"])
    prefix = env["JUPYTERHUB_SERVICE_PREFIX"]
    if not prefix.startswith("/"):
        raise ServiceSetupError(f"JUPYTERHUB_SERVICE_PREFIX must be a path, not {prefix!r}")
    argv = [
        f"--ServerApp.ip={host}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.base_url={prefix}",
        "--ServerApp.open_browser=False",
        f"--ServerApp.identity_provider_class={IDENTITY_PROVIDER}",
        f"--ServerApp.authorizer_class={AUTHORIZER}",
        "--ServerApp.terminals_enabled=False",
        f"--ServerApp.root_dir={root_dir}",
        # The hub's proxy forwards with the hub's public Host; a request carries its
        # hub token in a header, which no page another site (or a rebound DNS name)
        # serves can set, so Jupyter's Host check guards nothing here.
        "--ServerApp.allow_remote_access=True",
    ]
    if allow_root:
        argv.append("--ServerApp.allow_root=True")
    return argv


def prepare_root(data_dir: str) -> Path:
    """An empty 0700 directory under ``data_dir``: the service's contents root."""
    root = Path(data_dir) / "service-root"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    root.chmod(0o700)
    return root


class HubServiceApp(JupyterApp):
    name = "hub-service"
    version = __version__
    config_file_name = "jupyter_server_config"
    description = """Run the credential store, its key and the Open Notebook API as a
    JupyterHub-managed service (c.JupyterHub.services, with this command).

    Users reach the API at /services/<name>/open-notebook/api/ with their hub token
    (Authorization: token <t>, or Bearer), and need the access:services!service=<name>
    scope. Give the database URL and the key to the service's `environment` (or files
    it names), never to the users' servers. Needs the jupyterhub package
    (pip install 'open_notebook_ext[hub]')."""

    allow_root = Bool(
        False,
        config=True,
        help="Allow the service to run as root (Jupyter refuses otherwise).",
    )
    flags = {
        "allow-root": ({"HubServiceApp": {"allow_root": True}}, "Allow running as root."),
    }

    def start(self) -> None:
        if importlib.util.find_spec("jupyterhub") is None:
            self.fail("needs the jupyterhub package: pip install 'open_notebook_ext[hub]'")
        from jupyter_server.serverapp import ServerApp

        from open_notebook_ext.app import OpenNotebookApp

        settings = OpenNotebookApp(config=self.config)
        try:
            argv = server_argv(
                os.environ, prepare_root(settings.data_dir), allow_root=self.allow_root
            )
        except (ServiceSetupError, OSError) as e:
            self.fail(str(e))
        # The server is the process's application from here on (Jupyter's code asks for
        # ServerApp.instance()): this command gives up the singleton slot it holds.
        JupyterApp.clear_instance()
        server = ServerApp.instance(jpserver_extensions={EXTENSION: True})
        # Only this extension: find_extensions=False skips the ones installed next to it
        # (JupyterLab's pages, jupyter-ai, ...), which users must not reach here.
        server.initialize(argv=argv, find_extensions=False, starter_extension="open_notebook")
        loaded = sorted(server.extension_manager.extensions)
        if loaded != [EXTENSION]:
            self.fail(f"only {EXTENSION} may be loaded in service mode, found {loaded}")
        server.start()

    def fail(self, message: str) -> None:
        print(f"jupyter open-notebook {self.name}: {message}", file=sys.stderr)
        self.exit(EXIT_CONFIG)
