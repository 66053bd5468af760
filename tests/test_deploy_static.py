"""The deployment files, checked statically (no container engine here).

* ``docker-compose config`` (Debian's docker-compose) validates the compose
  files; every hardening item is then asserted service by service, and each
  hardening line deleted from the file must make the check fail.
* ``hadolint`` lints the Dockerfile; the non-root user, the health check and
  the absence of secrets are asserted too.
* ``nginx -t`` accepts the proxy configuration rendered from the repo's template.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from nginx_render import render_main, render_template

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
POSTGRES_OVERRIDE = ROOT / "deploy" / "compose.postgres.yml"
SERVICES = ("jupyter", "kernels", "proxy", "db")
SECRET_WORDS = re.compile(r"TOKEN|KEY|PASSWORD|SECRET|DB_URL", re.IGNORECASE)


def compose_config(workdir: Path, *files: Path, profile: str | None = "postgres") -> dict:
    docker_compose = shutil.which("docker-compose")
    if docker_compose is None:
        pytest.fail("docker-compose is missing: `make test` installs Debian's docker-compose")
    args = [docker_compose]
    for f in files:
        args += ["-f", str(f)]
    if profile:
        args += ["--profile", profile]
    out = subprocess.run([*args, "config"], cwd=workdir, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise ValueError(out.stderr)
    return yaml.safe_load(out.stdout)


def check_compose(config: dict) -> list[str]:
    """Every hardening item, per service; returns what is missing."""
    problems: list[str] = []
    services = config.get("services", {})
    for name in SERVICES:
        s = services.get(name)
        if s is None:
            problems.append(f"{name}: missing service")
            continue

        def need(ok: bool, what: str, name: str = name) -> None:
            if not ok:
                problems.append(f"{name}: {what}")

        need(s.get("read_only") is True, "read_only: true")
        tmpfs = s.get("tmpfs") or []
        tmpfs = [tmpfs] if isinstance(tmpfs, str) else tmpfs
        need(any(t.split(":")[0] == "/tmp" for t in tmpfs), "tmpfs for /tmp")
        need(s.get("cap_drop") == ["ALL"], "cap_drop: [ALL]")
        need(not s.get("cap_add"), "no cap_add")
        need(
            "no-new-privileges:true" in (s.get("security_opt") or []),
            "security_opt no-new-privileges:true",
        )
        user = str(s.get("user", ""))
        need(bool(user) and user.split(":")[0] not in ("0", "root"), "user: a non-root user")
        need(isinstance(s.get("pids_limit"), int) and s["pids_limit"] > 0, "pids_limit")
        need(bool(s.get("mem_limit")), "mem_limit")
        need(bool(s.get("cpus")), "cpus")
        check = (s.get("healthcheck") or {}).get("test")
        need(bool(check) and not (s.get("healthcheck") or {}).get("disable"), "healthcheck")
        logging = s.get("logging") or {}
        options = logging.get("options") or {}
        need(
            logging.get("driver") == "json-file"
            and "max-size" in options
            and "max-file" in options,
            "logging with size rotation",
        )
        need(s.get("restart") == "unless-stopped", "restart: unless-stopped")
        env = s.get("environment") or {}
        for var, value in env.items():
            if (
                SECRET_WORDS.search(var)
                and not var.endswith("_FILE")
                and value
                and not str(value).startswith("/run/secrets/")
            ):
                problems.append(f"{name}: secret {var} given as plain environment")
        for var, value in env.items():
            if var.endswith("_FILE") and SECRET_WORDS.search(var) and name != "kernels":
                need(str(value).startswith("/run/secrets/"), f"{var} read from /run/secrets")
        need(
            not any(
                SECRET_WORDS.search(str(part)) and "=" in str(part)
                for part in (s.get("command") or [])
            ),
            "no secret on the command line",
        )

    ports = {n: s.get("ports") or [] for n, s in services.items()}
    for name, published in ports.items():
        if name != "proxy" and published:
            problems.append(f"{name}: publishes ports (only the proxy may)")
    proxy_ports = ports.get("proxy") or []
    if not proxy_ports:
        problems.append("proxy: publishes no port")
    for p in proxy_ports:
        host_ip = p.get("host_ip") if isinstance(p, dict) else str(p).split(":")[0]
        if host_ip != "127.0.0.1":
            problems.append(f"proxy: port {p} not bound to 127.0.0.1")
    targets = {
        int(p["target"]) if isinstance(p, dict) else int(str(p).split(":")[-1].split("/")[0])
        for p in proxy_ports
    }
    if targets != {8080, 8443}:
        problems.append("proxy: must publish HTTP (8080, redirects) and HTTPS (8443)")
    networks = config.get("networks", {})
    if not (networks.get("backend") or {}).get("internal"):
        problems.append("networks: backend is not internal: true")
    for name, wanted_nets in (
        ("jupyter", {"backend", "kernels"}),
        ("db", {"backend"}),
        ("kernels", {"kernels"}),
    ):
        nets = set((services.get(name) or {}).get("networks") or {})
        if nets != wanted_nets:
            problems.append(f"{name}: must sit on the internal networks {sorted(wanted_nets)} only")
    jupyter = services.get("jupyter") or {}
    wanted = {"jupyter_token", "encryption_key"}
    got = {x["source"] if isinstance(x, dict) else x for x in jupyter.get("secrets") or []}
    if not wanted <= got:
        problems.append("jupyter: token and encryption key must come from secrets")
    env = jupyter.get("environment") or {}
    if env.get("JUPYTER_TOKEN_FILE") != "/run/secrets/jupyter_token":
        problems.append("jupyter: JUPYTER_TOKEN_FILE")
    if env.get("OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE") != "/run/secrets/encryption_key":
        problems.append("jupyter: OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE")
    if "postgres" not in ((services.get("db") or {}).get("profiles") or []):
        problems.append("db: must be under the postgres profile")
    problems += check_trusted_proxy(config)
    problems += check_kernels(config)
    return problems


def _volumes(service: dict) -> set[str]:
    """``source:target`` of each volume (docker-compose config adds ``:rw``)."""
    out = set()
    for v in service.get("volumes") or []:
        if isinstance(v, dict):
            out.add(f"{v.get('source')}:{v.get('target')}")
        else:
            out.add(":".join(str(v).split(":")[:2]))
    return out


def check_kernels(config: dict) -> list[str]:
    """Issue 17: kernels in a service of their own (Jupyter Kernel Gateway) that shares
    the notebooks with Jupyter and nothing else."""
    problems: list[str] = []
    services = config.get("services", {})
    jupyter, kernels = services.get("jupyter") or {}, services.get("kernels") or {}
    init = services.get("kernels-token") or {}

    def need(ok: bool, what: str) -> None:
        if not ok:
            problems.append(what)

    uid = {n: str(s.get("user", "")).split(":")[0] for n, s in services.items()}
    need(
        bool(uid.get("kernels")) and uid.get("kernels") != uid.get("jupyter"),
        "kernels: a user other than Jupyter's",
    )
    need(
        not (((config.get("networks") or {}).get("kernels") or {}).get("internal") is not True),
        "networks: kernels is not internal: true",
    )
    env = jupyter.get("environment") or {}
    need(
        env.get("JUPYTER_GATEWAY_URL") == "http://kernels:8888",
        "jupyter: JUPYTER_GATEWAY_URL (kernels on the gateway)",
    )
    need(
        env.get("OPEN_NOTEBOOK_GATEWAY_TOKEN_FILE") == "/run/secrets/gateway_token",
        "jupyter: OPEN_NOTEBOOK_GATEWAY_TOKEN_FILE",
    )
    need(
        env.get("OPEN_NOTEBOOK_KERNEL_URL") == "http://jupyter:8888/",
        "jupyter: OPEN_NOTEBOOK_KERNEL_URL (how kernels reach Jupyter)",
    )
    need(
        "gateway_token"
        in {x["source"] if isinstance(x, dict) else x for x in jupyter.get("secrets") or []},
        "jupyter: the gateway token from a secret",
    )
    need("kernels" in (jupyter.get("depends_on") or {}), "jupyter: depends_on kernels")
    # the notebooks are the one volume both mount; /data only in Jupyter
    need(
        {"jupyter-data:/data", "notebooks:/data/notebooks"} <= _volumes(jupyter),
        "jupyter: /data and the notebooks volume",
    )
    need(
        _volumes(kernels) == {"notebooks:/data/notebooks", "gateway-token:/handoff"},
        "kernels: exactly the notebooks volume and the token hand-off",
    )
    for name, service in services.items():
        if name != "jupyter" and any(v.startswith("jupyter-data:") for v in _volumes(service)):
            problems.append(f"{name}: mounts Jupyter's /data")
    need(not kernels.get("secrets"), "kernels: no secrets (the token comes by hand-off)")
    need(not kernels.get("ports"), "kernels: publishes no port")
    kenv = kernels.get("environment") or {}
    need(
        kenv.get("OPEN_NOTEBOOK_GATEWAY_TOKEN_FILE") == "/handoff/gateway_token",
        "kernels: OPEN_NOTEBOOK_GATEWAY_TOKEN_FILE in the hand-off volume",
    )
    need(
        kenv.get("OPEN_NOTEBOOK_KERNEL_PYTHON") == "/usr/local/bin/python3-kernel",
        "kernels: OPEN_NOTEBOOK_KERNEL_PYTHON (the execute-only interpreter)",
    )
    need(
        kernels.get("entrypoint") == ["jupyter", "kernelgateway"],
        "kernels: runs jupyter kernelgateway",
    )
    need(
        "--config=/etc/jupyter/jupyter_kernel_gateway_config.py" in (kernels.get("command") or []),
        "kernels: the gateway configuration",
    )
    need(
        ((kernels.get("depends_on") or {}).get("kernels-token") or {}).get("condition")
        == "service_completed_successfully",
        "kernels: after kernels-token",
    )
    # the one-shot that copies the token where the gateway may delete it
    need(bool(init), "kernels-token: missing service")
    need(uid.get("kernels-token") == uid.get("kernels"), "kernels-token: the kernels' user")
    need(init.get("read_only") is True, "kernels-token: read_only: true")
    need(
        init.get("cap_drop") == ["ALL"] and not init.get("cap_add"),
        "kernels-token: cap_drop: [ALL]",
    )
    need(
        "no-new-privileges:true" in (init.get("security_opt") or []),
        "kernels-token: no-new-privileges",
    )
    need(init.get("network_mode") == "none", "kernels-token: network_mode: none")
    need(
        init.get("entrypoint")
        == [
            "python",
            "-m",
            "open_notebook_ext.kernels_gateway",
            "copy-token",
            "/run/secrets/gateway_token_kernels",
            "/handoff/gateway_token",
        ],
        "kernels-token: copies the token to the hand-off volume",
    )
    need(
        bool(init.get("pids_limit")) and bool(init.get("mem_limit")) and bool(init.get("cpus")),
        "kernels-token: limits",
    )
    need(
        {x["source"] if isinstance(x, dict) else x for x in init.get("secrets") or []}
        == {"gateway_token_kernels"},
        "kernels-token: the gateway token secret only",
    )
    need(_volumes(init) == {"gateway-token:/handoff"}, "kernels-token: the hand-off volume only")
    need(init.get("restart") == "no", 'kernels-token: restart: "no" (one-shot)')
    logging = init.get("logging") or {}
    need(
        logging.get("driver") == "json-file" and "max-size" in (logging.get("options") or {}),
        "kernels-token: logging with size rotation",
    )
    # the other services' secrets, by name (each line of them is a hardening line)
    for name, wanted in (("proxy", {"tls_cert", "tls_key"}), ("db", {"db_password"})):
        got = {
            x["source"] if isinstance(x, dict) else x
            for x in (services.get(name) or {}).get("secrets") or []
        }
        need(wanted <= got, f"{name}: its secrets")
    return problems


def check_trusted_proxy(config: dict) -> list[str]:
    """Jupyter believes X-Forwarded-* from the proxy's own backend address, and only that
    (not the subnet: the database and Jupyter's own kernels sit there too)."""
    import ipaddress

    services = config.get("services", {})
    proxy_nets = (services.get("proxy") or {}).get("networks") or {}
    address = ((proxy_nets.get("backend") if isinstance(proxy_nets, dict) else None) or {}).get(
        "ipv4_address"
    )
    env = (services.get("jupyter") or {}).get("environment") or {}
    trusted = str(env.get("OPEN_NOTEBOOK_TRUSTED_PROXIES", ""))
    if not address:
        return ["proxy: needs a fixed ipv4_address on the backend network"]
    problems = []
    if trusted != address:
        problems.append(
            f"jupyter: OPEN_NOTEBOOK_TRUSTED_PROXIES must be the proxy's "
            f"address {address} exactly, not {trusted!r}"
        )
    subnets = [
        c.get("subnet")
        for c in (((config.get("networks") or {}).get("backend") or {}).get("ipam") or {}).get(
            "config"
        )
        or []
    ]
    if not any(s and ipaddress.ip_address(address) in ipaddress.ip_network(s) for s in subnets):
        problems.append("networks: backend subnet must hold the proxy's address")
    return problems


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the compose files with placeholder secret files (validation only)."""
    d = tmp_path_factory.mktemp("compose")
    shutil.copy(COMPOSE, d / "docker-compose.yml")
    shutil.copytree(ROOT / "deploy", d / "deploy")
    return d


def test_compose_file_is_valid_and_hardened(workdir):
    config = compose_config(workdir, workdir / "docker-compose.yml")
    assert check_compose(config) == []


def test_postgres_override_is_valid_and_keeps_the_db_url_secret(workdir):
    config = compose_config(
        workdir, workdir / "docker-compose.yml", workdir / "deploy" / "compose.postgres.yml"
    )
    assert check_compose(config) == []
    jupyter = config["services"]["jupyter"]
    assert jupyter["environment"]["OPEN_NOTEBOOK_DB_URL_FILE"] == "/run/secrets/db_url"
    assert "db" in jupyter["depends_on"]


HARDENING = re.compile(
    r"^\s*(read_only|cap_drop|security_opt|pids_limit|mem_limit|cpus|restart|user|internal"
    r"|options: \{max-size|driver: json-file|- /tmp|test:|JUPYTER_TOKEN_FILE"
    r"|OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE|profiles|- \"127\.0\.0\.1|networks: \[backend"
    r"|OPEN_NOTEBOOK_TRUSTED_PROXIES|ipv4_address|- subnet"
    # issue 17: the kernels' service
    r"|JUPYTER_GATEWAY_URL|OPEN_NOTEBOOK_GATEWAY_TOKEN_FILE|OPEN_NOTEBOOK_KERNEL_URL"
    r"|OPEN_NOTEBOOK_KERNEL_PYTHON|networks: \[kernels\]|network_mode|entrypoint"
    r"|command|- notebooks:|- gateway-token:|- jupyter-data:|condition: service_completed"
    r"|secrets: \[)"
)


def hardening_lines() -> list[int]:
    return [i for i, line in enumerate(COMPOSE.read_text().splitlines()) if HARDENING.match(line)]


def test_there_are_hardening_lines_to_delete():
    assert len(hardening_lines()) >= 80


@pytest.mark.parametrize("index", hardening_lines())
def test_deleting_any_hardening_line_fails_the_check(workdir, tmp_path, index):
    lines = COMPOSE.read_text().splitlines()
    removed = lines.pop(index)
    (tmp_path / "docker-compose.yml").write_text("\n".join(lines) + "\n")
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    try:
        config = compose_config(tmp_path, tmp_path / "docker-compose.yml")
    except ValueError:
        return  # the file no longer validates at all: also a failure, as wanted
    assert check_compose(config), f"deleting {removed.strip()!r} went unnoticed"


def dockerfile_stages(text: str) -> list[list[str]]:
    stages: list[list[str]] = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_dockerfile_lints_clean():
    hadolint = Path(sys.executable).parent / "hadolint"
    out = subprocess.run(
        [str(hadolint), "--failure-threshold", "style", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_dockerfile_hardening():
    text = (ROOT / "Dockerfile").read_text()
    stages = dockerfile_stages(text)
    assert len(stages) >= 2
    assert stages[0][0].startswith("FROM node:20") and "AS panel" in stages[0][0]
    final = stages[-1]
    assert final[0].startswith("FROM python:3.11-slim")
    users = [ln for ln in final if ln.upper().startswith("USER ")]
    assert users and users[-1] == "USER 10001:10001"
    assert any(ln.upper().startswith("HEALTHCHECK ") for ln in final)
    assert any("PYTHONDONTWRITEBYTECODE=1" in ln for ln in final)
    assert not re.search(
        r"\b(curl|wget|git|gcc|build-essential)\b",
        " ".join(ln for ln in final if ln.upper().startswith("RUN ")),
    )
    for ln in text.splitlines():
        if re.match(r"^\s*(ENV|ARG)\b", ln) or re.match(r"^\s+\w+=", ln):
            for name, value in re.findall(r"(\w+)=(\S+)", ln):
                if SECRET_WORDS.search(name):
                    pytest.fail(f"secret-looking build setting {name}={value}")
    assert 'VOLUME ["/data"]' in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    for pattern in (".venv", "secrets", "*.db", "*.key", ".git"):
        assert pattern in ignored


def test_nginx_accepts_the_rendered_config(tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is missing: `make test` installs Debian's nginx-light")
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
            "-keyout",
            str(tmp_path / "tls.key"),
            "-out",
            str(tmp_path / "tls.crt"),
        ],
        check=True,
        capture_output=True,
    )
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "open-notebook.conf").write_text(
        render_template(
            {
                "NGINX_SERVER_NAME": "_",
                "NGINX_HTTP_PORT": "127.0.0.1:18080",
                "NGINX_HTTPS_PORT": "127.0.0.1:18443",
                "JUPYTER_UPSTREAM": "127.0.0.1:18888",
                "NGINX_TLS_CERT": str(tmp_path / "tls.crt"),
                "NGINX_TLS_KEY": str(tmp_path / "tls.key"),
                "NGINX_MAX_BODY": "101m",
            }
        )
    )
    (tmp_path / "nginx.conf").write_text(render_main(tmp_path))
    out = subprocess.run(
        [
            nginx,
            "-T",
            "-e",
            str(tmp_path / "error.log"),
            "-p",
            str(tmp_path),
            "-c",
            str(tmp_path / "nginx.conf"),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    # -T prints every file it loaded: the rendered server blocks must be among them
    assert f"# configuration file {tmp_path / 'conf.d' / 'open-notebook.conf'}" in out.stdout
    assert "listen 127.0.0.1:18443 ssl http2;" in out.stdout
    rendered = (tmp_path / "conf.d" / "open-notebook.conf").read_text()
    for item in (
        "ssl_protocols TLSv1.2 TLSv1.3;",
        "server_tokens off;",
        "Strict-Transport",
        "proxy_set_header Upgrade",
        "X-Forwarded-For",
        "X-Forwarded-Proto",
        "X-Forwarded-Host",
        "client_max_body_size 101m;",
        "return 301 https://",
        "limit_req zone=login",
        "limit_req zone=token",
        "location = /login",
    ):
        assert item in rendered
    assert "limit_req_zone $own_site_client zone=login:" in out.stdout
    assert "limit_req_zone $other_site_client zone=token_other_site:" in out.stdout
    assert "$request " not in (ROOT / "deploy/nginx/nginx.conf").read_text()  # no query strings


# -- issue 15, finding 2: a token on a command line is readable by every local user -------
# (/proc/<pid>/cmdline is world-readable; `ps` shows it). Secrets come from files.

CLI_SECRET = re.compile(
    r"--(?:[A-Za-z_]\w*\.)?(?:token|password|hashed_password|encryption_keys?|db_url"
    r"|cookie_secret)\b",
    re.IGNORECASE,
)
CONFIG_SECRET = re.compile(
    r"^\s*c\.\w+\.(?:token|password|hashed_password|encryption_keys?|db_url|cookie_secret)"
    r"\s*=",
    re.MULTILINE,
)
PRODUCTION_CONFIG = ROOT / "jupyter-config" / "production" / "jupyter_server_config.py"


def deployment_files() -> list[Path]:
    files = [
        PRODUCTION_CONFIG,
        ROOT / "Dockerfile",
        COMPOSE,
        *(p for p in (ROOT / "deploy").rglob("*") if p.is_file()),
    ]
    assert POSTGRES_OVERRIDE in files and len(files) >= 6
    return files


@pytest.mark.parametrize(
    "line",
    [
        "jupyter lab --ServerApp.token=abc",
        "--IdentityProvider.token abc",
        "--NotebookApp.token=abc",
        "--ServerApp.password=sha1:x",
        "--PasswordIdentityProvider.hashed_password=argon2:x",
        "--token=abc",
        "--OpenNotebookApp.encryption_key=x",
        "--OpenNotebookApp.encryption_keys=[x]",
        "--OpenNotebookApp.db_url=postgresql://u:p@h/d",
        'command: ["--ServerApp.token", "x"]',
    ],
)
def test_the_command_line_check_catches_secrets(line):
    assert CLI_SECRET.search(line)


def test_no_secret_on_a_command_line_in_the_deployment_files():
    for path in deployment_files():
        text = path.read_text()
        found = [m.group(0) for m in CLI_SECRET.finditer(text)]
        assert not found, f"{path.relative_to(ROOT)} passes {found} on a command line"


def test_production_config_sets_no_secret_value():
    # A secret set in a config file also lands in every process that reads that file;
    # the production config lets the identity provider and key ring read the files.
    assert CONFIG_SECRET.search("c.IdentityProvider.token = 'x'")
    assert not CONFIG_SECRET.findall(PRODUCTION_CONFIG.read_text())


def test_compose_and_image_start_jupyter_without_arguments_that_carry_secrets(workdir):
    config = compose_config(
        workdir, workdir / "docker-compose.yml", workdir / "deploy" / "compose.postgres.yml"
    )
    for name, service in config["services"].items():
        for key in ("command", "entrypoint"):
            parts = service.get(key) or []
            parts = [parts] if isinstance(parts, str) else parts
            assert not [p for p in parts if CLI_SECRET.search(str(p))], (name, key)
    entry = [
        ln
        for ln in (ROOT / "Dockerfile").read_text().splitlines()
        if ln.upper().startswith(("ENTRYPOINT", "CMD"))
    ]
    assert entry and not [ln for ln in entry if CLI_SECRET.search(ln)]


def test_the_image_runs_the_kernels_too():
    """docker-compose.yml's kernels service: the gateway and an execute-only interpreter
    (a kernel started from a file it cannot read is non-dumpable from its first
    instruction), user 10002, the token hand-off directory, the gateway configuration."""
    final = " ".join(dockerfile_stages((ROOT / "Dockerfile").read_text())[-1])
    assert "[lab,postgresql,gateway]" in final
    assert "useradd --uid 10002 --gid 10001" in final
    assert "cp /usr/local/bin/python3.11 /usr/local/bin/python3-kernel" in final
    assert "chmod 0111 /usr/local/bin/python3-kernel" in final
    assert "chown 10002:10001 /handoff" in final and "chmod 0700 /handoff" in final
    assert (
        "COPY jupyter-config/isolated/jupyter_kernel_gateway_config.py "
        "/etc/jupyter/jupyter_kernel_gateway_config.py"
    ) in final
    assert "jupyter-kernel-gateway" in (ROOT / "pyproject.toml").read_text()
