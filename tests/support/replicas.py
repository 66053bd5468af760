"""Several replicas of the hub service behind nginx, on loopback (the operators' guide's
"Several replicas"): each replica a ``jupyter-open-notebook hub-service`` process started
as an operator would (the environment the hub gives a service it starts, set by hand),
all sharing one PostgreSQL database and one key; nginx, started as our own process, is
their round-robin upstream, and the hub's service entry names nginx's address.

nginx adds ``X-Upstream: <the replica's address>`` to each answer (the one line here that
is not the guide's), so a test can tell which replica answered.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from support.hub import BIN, SERVICE
from support.servers import free_port, root_flags

PREFIX = f"/services/{SERVICE}/"

NGINX_CONF = """\
{user}worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log info;
events {{ worker_connections 512; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;

    # The operators' guide's upstream block: the replicas, round robin; a replica that
    # refuses connections is skipped (and retried after fail_timeout).
    upstream open_notebook_service {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location {prefix} {{
            proxy_pass http://open_notebook_service;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_buffering off;           # the provider proxy's streamed answers
            proxy_request_buffering off;
            proxy_read_timeout 600s;
            client_max_body_size 110m;     # the service applies its own limits
            proxy_next_upstream error timeout;
            add_header X-Upstream $upstream_addr always;   # the tests' only addition
        }}
    }}
}}
"""


class Replica:
    """One ``hub-service`` process listening on its own loopback port."""

    def __init__(self, root: Path, index: int, env: dict[str, str]) -> None:
        self.root = root / f"replica-{index}"
        self.index = index
        self.port = free_port()
        self.env = env
        self.log_path = self.root / "replica.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """The replica's API on its own port, past nginx and the hub's proxy."""
        return f"http://{self.address}{PREFIX}open-notebook/api/"

    def environment(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OPEN_NOTEBOOK_", "JUPYTER", "PG"))
        }
        env.update(self.env)
        env.update(
            HOME=str(self.root / "home"),
            JUPYTERHUB_SERVICE_URL=f"http://{self.address}",  # where this replica listens
            OPEN_NOTEBOOK_DATA_DIR=str(self.root / "data"),
            JUPYTER_DATA_DIR=str(self.root / "jupyter-data"),
            JUPYTER_RUNTIME_DIR=str(self.root / "runtime"),
            PYTHONUNBUFFERED="1",
        )
        return env

    def start(self, timeout: float = 90) -> Replica:
        (self.root / "home").mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(BIN / "jupyter-open-notebook"), "hub-service", *root_flags()],
                env=self.environment(),
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"replica {self.index} exited:\n{self.log[-4000:]}")
            try:
                r = requests.get(self.api_url + "providers", timeout=5)
                if r.status_code == 401 and r.headers.get("Content-Type", "").startswith(
                    "application/json"
                ):
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.stop()
        pytest.fail(f"replica {self.index} did not answer in {timeout}s:\n{self.log[-4000:]}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Nginx:
    """nginx as the replicas' load balancer, in the foreground, as our own process."""

    def __init__(self, root: Path, replicas: list[Replica]) -> None:
        self.root = root / "nginx"
        self.port = free_port()
        self.replicas = replicas
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> Nginx:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            pytest.fail("nginx is missing: `make test` installs Debian's nginx-light")
        self.root.mkdir(parents=True, exist_ok=True)
        servers = "\n".join(
            f"        server {r.address} max_fails=1 fail_timeout=10s;" for r in self.replicas
        )
        conf = self.root / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                # as root nginx would run its worker as nobody, who cannot enter the
                # test's private temporary directory
                user="user root;\n" if os.geteuid() == 0 else "",
                root=self.root,
                servers=servers,
                port=self.port,
                prefix=PREFIX,
            )
        )
        self.proc = subprocess.Popen(
            [
                binary,
                "-e",
                str(self.root / "error.log"),
                "-p",
                str(self.root),
                "-c",
                str(conf),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"nginx exited:\n{self.error_log[-4000:]}")
            try:
                url = f"http://127.0.0.1:{self.port}{PREFIX}open-notebook/api/providers"
                r = requests.get(url, timeout=5)
                if r.status_code == 401:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"nginx did not answer in {timeout}s:\n{self.error_log[-4000:]}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGQUIT)  # graceful: workers finish their requests
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    @property
    def error_log(self) -> str:
        path = self.root / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""
