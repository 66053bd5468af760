"""A real JupyterHub on loopback, with the store as a hub-managed service.

``Hub`` writes a ``jupyterhub_config.py`` (DummyAuthenticator, SimpleLocalProcessSpawner,
configurable-http-proxy from ``.hub/``, which ``make hub-proxy`` installs), starts
``jupyterhub`` from this virtualenv in a new session, and stops it with SIGTERM to its
pid (the hub stops the proxy, the managed service and any user server it spawned).

The hub: users alice and bob in group ``class1``, carol outside it, an admin; a role
grants ``access:services!service=open-notebook`` to ``class1`` and the admin (carol has
no access); a ``tester`` service whose token may mint users' tokens and start servers.
The service runs ``jupyter-open-notebook hub-service`` with ``service_env`` (database
URL, key) in its environment, and nowhere else; or, with ``external_token`` set, the
service entry is externally managed (its replicas started by the test:
``integration/test_hub_replicas.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.fernet import Fernet

from support.pg import PostgresCluster
from support.servers import Response, free_port, root_flags

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
CHP = REPO / ".hub" / "node_modules" / ".bin" / "configurable-http-proxy"
SERVICE = "open-notebook"
API = "open-notebook/api"
# The service's secrets (searched for wherever they must not be) and a Jupyter server
# token the service must never accept.
DB_PASSWORD = "pg-" + secrets.token_hex(16)
ENCRYPTION_KEY = Fernet.generate_key().decode()
SERVER_TOKEN = "jupyter-" + secrets.token_hex(24)

CONFIG = """\
c = get_config()  # noqa: F821
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {proxy_port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.JupyterHub.db_url = "sqlite:///{root}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{root}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = "{root}/jupyterhub.pid"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {{"admin"}}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{root}/home/{{username}}"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = {root_flags!r}
c.Spawner.environment = {spawner_env!r}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.services = [
    {service_entry!r},
    {{"name": "tester", "api_token": {tester_token!r}}},
]
c.JupyterHub.load_groups = {{
    "class1": {{"users": ["alice", "bob"]}},
    "others": {{"users": ["carol"]}},
}}
c.JupyterHub.load_roles = [
    {{
        "name": "open-notebook-users",
        "scopes": ["access:services!service={service}"],
        "groups": ["class1"],
        "users": ["admin"],
    }},
    {{
        "name": "tester",
        "scopes": ["admin:users", "admin:servers", "tokens", "read:groups"],
        "services": ["tester"],
    }},
]
"""


class Hub:
    """A JupyterHub process and what a test needs to drive it."""

    def __init__(
        self,
        root: Path,
        service_env: dict[str, str],
        *,
        user_env: dict[str, str] | None = None,
        extra_config: str = "",
    ) -> None:
        if not CHP.exists():
            pytest.fail(f"{CHP} is missing: run `make hub-proxy` (`make test` does)")
        self.root = root
        self.service_env = service_env
        self.user_env = user_env or {}  # users' servers' environment (besides PATH)
        self.extra_config = extra_config  # more jupyterhub_config.py lines
        self.external_token: str | None = None  # an externally managed service's api_token
        self.proxy_port, self.hub_port = free_port(), free_port()
        self.proxy_api_port, self.service_port = free_port(), free_port()
        self.tester_token = secrets.token_hex(32)
        self.log_path = root / "hub.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_in: float | None = None  # seconds until the service answered

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def service_url(self) -> str:
        """The service's API as users reach it: through the hub's proxy."""
        return f"{self.url}/services/{SERVICE}/{API}/"

    @property
    def service_base(self) -> str:
        """The service's base URL on its own port (what hub_service_url names)."""
        return f"http://127.0.0.1:{self.service_port}/services/{SERVICE}/"

    def user_url(self, name: str) -> str:
        """``name``'s single-user server, through the hub's proxy."""
        return f"{self.url}/user/{name}/"

    @property
    def direct_url(self) -> str:
        """The service's API on its own port, past the proxy."""
        return f"http://127.0.0.1:{self.service_port}/services/{SERVICE}/{API}/"

    def service_entry(self) -> dict[str, Any]:
        """The service's entry in c.JupyterHub.services: started by the hub (``command``,
        ``environment``), or, with :attr:`external_token`, externally managed (several
        replicas behind a load balancer at ``service_port``: a ``url`` and an
        ``api_token``, as the operators' guide's "Several replicas")."""
        entry: dict[str, Any] = {
            "name": SERVICE,
            "url": f"http://127.0.0.1:{self.service_port}",
            "display": False,
        }
        if self.external_token:
            entry["api_token"] = self.external_token
        else:
            entry["command"] = [str(BIN / "jupyter-open-notebook"), "hub-service", *root_flags()]
            entry["environment"] = self.service_env
        return entry

    def write_config(self) -> Path:
        (self.root / "home").mkdir(parents=True, exist_ok=True)
        config = CONFIG.format(
            root=self.root,
            proxy_port=self.proxy_port,
            hub_port=self.hub_port,
            proxy_api_port=self.proxy_api_port,
            service_port=self.service_port,
            chp=str(CHP),
            singleuser=str(BIN / "jupyterhub-singleuser"),
            root_flags=root_flags(),
            spawner_env={"PATH": f"{BIN}:/usr/bin:/bin", **self.user_env},
            service=SERVICE,
            service_entry=self.service_entry(),
            tester_token=self.tester_token,
        )
        path = self.root / "jupyterhub_config.py"
        path.write_text(config + self.extra_config)
        path.chmod(0o600)
        return path

    def start(self, timeout: float = 120) -> Hub:
        config = self.write_config()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OPEN_NOTEBOOK_", "JUPYTER", "PG"))
        }
        env.update(
            HOME=str(self.root / "home"),
            JUPYTER_CONFIG_DIR=str(self.root / "jupyter-config"),
            JUPYTER_DATA_DIR=str(self.root / "jupyter-data"),
            CONFIGPROXY_AUTH_TOKEN=secrets.token_hex(32),
            PYTHONUNBUFFERED="1",
        )
        started = time.monotonic()
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [str(BIN / "jupyterhub"), "-f", str(config)],
                cwd=self.root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_for_service(timeout)
        self.started_in = time.monotonic() - started
        return self

    def _wait_for_service(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"jupyterhub exited with {self.proc.returncode}:\n{self.log[-4000:]}")
            try:
                # The service answers 401 (JSON) to a request without a token once it is up
                # behind the proxy; until then the proxy answers with the hub's 404/503.
                r = requests.get(self.service_url + "providers", timeout=5)
                if r.status_code == 401 and r.headers.get("Content-Type", "").startswith(
                    "application/json"
                ):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.stop()
        pytest.fail(
            f"the service did not come up behind the hub in {timeout}s:\n{self.log[-4000:]}"
        )

    def stop(self) -> None:
        """SIGTERM to the hub, which stops the proxy, the service and user servers; any of
        them still running after that (each runs in a session of its own) is stopped by
        pid, so nothing outlives the test."""
        if self.proc is None or self.proc.poll() is not None:
            return
        others = [p for p in descendants(self.proc.pid) if p != self.proc.pid]
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        for pid in others:
            _terminate(pid)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- the hub's API, as the tester service -----------------------------------------

    def hub_api(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(
            method,
            f"{self.url}/hub/api/{path}",
            headers={"Authorization": f"token {self.tester_token}"},
            data=json.dumps(body) if body is not None else None,
            timeout=30,
        )

    def user_token(self, name: str, **extra: Any) -> str:
        """A new hub token for ``name`` (POST /hub/api/users/{name}/tokens)."""
        r = self.hub_api("POST", f"users/{name}/tokens", {"note": "test", **extra})
        assert r.status_code == 201, r.text
        return r.json()["token"]

    def spawn(self, name: str, timeout: float = 120) -> dict[str, Any]:
        """Start ``name``'s single-user server and wait until the hub says it is ready."""
        r = self.hub_api("POST", f"users/{name}/server")
        assert r.status_code in (201, 202), r.text
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.hub_api("GET", f"users/{name}").json()
            server = (model.get("servers") or {}).get("", {})
            if server.get("ready"):
                return server
            time.sleep(0.5)
        pytest.fail(f"{name}'s server was not ready in {timeout}s:\n{self.log[-4000:]}")

    # -- the service, through the proxy -------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        scheme: str = "token",
        base: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        h = {"Authorization": f"{scheme} {token}"} if token else {}
        h.update(headers or {})
        data = json.dumps(body) if body is not None else None
        if data is not None:
            h["Content-Type"] = "application/json"
        r = requests.request(
            method,
            (base or self.service_url) + path,
            data=data,
            headers=h,
            timeout=30,
            allow_redirects=False,
        )
        return Response(r.status_code, r.headers, r.text)


def service_hub(root: Path, pg_cluster: PostgresCluster, database: str, **kw: Any) -> Hub:
    """A (not yet started) Hub whose service keeps its store in ``database`` of
    ``pg_cluster`` with :data:`ENCRYPTION_KEY`; ``kw`` goes to :class:`Hub`."""
    pg_cluster.create_database(database)
    service_dir = root / "service"
    service_env = {
        # trust authentication: the password is accepted and ignored, but it is in the URL
        # (and so a secret to look for) as it would be in production
        "OPEN_NOTEBOOK_DB_URL": pg_cluster.url(database, password=DB_PASSWORD),
        "OPEN_NOTEBOOK_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "OPEN_NOTEBOOK_DATA_DIR": str(service_dir / "data"),
        "JUPYTER_CONFIG_DIR": str(service_dir / "config"),
        "JUPYTER_DATA_DIR": str(service_dir / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(service_dir / "runtime"),
        "JUPYTER_TOKEN": SERVER_TOKEN,
    }
    return Hub(root, service_env, **kw)


def process_environ(pid: int) -> bytes:
    """``/proc/<pid>/environ`` (the tests run as root, which reads any process's)."""
    return Path(f"/proc/{pid}/environ").read_bytes()


def _proc_cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _processes() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[1])


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (the hub: its proxy, service, user servers)."""
    parents = {p: _parent(p) for p in _processes()}
    found, frontier = [pid], [pid]
    while frontier:
        current = frontier.pop()
        children = [p for p, parent in parents.items() if parent == current]
        found.extend(children)
        frontier.extend(children)
    return found


def _terminate(pid: int, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL after ``timeout``, to one process that may be gone already."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _parent(pid) is None:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _environ_or_empty(pid: int) -> bytes:
    try:
        return process_environ(pid)
    except OSError:  # gone since it was listed
        return b""


def single_user_pid(hub: Hub, name: str) -> int:
    """The pid of ``name``'s single-user server that ``hub`` spawned."""
    for pid in _processes():
        if "jupyterhub-singleuser" in _proc_cmdline(pid):
            env = _environ_or_empty(pid)
            if f"JUPYTERHUB_USER={name}\0".encode() in env and str(hub.root).encode() in env:
                return pid
    pytest.fail(f"no single-user server for {name} found")


def service_pid(hub: Hub) -> int:
    """The pid of the service process ``hub`` started."""
    for pid in _processes():
        if "hub-service" in _proc_cmdline(pid):
            env = _environ_or_empty(pid)
            if f"JUPYTERHUB_SERVICE_URL=http://127.0.0.1:{hub.service_port}".encode() in env:
                return pid
    pytest.fail("the service's process was not found")
