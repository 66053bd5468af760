"""Test helpers: a real Jupyter server in a subprocess, and leak searches.

``ServerProcess`` starts ``jupyter server`` from this virtualenv, with the
extension enabled the way a user gets it (the config file the wheel installs),
in a private HOME / Jupyter directory tree, on a free loopback port.
"""

from __future__ import annotations

import http.server
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
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


def random_api_key(prefix: str = "sk-test") -> str:
    """A recognisable random key: easy to search for in logs, responses and files."""
    return f"{prefix}-{secrets.token_hex(16)}"


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
                # Jupyter listens only once every extension has loaded: any answer means ready.
                requests.get(self.url + "api/status", timeout=2)
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


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


def bytes_contain(path: Path, needle: str) -> bool:
    data = path.read_bytes()
    return needle.encode() in data or needle.encode("utf-16-le") in data


from jupyter_server.auth.identity import IdentityProvider, User  # noqa: E402


class TokenUsersIdentityProvider(IdentityProvider):
    """A test identity provider that names users, as JupyterHub's does.

    ``Authorization: token alice-token`` is user ``alice``, ``bob-token`` is ``bob``.
    """

    users = {"alice-token": "alice", "bob-token": "bob"}

    def get_user(self, handler):  # type: ignore[override]
        m = self.auth_header_pat.match(handler.request.headers.get("Authorization", ""))
        if m and m.group(2) in self.users:
            handler._token_authenticated = True
            return User(self.users[m.group(2)])
        return None


from jupyter_server.auth.authorizer import Authorizer  # noqa: E402


class HeaderDenyAuthorizer(Authorizer):
    """A test authorizer that refuses any request carrying ``X-Test-Deny``."""

    def is_authorized(self, handler, user, action, resource):  # type: ignore[override]
        return "X-Test-Deny" not in handler.request.headers


from traitlets import Unicode  # noqa: E402


class DenyOpenNotebookAuthorizer(Authorizer):
    """A test authorizer that refuses resource ``open_notebook`` while ``deny_file``
    exists, allows everything else, and logs who it was asked about."""

    deny_file = Unicode("", config=True, help="While this file exists, open_notebook is denied.")

    def is_authorized(self, handler, user, action, resource):  # type: ignore[override]
        if resource != "open_notebook":
            return True
        denied = bool(self.deny_file) and os.path.exists(self.deny_file)
        self.log.info(
            "authorizer asked: user=%s action=%s resource=%s -> %s",
            user.username,
            action,
            resource,
            "denied" if denied else "allowed",
        )
        return not denied


class HubUserIdentityProvider(IdentityProvider):
    """One named user per server, as a JupyterHub single-user server has.

    The server's own token (or login cookie) authenticates as usual; the user is
    ``user_name`` (``--HubUserIdentityProvider.user_name=alice``). Subprocess servers
    need this directory on PYTHONPATH (see ``pythonpath_env``).
    """

    user_name = Unicode("hub-user", config=True, help="The user this server runs for.")

    async def get_user(self, handler):  # type: ignore[override]
        user = super().get_user(handler)
        if hasattr(user, "__await__"):
            user = await user
        return User(self.user_name) if user is not None else None


def pythonpath_env() -> dict[str, str]:
    """Environment for a subprocess server that imports classes from this directory."""
    return {"PYTHONPATH": str(Path(__file__).resolve().parent)}


def hub_user_args(name: str) -> list[str]:
    return [
        "--ServerApp.identity_provider_class=helpers.HubUserIdentityProvider",
        f"--HubUserIdentityProvider.user_name={name}",
    ]


class FakeProvider:
    """Answers like an AI provider: 200 when the expected header holds the expected key."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.expect: tuple[str, str] | None = None  # (header, value)
        self.status_override: int | None = None
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                status = outer.status_override
                if status is None:
                    header, value = outer.expect or ("", "")
                    status = 200 if not header or self.headers.get(header) == value else 401
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("Location", "http://169.254.169.254/latest/")
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"data": [{"id": "model-a"}]}).encode())

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Kernel:
    """A kernel started through the server, driven with jupyter_client: for a notebook
    session when ``path`` is given (grants apply to it), else a bare kernel."""

    def __init__(self, server: ServerProcess, path: str | None = None) -> None:

        self.server = server
        self.session_id: str | None = None
        if path is None:
            r = server.request("POST", "api/kernels", {"name": "python3"})
            assert r.status == 201, r.text
            self.id = r.json["id"]
        else:
            r = server.request(
                "POST",
                "api/sessions",
                {
                    "path": path,
                    "type": "notebook",
                    "name": Path(path).name,
                    "kernel": {"name": "python3"},
                },
            )
            assert r.status == 201, r.text
            self.session_id = r.json["id"]
            self.id = r.json["kernel"]["id"]
        self._connect()

    @classmethod
    def attach(cls, server: ServerProcess, kernel_id: str, session_id: str | None) -> Kernel:
        """A kernel the test started itself (e.g. a console session)."""
        kernel = cls.__new__(cls)
        kernel.server, kernel.id, kernel.session_id = server, kernel_id, session_id
        kernel._connect()
        return kernel

    def _connect(self) -> None:
        from jupyter_client import BlockingKernelClient

        server = self.server
        conn = Path(server.env["JUPYTER_RUNTIME_DIR"]) / f"kernel-{self.id}.json"
        deadline = time.monotonic() + 30
        while not conn.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.client = BlockingKernelClient(connection_file=str(conn))
        self.client.load_connection_file()
        # jupyter_client calls a kernel dead after 1 s without a heartbeat, which a
        # kernel still importing on a loaded machine can take (set before the
        # heartbeat thread starts: its first wait uses the value it sees then)
        self.client.hb_channel.time_to_dead = 10.0
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 60) -> str:
        """Execute code; return its stdout (raises if the cell raised)."""
        out: list[str] = []
        error: list[str] = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                error.append(msg["content"]["ename"] + ": " + msg["content"]["evalue"])

        self.client.execute_interactive(code, output_hook=hook, timeout=timeout)
        if error:
            raise AssertionError("\n".join(error))
        return "".join(out)

    def shutdown(self) -> None:
        self.client.stop_channels()
        if self.session_id is not None:
            r = self.server.request("DELETE", f"api/sessions/{self.session_id}")
        else:
            r = self.server.request("DELETE", f"api/kernels/{self.id}")
        assert r.status == 204, r.text
