"""A real Jupyter server in a subprocess, and what the tests need to drive one.

``ServerProcess`` starts ``jupyter server`` from this virtualenv, with the
extension enabled the way a user gets it (the config file the wheel installs),
in a private HOME / Jupyter directory tree, on a free loopback port.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

BIN = Path(sys.executable).parent
API = "open-notebook/api"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def root_flags() -> list[str]:
    return ["--allow-root"] if os.geteuid() == 0 else []


@dataclass
class Response:
    status: int
    headers: requests.structures.CaseInsensitiveDict
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


def clean_env(home: Path) -> dict[str, str]:
    """The parent's environment minus anything that would configure the extension."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPEN_NOTEBOOK_", "JUPYTER_", "CORS_ORIGINS"))
    }
    env.update(
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        JUPYTER_DATA_DIR=str(home / ".local/share/jupyter"),
        JUPYTER_RUNTIME_DIR=str(home / ".local/share/jupyter/runtime"),
        JUPYTER_PLATFORM_DIRS="0",
        PYTHONUNBUFFERED="1",
    )
    return env


class ServerProcess:
    """``jupyter server`` in a subprocess; logs go to a file the test can search."""

    def __init__(
        self,
        home: Path,
        *,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        token: str | None = None,
        base_url: str = "/",
        app: str = "server",
        bin_dir: Path | None = None,
    ) -> None:
        self.home = home
        self.bin = bin_dir or BIN
        self.root = home / "work"
        self.root.mkdir(parents=True, exist_ok=True)
        self.token = token if token is not None else secrets.token_hex(24)
        self.port = free_port()
        self.base_url = base_url
        self.env = clean_env(home)
        self.env.update(env or {})
        self.args = list(args or [])
        self.app = app
        self.log_path = home / f"server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return Path(self.env["JUPYTER_DATA_DIR"]) / "open_notebook"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.base_url}"

    def command(self) -> list[str]:
        return [
            str(self.bin / "jupyter"),
            self.app,
            "--no-browser",
            *root_flags(),
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.base_url={self.base_url}",
            f"--ServerApp.root_dir={self.root}",
            *self.args,
        ]

    def start(self, wait: bool = True, timeout: float = 60) -> ServerProcess:
        env = dict(self.env)
        # The token goes through the environment, not the command line (ps shows that);
        # a test that gives JUPYTER_TOKEN_FILE gets that alone.
        if "JUPYTER_TOKEN_FILE" not in env:
            env.setdefault("JUPYTER_TOKEN", self.token)
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            self.command(),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.home,
            start_new_session=True,
        )
        log.close()
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log}")
            try:
                # Jupyter listens once every extension has loaded; our routes answer once
                # the extension's start-up has finished (startlater.py): any answer from
                # one of them (openapi.json needs no login) means ready.
                requests.get(self.url + "api/status", timeout=2)
                requests.get(f"{self.url}{API}/openapi.json", timeout=30)
                return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"server did not start in {timeout}s:\n{self.log}")

    def wait_exit(self, timeout: float = 60) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def kill(self) -> None:
        """kill -9: no clean shutdown at all."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        auth: bool = True,
        raw: bytes | str | None = None,
    ) -> Response:
        h = {"Authorization": f"token {self.token}"} if auth else {}
        h.update(headers or {})
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None and "Content-Type" not in h:
            h["Content-Type"] = "application/json"
        r = requests.request(
            method, self.url + path, data=data, headers=h, timeout=30, allow_redirects=False
        )
        return Response(r.status_code, r.headers, r.text)

    def api(self, method: str, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request(method, f"{API}/{path}", body, **kw)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


AUTH_DISABLED = "All authentication is disabled"


def refused(server: ServerProcess, timeout: float = 90, probe: str = "api/contents") -> str:
    """Start ``server``; it must exit non-zero, without a traceback and without ever
    serving or disabling authentication. Returns its log. When it does start, the
    failure shows what ``GET probe`` (with the token) answered."""
    server.start(wait=False)
    assert server.proc is not None
    deadline = time.monotonic() + timeout
    while server.proc.poll() is None:
        # Judged from its own log: another test's server may hold a recycled port.
        if "is running at" in server.log:
            r = server.request("GET", probe)
            raise AssertionError(f"the server started (GET {probe}: {r.status}):\n{server.log}")
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the server neither exited nor started in {timeout}s:\n{server.log}"
            )
        time.sleep(0.1)
    log = server.log
    assert server.proc.returncode != 0, log
    assert "Traceback" not in log, log
    assert AUTH_DISABLED not in log, log
    return log


TESTS_DIR = Path(__file__).resolve().parent.parent


def pythonpath_env() -> dict[str, str]:
    """Environment for a subprocess server that imports classes from ``support``."""
    return {"PYTHONPATH": str(TESTS_DIR)}


def hub_user_args(name: str) -> list[str]:
    return [
        "--ServerApp.identity_provider_class=support.identities.HubUserIdentityProvider",
        f"--HubUserIdentityProvider.user_name={name}",
    ]
