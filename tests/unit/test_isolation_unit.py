"""The pieces of kernel isolation on their own: prctl, the launcher command, the token
hand-off protocol (a stranger's message is refused), token rebinding, the gateway's
configuration and the server's gateway settings, the log filter, the status fields."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from traitlets.config import Config

from open_notebook_ext import kernel_launch
from open_notebook_ext.errors import ConfigError
from open_notebook_ext.kernels import gateway as kernels_gateway
from open_notebook_ext.kernels import provisioner as launch_provisioner
from open_notebook_ext.kernels.env import EnvFirewall
from open_notebook_ext.kernels.tokens import KernelTokens
from open_notebook_ext.kernels.tokens import install as install_kernel_tokens
from open_notebook_ext.security import procsec

linux_only = pytest.mark.skipif(not procsec.available(), reason="prctl is Linux-only")


# -- prctl ------------------------------------------------------------------------------


def test_protect_server_where_prctl_is_missing_logs_and_goes_on(monkeypatch, caplog):
    monkeypatch.setattr(procsec, "available", lambda: False)
    with caplog.at_level(logging.INFO):
        assert procsec.protect_server(True, logging.getLogger("t")) is False
    assert "Could not mark the server non-dumpable" in caplog.text


# -- the launcher command ----------------------------------------------------------------

PY_CMD = [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "k.json"]


def test_python_kernels_go_through_the_launcher_with_safe_path():
    new = asyncio.run(launch_provisioner.launcher_command(PY_CMD))
    assert new == [
        sys.executable,
        "-P",
        "-Xfrozen_modules=off",
        "-m",
        "open_notebook_ext.kernel_launch",
        "ipykernel_launcher",
        "-f",
        "k.json",
    ]
    # an execute-only interpreter replaces the provisioner's own, only that one
    new = asyncio.run(launch_provisioner.launcher_command(PY_CMD, "/opt/xo/python"))
    assert new[0] == "/opt/xo/python"


def test_the_launcher_reads_the_kernel_id_from_the_connection_file():
    kid = "0b7f3a52-8c3d-4e0f-9a41-5f1d2c3b4a59"
    assert kernel_launch._kernel_id_from(["-f", f"/run/x/kernel-{kid}.json"]) == kid
    assert kernel_launch._kernel_id_from([f"-f=/run/kernel-{kid}.json"]) == kid
    assert kernel_launch._kernel_id_from(["-f", "/run/other.json"]) is None


# -- the hand-off ------------------------------------------------------------------------


def test_take_token_removes_every_trace_from_the_environment(monkeypatch):
    env = {"OPEN_NOTEBOOK_KERNEL_TOKEN": "onk_from-env", "OPEN_NOTEBOOK_URL": "http://x/"}
    monkeypatch.setattr(procsec, "tracer_pid", lambda: 0)
    assert kernel_launch.take_token(env) == "onk_from-env"
    assert env == {"OPEN_NOTEBOOK_URL": "http://x/"}
    assert procsec.launch_report["delivery"] == "environment"


def test_a_traced_kernel_refuses_its_token(monkeypatch):
    env = {"OPEN_NOTEBOOK_KERNEL_TOKEN": "onk_from-env"}
    monkeypatch.setattr(procsec, "tracer_pid", lambda: 4242)
    assert kernel_launch.take_token(env) is None and env == {}
    assert procsec.launch_report["delivery"] == "refused"


# -- tokens bound to the gateway's kernel id --------------------------------------------


def test_rebind_moves_a_token_and_refuses_an_id_that_has_one():
    tokens = KernelTokens()
    token = tokens.issue("starting-1", "alice")
    assert tokens.rebind("starting-1", "k1")
    assert tokens.check(token).kernel_id == "k1" and tokens.check(token).owner == "alice"
    other = tokens.issue("starting-2", "alice")
    assert not tokens.rebind("starting-2", "k1")  # k1 is bound already: nothing moves
    assert tokens.check(other).kernel_id == "starting-2"
    assert tokens.check(token).kernel_id == "k1"
    assert not tokens.rebind("nope", "k2")


class FakeGatewayKernels:
    """What jupyter_server's GatewayMappingKernelManager does with an id: a given id
    means "connect to it", none means the gateway starts one and names it."""

    def __init__(self) -> None:
        self.log = logging.getLogger("fake-gateway-km")
        self.started: list[dict] = []

    async def start_kernel(self, *, kernel_id=None, **kwargs):
        if kernel_id is not None:
            return kernel_id
        self.started.append(kwargs)
        return "gateway-id-1"

    async def shutdown_kernel(self, kernel_id, now=False, restart=False):
        return None


class FakeLocalKernels(dict):
    """A local kernel manager's start and shutdown, recording what each start sees."""

    def __init__(self, seen: list[str]) -> None:
        super().__init__()
        self.seen = seen

    async def start_kernel(self, *, kernel_id: str, **kwargs: object) -> str:
        self.seen.append(f"start {kernel_id}")
        self[kernel_id] = kwargs
        return kernel_id

    async def shutdown_kernel(self, kernel_id: str, **kwargs: object) -> None:
        self.pop(kernel_id, None)


def test_the_kernels_provisioner_is_chosen_once_before_the_first_start():
    seen: list[str] = []
    km, tokens = FakeLocalKernels(seen), KernelTokens()
    install_kernel_tokens(
        km,
        tokens,
        url=lambda: "http://server/",
        owner=lambda: "bob",
        strip=EnvFirewall(),
        log=logging.getLogger("t"),
        before_first_start=lambda: seen.append("choose"),
    )
    assert seen == []  # nothing while the server loads
    asyncio.run(km.start_kernel(kernel_id="k1"))
    asyncio.run(km.start_kernel(kernel_id="k2"))
    assert seen == ["choose", "start k1", "start k2"]


def test_gateway_kernels_get_a_token_bound_to_the_gateways_id():
    km, tokens = FakeGatewayKernels(), KernelTokens()
    kernels_gateway.install(
        km,
        tokens,
        url=lambda: "http://server/",
        owner=lambda: "bob",
        strip=EnvFirewall(),
        log=logging.getLogger("t"),
    )
    new_id = asyncio.run(
        km.start_kernel(
            kernel_name="python3",
            env={"JUPYTER_TOKEN": "srv", "PATH": "/bin", "OPENAI_API_KEY": "sk-server"},
        )
    )
    assert new_id == "gateway-id-1"
    env = km.started[0]["env"]
    assert "JUPYTER_TOKEN" not in env and env["OPEN_NOTEBOOK_URL"] == "http://server/"
    assert "OPENAI_API_KEY" not in env and env["PATH"] == "/bin"
    assert tokens.check(env["OPEN_NOTEBOOK_KERNEL_TOKEN"]).kernel_id == "gateway-id-1"
    # "connect to an existing kernel": nothing started, no token issued
    assert asyncio.run(km.start_kernel(kernel_id="someone-elses")) == "someone-elses"
    assert len(km.started) == 1 and len(tokens) == 1
    asyncio.run(km.shutdown_kernel("gateway-id-1", restart=True))
    assert tokens.check(env["OPEN_NOTEBOOK_KERNEL_TOKEN"]) is not None  # restart keeps it
    asyncio.run(km.shutdown_kernel("gateway-id-1"))
    assert tokens.check(env["OPEN_NOTEBOOK_KERNEL_TOKEN"]) is None


def test_the_gateway_start_line_is_cut_and_tokens_masked():
    record = logging.LogRecord(
        "ServerApp",
        logging.INFO,
        __file__,
        1,
        "GatewayKernelManager started kernel: k1, args: {'env': "
        "{'OPENAI_API_KEY': 'sk-server', 'OPEN_NOTEBOOK_KERNEL_TOKEN':"
        " 'onk_abcdefghijklmnopqrstuvwxyz'}}",
        None,
        None,
    )
    assert kernels_gateway.WithholdKernelArguments().filter(record)
    assert record.getMessage() == (
        "GatewayKernelManager started kernel: k1, args: "
        "(withheld: they hold the kernel's environment)"
    )
    other = logging.LogRecord(
        "ServerApp",
        logging.DEBUG,
        __file__,
        1,
        "sent %s",
        ("onk_abcdefghijklmnopqrstuvwxyz",),
        None,
    )
    kernels_gateway.WithholdKernelArguments().filter(other)
    assert other.getMessage() == "sent [REDACTED:kernel token]"


# -- the server's and the gateway's configuration ---------------------------------------


def test_the_server_needs_the_gateways_token_and_lets_our_variables_through(tmp_path):
    client = SimpleNamespace(auth_token="", allowed_envs="MYVAR")
    with pytest.raises(ConfigError, match="has no token"):
        kernels_gateway.configure_client(client, "", logging.getLogger("t"))
    short = tmp_path / "short"
    short.write_text("abc")
    with pytest.raises(ConfigError, match="shorter than 32"):
        kernels_gateway.configure_client(client, str(short), logging.getLogger("t"))
    good = tmp_path / "token"
    good.write_text("t" * 40 + "\n")
    kernels_gateway.configure_client(client, str(good), logging.getLogger("t"))
    assert client.auth_token == "t" * 40
    assert client.allowed_envs == "MYVAR,OPEN_NOTEBOOK_URL,OPEN_NOTEBOOK_KERNEL_TOKEN"


def _gateway_config(tmp_path: Path, text: str | None, mode: int = 0o600) -> tuple:
    env = {"KG_AUTH_TOKEN": "x" * 40}
    if text is not None:
        path = tmp_path / "gw_token"
        path.write_text(text)
        path.chmod(mode)
        env[kernels_gateway.GATEWAY_TOKEN_FILE_ENV] = str(path)
    c = Config()
    return c, env


@linux_only
def test_the_gateway_reads_its_token_file_deletes_it_and_refuses_without(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(procsec, "set_non_dumpable", lambda: calls.append("prctl"))
    c, env = _gateway_config(tmp_path, "g" * 48 + "\n")
    kernels_gateway.configure_gateway(c, env)
    assert calls == ["prctl"]
    assert c.KernelGatewayApp.auth_token == "g" * 48
    assert not (tmp_path / "gw_token").exists() and env == {}
    assert c.KernelProvisionerFactory.default_provisioner_name == "open-notebook-launcher"
    assert c.JupyterWebsocketPersonality.env_whitelist == [
        "OPEN_NOTEBOOK_URL",
        "OPEN_NOTEBOOK_KERNEL_TOKEN",
        "OPEN_NOTEBOOK_KERNEL_ID",
    ]
    for text, mode, why in (
        (None, 0o600, "set OPEN_NOTEBOOK_GATEWAY_TOKEN_FILE"),
        ("short", 0o600, "shorter than 32"),
        ("g" * 48, 0o644, "readable by others"),
    ):
        c, env = _gateway_config(tmp_path, text, mode)
        with pytest.raises(SystemExit, match=why):
            kernels_gateway.configure_gateway(c, env)
        assert "KG_AUTH_TOKEN" not in env


def test_copy_token_writes_a_0600_copy(tmp_path):
    source, target = tmp_path / "secret", tmp_path / "handoff" / "gateway_token"
    source.write_text("s" * 40 + "\n")
    target.parent.mkdir()
    kernels_gateway.copy_token(str(source), str(target))
    assert target.read_text() == "s" * 40 + "\n"
    assert oct(target.stat().st_mode & 0o777) == "0o600"


# -- the status -------------------------------------------------------------------------


def test_socket_credentials_are_what_the_protocol_relies_on():
    assert not procsec.available() or hasattr(socket, "SCM_CREDENTIALS")
