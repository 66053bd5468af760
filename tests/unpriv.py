"""Unprivileged processes for tests: users made with ``useradd``, and a world-readable
virtualenv built from Debian's ``/usr/bin/python3`` holding this project's wheel.

Root reads every ``/proc/<pid>/environ``, so what an unprivileged process can
reach is tested with processes of users created here. Those users cannot run the
project's ``.venv``: its interpreter lives under ``/root/.pyenv`` (0700). So
``world_venv`` builds one from Debian's python3 (python3-venv) under
``/var/tmp/open-notebook-ext-tests`` (root-owned, 0755: readable, not writable,
by everyone), with the project's wheel, ipykernel and Jupyter Kernel Gateway.
It is cached: the wheel by a hash of the sources, the environment by a hash of
the requirements; a rerun with the same sources reuses both, a source change
reinstalls the wheel only. ``VENV_ROOT`` overrides the location.

The environment also holds ``bin/python-xo``: a root-owned, execute-only (0111)
copy of the interpreter. A process started from a file it cannot read is
non-dumpable from its first instruction (``procsec.py``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from helpers import ServerProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
DEBIAN_PYTHON = Path("/usr/bin/python3")
VENV_ROOT = Path(os.environ.get("ON_TEST_VENV_ROOT", "/var/tmp/open-notebook-ext-tests"))
KERNEL_GATEWAY = "jupyter-kernel-gateway==3.0.1"
EXTRA_REQUIREMENTS = (KERNEL_GATEWAY, "ipykernel>=6.29")


def cannot_use_users() -> str | None:
    """Why processes of other users cannot be started here (None: they can)."""
    if os.geteuid() != 0:
        return "creating users needs root (the tests run as root in CI and sessions)"
    for tool in ("useradd", "userdel", "setpriv"):
        if shutil.which(tool) is None:
            return f"{tool} is missing"
    if not DEBIAN_PYTHON.exists():
        return f"{DEBIAN_PYTHON} is missing (Debian's python3 and python3-venv)"
    return None


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int
    home: Path

    def run_as(self) -> list[str]:
        """A command prefix that runs the rest as this user (exec, no fork: same pid)."""
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups", "--"]

    def owns(self, *paths: Path, mode: int | None = None) -> None:
        for path in paths:
            os.chown(path, self.uid, self.gid)
            if mode is not None:
                path.chmod(mode)


def create_user(prefix: str, base: Path) -> User:
    """A new system user with a 0700 home directory under ``base``."""
    name = f"{prefix}{secrets.token_hex(3)}"[:31]
    home = base / f"home-{name}"
    subprocess.run(
        [
            "useradd",
            "--system",
            "--no-create-home",
            "--home-dir",
            str(home),
            "--shell",
            "/usr/sbin/nologin",
            "--user-group",
            name,
        ],
        check=True,
        capture_output=True,
    )
    entry = pwd.getpwnam(name)
    home.mkdir(mode=0o700)
    user = User(name, entry.pw_uid, entry.pw_gid, home)
    user.owns(home, mode=0o700)
    return user


def remove_user(user: User) -> None:
    subprocess.run(["pkill", "-KILL", "-u", str(user.uid)], capture_output=True)
    subprocess.run(["userdel", user.name], capture_output=True)


@pytest.fixture
def user_factory(shared_tmp: Path) -> Iterator:
    """``make(prefix)`` -> a new user; every user made is removed after the test."""
    reason = cannot_use_users()
    if reason:
        pytest.skip(reason)
    made: list[User] = []

    def make(prefix: str = "ont") -> User:
        made.append(create_user(prefix, shared_tmp))
        return made[-1]

    yield make
    for user in made:
        remove_user(user)


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A directory every user can traverse (pytest's own tmp_path is root's, 0700)."""
    path = Path(tempfile.mkdtemp(prefix="on-iso-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


# -- the world-readable environment ---------------------------------------------------


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:16]


def source_digest() -> str:
    files = [
        ROOT / "pyproject.toml",
        ROOT / "README.md",
        *sorted(
            p
            for p in (ROOT / "open_notebook_ext").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        ),
        *sorted(p for p in (ROOT / "jupyter-config").rglob("*") if p.is_file()),
    ]
    return _digest(*(str(p.relative_to(ROOT)).encode() + b"\0" + p.read_bytes() for p in files))


def requirements_digest() -> str:
    """Debian's Python and the requirements (all of pyproject.toml: it changes rarely)."""
    python = subprocess.run(
        [str(DEBIAN_PYTHON), "-c", "import sys; print(sys.version)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return _digest(
        python.encode(),
        (ROOT / "pyproject.toml").read_bytes(),
        "\n".join(EXTRA_REQUIREMENTS).encode(),
    )


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    VENV_ROOT.mkdir(mode=0o755, parents=True, exist_ok=True)
    VENV_ROOT.chmod(0o755)
    with open(VENV_ROOT / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers build one at a time
        yield


def project_wheel() -> Path:
    """The project's wheel, built once per source state."""
    out = VENV_ROOT / "wheels" / source_digest()
    built = sorted(out.glob("open_notebook_ext-*.whl")) if out.exists() else []
    if built:
        return built[0]
    tmp = Path(tempfile.mkdtemp(prefix="wheel-", dir=VENV_ROOT))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(tmp),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, out)
    return next(out.glob("open_notebook_ext-*.whl"))


def _pip(venv: Path, *args: str) -> None:
    out = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            *args,
        ],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"pip {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")


def build_world_venv() -> Path:
    with _locked():
        wheel = project_wheel()
        venv = VENV_ROOT / f"venv-{requirements_digest()}"
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run(
                [str(DEBIAN_PYTHON), "-m", "venv", str(venv)], check=True, capture_output=True
            )
            _pip(venv, "install", str(wheel), *EXTRA_REQUIREMENTS)
            (venv / ".wheel").write_text(wheel.name + " " + wheel.parent.name)
            (venv / ".complete").touch()
        marker = wheel.name + " " + wheel.parent.name
        if (venv / ".wheel").read_text() != marker:
            _pip(venv, "install", "--no-deps", "--force-reinstall", str(wheel))
            (venv / ".wheel").write_text(marker)
        xo = venv / "bin" / "python-xo"
        if not xo.exists():
            real = Path(os.path.realpath(DEBIAN_PYTHON))
            shutil.copyfile(real, xo)
        os.chown(xo, 0, 0)
        xo.chmod(0o111)
        subprocess.run(["chmod", "-R", "u+rwX,go+rX,go-w", str(venv)], check=True)
        xo.chmod(0o111)
        return venv


@pytest.fixture(scope="session")
def world_venv() -> Path:
    """The world-readable environment (skips where unprivileged users cannot be made)."""
    reason = cannot_use_users()
    if reason:
        pytest.skip(reason)
    return build_world_venv()


class UserServer(ServerProcess):
    """``jupyter server`` from the world-readable environment, run as ``user``."""

    def __init__(self, user: User, venv: Path, home: Path, **kwargs) -> None:
        super().__init__(home, bin_dir=venv / "bin", **kwargs)
        self.user = user
        # PATH: this environment first (kernels find its python), none of root's
        self.env["PATH"] = f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin"
        for d in (home, self.root):
            user.owns(d)

    def command(self) -> list[str]:
        return [*self.user.run_as(), *super().command()]


def pid_of_kernel(kernel_id: str) -> int:
    """The process whose command line names the kernel's connection file (as root)."""
    needle = f"kernel-{kernel_id}.json".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if needle in (entry / "cmdline").read_bytes():
                    return int(entry.name)
    raise LookupError(f"no process for kernel {kernel_id}")


class WsKernel:
    """A kernel started through the server's API and driven over its websocket
    (``api/kernels/<id>/channels``), as JupyterLab does: with a gateway the server
    relays the messages to the gateway's kernel."""

    def __init__(
        self, server: ServerProcess, path: str | None = None, timeout: float = 120
    ) -> None:
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
        self.wait_ready(timeout)

    def _message(self, msg_type: str, content: dict) -> dict:
        import uuid

        return {
            "header": {
                "msg_id": uuid.uuid4().hex,
                "msg_type": msg_type,
                "username": "test",
                "session": uuid.uuid4().hex,
                "date": "",
                "version": "5.3",
            },
            "parent_header": {},
            "metadata": {},
            "content": content,
            "channel": "shell",
        }

    async def _exchange(self, msg_type: str, content: dict, timeout: float) -> list[dict]:
        """Send one shell request; every message it caused, until the kernel is idle."""
        import asyncio
        import json as _json
        import time
        import uuid

        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        url = (
            self.server.url.replace("http://", "ws://", 1)
            + f"api/kernels/{self.id}/channels?session_id={uuid.uuid4().hex}"
        )
        ws = await websocket_connect(
            HTTPRequest(url, headers={"Authorization": f"token {self.server.token}"}),
            max_message_size=64 * 1024 * 1024,
        )
        try:
            msg = self._message(msg_type, content)
            ws.write_message(_json.dumps(msg))
            seen: list[dict] = []
            replied = idle = False
            deadline = time.monotonic() + timeout
            while not (replied and idle):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no answer to {msg_type} in {timeout}s")
                raw = await asyncio.wait_for(ws.read_message(), timeout=left)
                if raw is None:
                    raise ConnectionError("the kernel websocket closed")
                reply = _json.loads(raw)
                if reply.get("parent_header", {}).get("msg_id") != msg["header"]["msg_id"]:
                    continue
                seen.append(reply)
                kind = reply["header"]["msg_type"]
                replied = replied or kind.endswith("_reply")
                idle = idle or (
                    kind == "status" and reply["content"].get("execution_state") == "idle"
                )
            return seen
        finally:
            ws.close()

    def wait_ready(self, timeout: float = 120) -> None:
        import asyncio
        import time

        deadline = time.monotonic() + timeout
        while True:
            try:
                asyncio.run(self._exchange("kernel_info_request", {}, 10))
                return
            except (TimeoutError, ConnectionError, OSError) as e:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"kernel {self.id} not ready: {e}") from None
                time.sleep(0.5)

    def run(self, code: str, timeout: float = 120) -> str:
        """Execute code; return its stdout (raises if the cell raised)."""
        import asyncio

        seen = asyncio.run(
            self._exchange(
                "execute_request",
                {
                    "code": code,
                    "silent": False,
                    "store_history": False,
                    "user_expressions": {},
                    "allow_stdin": False,
                },
                timeout,
            )
        )
        errors = [
            m["content"]["ename"] + ": " + m["content"]["evalue"]
            for m in seen
            if m["header"]["msg_type"] == "error"
        ]
        if errors:
            raise AssertionError("\n".join(errors))
        return "".join(m["content"]["text"] for m in seen if m["header"]["msg_type"] == "stream")

    def restart(self) -> None:
        r = self.server.request("POST", f"api/kernels/{self.id}/restart")
        assert r.status == 200, r.text
        self.wait_ready()

    def shutdown(self) -> None:
        if self.session_id is not None:
            r = self.server.request("DELETE", f"api/sessions/{self.session_id}")
        else:
            r = self.server.request("DELETE", f"api/kernels/{self.id}")
        assert r.status == 204, r.text


def report_attempts(
    report, title: str, attempts: list[dict], secrets: tuple[str, ...] = ()
) -> None:
    """The attempts as a table in the run's summary (conftest's ``report``): each is
    ``failed``, ``read`` (it got data, none of ``secrets`` in it) or ``LEAKED``."""
    report(f"{title}:")
    width = max(len(f"{a['what']} — {a['target']}") for a in attempts)
    for a in attempts:
        text = json.dumps(a)
        verdict = (
            "failed"
            if not a["ok"]
            else "LEAKED"
            if any(s and s in text for s in secrets)
            else "read"
        )
        report(f"  {a['what'] + ' — ' + a['target']:<{width}}  {verdict:<7} {a['outcome']}")


class Gateway:
    """``jupyter kernelgateway`` as ``user``, in ``notebooks``."""

    def __init__(self, user, venv: Path, notebooks: Path, config: Path, log: Path) -> None:
        self.user, self.port, self.log_path = user, free_port(), log
        self.token = secrets.token_hex(32)
        self.token_file = user.home / "gateway_token"
        self.token_file.write_text(self.token + "\n")
        user.owns(self.token_file, mode=0o600)
        env = {
            "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(user.home),
            "PYTHONUNBUFFERED": "1",
            "JUPYTER_CONFIG_DIR": str(user.home / ".jupyter"),
            "JUPYTER_DATA_DIR": str(user.home / "data"),
            "JUPYTER_RUNTIME_DIR": str(user.home / "runtime"),
            "OPEN_NOTEBOOK_GATEWAY_TOKEN_FILE": str(self.token_file),
            "OPEN_NOTEBOOK_KERNEL_PYTHON": str(venv / "bin" / "python-xo"),
        }
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    *user.run_as(),
                    str(venv / "bin" / "jupyter"),
                    "kernelgateway",
                    f"--config={config}",
                    "--KernelGatewayApp.ip=127.0.0.1",
                    f"--KernelGatewayApp.port={self.port}",
                ],
                env=env,
                cwd=notebooks,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the gateway exited with {self.proc.returncode}:\n{self.log}")
            try:
                r = requests.get(
                    self.url + "/api/kernelspecs",
                    timeout=2,
                    headers={"Authorization": f"token {self.token}"},
                )
                if r.status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"the gateway did not start:\n{self.log}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
