"""The production deployment, live, without a container engine.

Jupyter runs with the production settings (jupyter-config/production; token
and encryption key from files, as compose secrets provide them) as an
unprivileged user, and the repo's nginx configuration is rendered for loopback
ports with a throwaway certificate made by openssl. Everything below goes
through the proxy, as a browser or a client would.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import pwd
import secrets
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from support import unpriv
from support.leaks import random_api_key
from support.nginx import render_main, render_template
from support.servers import BIN, free_port

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = "https://lab.example.org"


@dataclass
class Deployment:
    tmp: Path
    token: str
    key: str
    https: str
    http: str
    https_port: int
    jupyter_port: int
    cert: Path
    jupyter: subprocess.Popen
    nginx: subprocess.Popen
    jupyter_log: Path
    nginx_dir: Path
    jupyter_uid: int | None
    nginx_uid: int | None

    def get(self, path: str, **kw) -> requests.Response:
        kw.setdefault("headers", {}).setdefault("Authorization", f"Bearer {self.token}")
        return requests.get(self.https + path, verify=str(self.cert), timeout=30, **kw)

    def post(self, path: str, body: dict, **kw) -> requests.Response:
        kw.setdefault("headers", {}).setdefault("Authorization", f"Bearer {self.token}")
        return requests.post(self.https + path, json=body, verify=str(self.cert), timeout=30, **kw)

    def logs(self) -> str:
        texts = [self.jupyter_log.read_text(errors="replace")]
        for name in ("access.log", "error.log"):
            f = self.nginx_dir / name
            texts.append(f.read_text(errors="replace") if f.exists() else "")
        return "\n".join(texts)


def _unprivileged(program: Path | str) -> tuple[list[str], int | None]:
    """Run a service as `nobody` when the tests run as root, as the containers do, if
    that user can run the program at all (a Python under /root may be out of reach)."""
    if os.geteuid() != 0:
        return [], None
    prefix = ["runuser", "-u", "nobody", "--"]
    flag = "-v" if Path(program).name == "nginx" else "--version"
    probe = subprocess.run([*prefix, str(program), flag], capture_output=True)
    if probe.returncode != 0:
        return [], None
    return prefix, pwd.getpwnam("nobody").pw_uid


def _wait_http(url: str, timeout: float = 60, **kw) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2, **kw)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise TimeoutError(url)


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    # Not under pytest's tmp_path: its root (/tmp/pytest-of-root) is 0700, and any pytest
    # session started meanwhile sets it back to 0700, so the unprivileged server lost its
    # runtime directory mid-module ("Permission denied: .../runtime/kernel-<id>.json").
    tmp = Path(tempfile.mkdtemp(prefix="on-deploy-", dir="/tmp"))
    tmp.chmod(0o755)
    nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
    # As root, Jupyter runs as nobody, as in the container, from the world-readable
    # environment (the project's .venv lives under /root, out of nobody's reach).
    jupyter_bin = unpriv.build_world_venv() / "bin" if unpriv.cannot_use_users() is None else BIN
    prefix, uid = _unprivileged(jupyter_bin / "python")
    config = tmp / "jupyter_server_config.py"  # a clone may sit where nobody cannot read
    shutil.copyfile(ROOT / "jupyter-config/production/jupyter_server_config.py", config)
    config.chmod(0o644)
    nginx_prefix, nginx_uid = _unprivileged(nginx_bin)
    secrets_dir = tmp / "secrets"
    secrets_dir.mkdir()
    token, key = secrets.token_hex(32), "production passphrase " + secrets.token_hex(8)
    (secrets_dir / "jupyter_token").write_text(token + "\n")
    (secrets_dir / "encryption_key").write_text(key + "\n")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(secrets_dir / "tls.key"),
            "-out",
            str(secrets_dir / "tls.crt"),
        ],
        check=True,
        capture_output=True,
    )
    data = tmp / "data"
    for d in ("home", "notebooks", "jupyter", "runtime"):
        (data / d).mkdir(parents=True)
    if uid is not None:
        subprocess.run(["chown", "-R", f"{uid}", str(data), str(secrets_dir)], check=True)
    for f in secrets_dir.iterdir():
        f.chmod(0o400 if uid is not None or nginx_uid is None else 0o444)

    jupyter_port, http_port, https_port = free_port(), free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPEN_NOTEBOOK_", "JUPYTER_", "CORS_"))
    }
    env.update(
        HOME=str(data / "home"),
        JUPYTER_CONFIG_DIR=str(tmp / "no-user-config"),
        JUPYTER_DATA_DIR=str(data / "jupyter"),
        JUPYTER_RUNTIME_DIR=str(data / "runtime"),
        NOTEBOOK_DIR=str(data / "notebooks"),
        OPEN_NOTEBOOK_DATA_DIR=str(data / "open_notebook"),
        JUPYTER_TOKEN_FILE=str(secrets_dir / "jupyter_token"),
        OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE=str(secrets_dir / "encryption_key"),
        OPEN_NOTEBOOK_CORS_ORIGINS=ALLOWED,
        # nginx runs on loopback here (in compose: its fixed backend address)
        OPEN_NOTEBOOK_TRUSTED_PROXIES="127.0.0.1",
        JUPYTER_IP="127.0.0.1",
        JUPYTER_PORT=str(jupyter_port),
        PYTHONUNBUFFERED="1",
    )
    jupyter_log = tmp / "jupyter.log"
    with open(jupyter_log, "wb") as log:
        jupyter = subprocess.Popen(
            [
                *prefix,
                str(jupyter_bin / "jupyter"),
                "server",
                f"--config={config}",
                *(["--allow-root"] if os.geteuid() == 0 and uid is None else []),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=tmp,
        )

    nginx_dir = tmp / "nginx"
    (nginx_dir / "conf.d").mkdir(parents=True)
    (nginx_dir / "conf.d" / "open-notebook.conf").write_text(
        render_template(
            {
                "NGINX_SERVER_NAME": "_",
                "NGINX_HTTP_PORT": f"127.0.0.1:{http_port}",
                "NGINX_HTTPS_PORT": f"127.0.0.1:{https_port}",
                "JUPYTER_UPSTREAM": f"127.0.0.1:{jupyter_port}",
                "NGINX_TLS_CERT": str(secrets_dir / "tls.crt"),
                "NGINX_TLS_KEY": str(secrets_dir / "tls.key"),
                "NGINX_MAX_BODY": "101m",
            }
        )
    )
    (nginx_dir / "nginx.conf").write_text(render_main(nginx_dir))
    if nginx_uid is not None:
        subprocess.run(["chown", "-R", f"{nginx_uid}", str(nginx_dir)], check=True)
    nginx = subprocess.Popen(
        [
            *nginx_prefix,
            nginx_bin,
            "-e",
            str(nginx_dir / "error.log"),
            "-p",
            str(nginx_dir),
            "-c",
            str(nginx_dir / "nginx.conf"),
            "-g",
            "daemon off;",
        ],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    dep = Deployment(
        tmp,
        token,
        key,
        f"https://127.0.0.1:{https_port}",
        f"http://127.0.0.1:{http_port}",
        https_port,
        jupyter_port,
        secrets_dir / "tls.crt",
        jupyter,
        nginx,
        jupyter_log,
        nginx_dir,
        uid,
        nginx_uid,
    )
    try:
        _wait_http(f"http://127.0.0.1:{jupyter_port}/api")
        _wait_http(dep.https + "/api", verify=str(dep.cert))
        yield dep
    finally:
        for proc in (nginx, jupyter):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)


def test_https_rest_through_the_proxy(deployment):
    r = deployment.get("/open-notebook/api/credentials/status")
    assert r.status_code == 200, r.text
    assert r.json()["key_source"] == "file" and r.json()["key_check"] == "ok"
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    assert r.headers["Server"] == "nginx"  # server_tokens off: no version
    key = random_api_key()
    created = deployment.post(
        "/open-notebook/api/credentials", {"name": "prod", "provider": "openai", "api_key": key}
    )
    assert created.status_code == 201 and key not in created.text
    assert deployment.get("/open-notebook/api/credentials").json()[0]["name"] == "prod"


def test_plain_http_redirects_to_https(deployment):
    r = requests.get(deployment.http + "/lab?x=1", allow_redirects=False, timeout=10)
    assert r.status_code == 301
    assert r.headers["Location"].startswith("https://127.0.0.1") and r.headers["Location"].endswith(
        "/lab?x=1"
    )


def test_only_tls_1_2_and_up(deployment):
    for version, ok in (
        (ssl.TLSVersion.TLSv1_2, True),
        (ssl.TLSVersion.TLSv1_3, True),
        (ssl.TLSVersion.TLSv1_1, False),
    ):
        ctx = ssl.create_default_context(cafile=str(deployment.cert))
        try:
            ctx.minimum_version = ctx.maximum_version = version
        except ValueError:
            assert not ok
            continue
        conn = http.client.HTTPSConnection(
            "127.0.0.1", deployment.https_port, context=ctx, timeout=10
        )
        try:
            conn.request("GET", "/api")
            assert conn.getresponse().status == 200
            assert ok, f"{version} accepted"
        except (ssl.SSLError, OSError):
            assert not ok, f"{version} refused"
        finally:
            conn.close()


def test_origins_through_the_proxy(deployment):
    body = {"name": "x", "provider": "openai", "api_key": random_api_key()}
    refused = deployment.post(
        "/open-notebook/api/credentials",
        body,
        headers={"Authorization": f"Bearer {deployment.token}", "Origin": "https://evil.example"},
    )
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Origin not allowed"}
    assert not [h for h in refused.headers if h.lower().startswith("access-control")]
    allowed = deployment.get(
        "/open-notebook/api/credentials/credential:nope",
        headers={"Authorization": f"Bearer {deployment.token}", "Origin": ALLOWED},
    )
    assert allowed.status_code == 404
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED
    # a page served by the proxy itself is same-origin (X-Forwarded-Proto/Host trusted)
    same = deployment.post(
        "/open-notebook/api/credentials",
        {**body, "name": "same"},
        headers={"Authorization": f"Bearer {deployment.token}", "Origin": deployment.https},
    )
    assert same.status_code == 201, same.text


def _from(
    address: str, deployment: Deployment, token: str, extra: dict[str, str] | None = None
) -> int:
    ctx = ssl.create_default_context(cafile=str(deployment.cert))
    conn = http.client.HTTPSConnection(
        "127.0.0.1", deployment.https_port, context=ctx, source_address=(address, 0), timeout=10
    )
    conn.request(
        "GET",
        "/open-notebook/api/credentials",
        headers={"Authorization": f"Bearer {token}", **(extra or {})},
    )
    status = conn.getresponse().status
    conn.close()
    return status


def test_rate_limit_sees_each_client_through_the_proxy(deployment):
    for _ in range(10):
        assert _from("127.0.0.2", deployment, "guess-" + secrets.token_hex(4)) == 401
    assert _from("127.0.0.2", deployment, "guess-" + secrets.token_hex(4)) == 429
    # a spoofed X-Forwarded-For does not get the blocked client out (nginx appends the
    # real address, and that is the one trusted)
    assert _from("127.0.0.2", deployment, "guess-x", {"X-Forwarded-For": "203.0.113.9"}) == 429
    assert _from("127.0.0.3", deployment, "guess-y") == 401  # another client: not blocked
    # the valid token is never refused (issue 15, finding 6): only guesses are
    assert _from("127.0.0.2", deployment, deployment.token) == 200


def test_a_direct_peer_cannot_forge_forwarded_headers(deployment):
    """Issue 15, finding 7: a kernel or any local process reaches Jupyter directly, not
    through nginx. Its X-Forwarded-For / X-Real-Ip are not believed (only 127.0.0.1,
    nginx here, is a trusted proxy): a fresh forged address per guess used to mean a
    fresh allowance of guesses, and false addresses in the audit trail."""

    def guess(i: int) -> int:
        conn = http.client.HTTPConnection(
            "127.0.0.1", deployment.jupyter_port, source_address=("127.0.0.4", 0), timeout=10
        )
        conn.request(
            "GET",
            "/open-notebook/api/credentials",
            headers={
                "Authorization": f"Bearer guess-{i}",
                "X-Forwarded-For": f"203.0.113.{i}",
                "X-Real-Ip": f"198.51.100.{i}",
            },
        )
        status = conn.getresponse().status
        conn.close()
        return status

    assert [guess(i) for i in range(10)] == [401] * 10
    assert guess(10) == 429  # all ten counted for 127.0.0.4
    audit = (deployment.tmp / "data" / "open_notebook" / "audit.jsonl").read_text()
    assert '"client": "127.0.0.4"' in audit
    assert "203.0.113." not in audit and "198.51.100." not in audit


def _burst(
    deployment: Deployment,
    address: str,
    path: str,
    count: int,
    headers: dict[str, str] | None = None,
) -> list[tuple]:
    """``count`` GETs of ``path`` on one keep-alive connection from ``address``."""
    ctx = ssl.create_default_context(cafile=str(deployment.cert))
    conn = http.client.HTTPSConnection(
        "127.0.0.1", deployment.https_port, context=ctx, source_address=(address, 0), timeout=10
    )
    out = []
    for _ in range(count):
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        out.append((r.status, r.getheader("Content-Type"), r.read()))
    conn.close()
    return out


def test_nginx_limits_the_login_form_and_token_routes(deployment):
    """Issue 15, finding 15: open_notebook_ext counts wrong tokens on its own routes only;
    Jupyter's login form and API were unlimited. nginx's limit_req now covers them: the
    login form 10 a minute (burst 10), every other token-taking route 20 a second (burst
    100); beyond that nginx answers 429 itself, in JSON."""
    login = _burst(deployment, "127.0.0.5", "/login", 25)
    statuses = [status for status, _, _ in login]
    assert statuses[:11].count(200) == 11, statuses  # the burst (and the first) get through
    assert statuses.count(429) >= 10, statuses
    refused = next(x for x in login if x[0] == 429)
    assert refused[1] == "application/json"
    assert json.loads(refused[2]) == {"detail": "Too many requests"}

    token = {"Authorization": f"Bearer {deployment.token}"}
    api = [status for status, _, _ in _burst(deployment, "127.0.0.6", "/api/status", 300, token)]
    assert api[:100] == [200] * 100, api[:100]
    assert api.count(429) >= 50, api.count(429)
    # another address is not affected, and static assets are not limited at all
    assert _burst(deployment, "127.0.0.7", "/api/status", 1, token)[0][0] == 200
    assets = _burst(deployment, "127.0.0.6", "/static/favicons/favicon.ico", 150)
    assert {status for status, _, _ in assets} == {200}


def test_another_sites_page_cannot_use_up_the_users_rate(deployment):
    """A page in another tab can fire <img> requests at the lab from the user's own
    address; they count against their own budget (Sec-Fetch-Site: cross-site), so the
    user's requests still go through. Forging the header buys no extra rate."""
    cross_site = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}
    page = [
        s for s, _, _ in _burst(deployment, "127.0.0.8", "/api/status?token=x", 300, cross_site)
    ]
    assert page.count(429) >= 50, page.count(429)  # limited like anyone else
    token = {"Authorization": f"Bearer {deployment.token}", "Sec-Fetch-Site": "same-origin"}
    assert [s for s, _, _ in _burst(deployment, "127.0.0.8", "/api/status", 20, token)] == [
        200
    ] * 20
    login = [s for s, _, _ in _burst(deployment, "127.0.0.8", "/login", 25, cross_site)]
    assert login.count(429) >= 10
    assert _burst(deployment, "127.0.0.8", "/login", 1)[0][0] == 200


def test_kernel_websocket_through_the_proxy(deployment):
    r = deployment.post(
        "/api/sessions",
        {"path": "ws.ipynb", "type": "notebook", "name": "ws.ipynb", "kernel": {"name": "python3"}},
    )
    assert r.status_code == 201, r.text
    kernel_id = r.json()["kernel"]["id"]

    async def talk() -> dict:
        ctx = ssl.create_default_context(cafile=str(deployment.cert))
        url = (
            f"wss://127.0.0.1:{deployment.https_port}/api/kernels/{kernel_id}/channels"
            f"?session_id={uuid.uuid4().hex}"
        )
        ws = await websocket_connect(
            HTTPRequest(
                url, ssl_options=ctx, headers={"Authorization": f"Bearer {deployment.token}"}
            )
        )
        msg_id = uuid.uuid4().hex
        ws.write_message(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "kernel_info_request",
                        "username": "t",
                        "session": uuid.uuid4().hex,
                        "date": "",
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {},
                    "channel": "shell",
                }
            )
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            raw = await asyncio.wait_for(ws.read_message(), timeout=60)
            msg = json.loads(raw)
            if (
                msg.get("parent_header", {}).get("msg_id") == msg_id
                and msg["header"]["msg_type"] == "kernel_info_reply"
            ):
                ws.close()
                return msg
        raise TimeoutError("no kernel_info_reply")

    reply = asyncio.run(talk())
    assert reply["content"]["status"] == "ok"
    assert reply["content"]["language_info"]["name"] == "python"
    deployment.get(f"/api/sessions/{r.json()['id']}")  # still there
    requests.delete(
        deployment.https + f"/api/sessions/{r.json()['id']}",
        headers={"Authorization": f"Bearer {deployment.token}"},
        verify=str(deployment.cert),
        timeout=30,
    )


def test_production_settings_are_in_force(deployment):
    assert deployment.get("/api/terminals").status_code == 404  # terminals off
    data = deployment.tmp / "data" / "open_notebook"
    assert not (data / "encryption.key").exists()  # generate_key off: the key is a secret
    assert oct((data / "open_notebook.db").stat().st_mode & 0o777) == "0o600"
    # cookies only over HTTPS
    r = deployment.get("/open-notebook/api/credentials")
    cookie = r.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie


def _uids(pid: int) -> set[str]:
    """Real uids of a process and its children (runuser's child is the service)."""
    pids = [
        str(pid),
        *subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split(),
    ]
    out = set()
    for p in pids:
        status = Path(f"/proc/{p}/status")
        if status.exists():
            out.add(status.read_text().split("Uid:")[1].split()[0])
    return out


def test_services_run_unprivileged(deployment):
    if os.geteuid() != 0:
        assert _uids(deployment.nginx.pid) == {str(os.geteuid())}
        return
    nobody = str(pwd.getpwnam("nobody").pw_uid)
    assert deployment.nginx_uid is not None
    assert nobody in _uids(deployment.nginx.pid)
    assert "0" not in _uids(deployment.nginx.pid) - {
        _uids(deployment.nginx.pid).pop()
    } or nobody in _uids(deployment.nginx.pid)
    reason = unpriv.cannot_use_users()
    if reason:
        pytest.skip(f"no world-readable environment for nobody here: {reason}")
    assert deployment.jupyter_uid is not None
    assert nobody in _uids(deployment.jupyter.pid)


def test_no_secret_in_any_log(deployment):
    # A login link with ?token= is the classic way a token ends up in access logs.
    requests.get(
        deployment.https + f"/api/status?token={deployment.token}",
        verify=str(deployment.cert),
        timeout=10,
    )
    requests.get(
        deployment.https + f"/lab?token={deployment.token}",
        verify=str(deployment.cert),
        timeout=10,
        allow_redirects=False,
    )
    time.sleep(0.5)  # nginx writes its access log after the response
    logs = deployment.logs()
    assert "GET /api/status" in logs  # the access log is there...
    assert deployment.token not in logs  # ...without the token
    assert deployment.key not in logs
