"""Isolated kernels through Jupyter Kernel Gateway: the server's side and the gateway's.

With ``GatewayClient.url`` set, jupyter_server starts every kernel on the gateway,
which runs them as its own OS user (another container in docker-compose.yml): the
kernels never see the server's files, database, key or environment.

The server's side (``configure_client`` and ``install``, called by the extension):

* The per-kernel URL and token reach the kernel through the start request's
  environment, which jupyter_server filters by ``GatewayClient.allowed_envs``
  (plus every ``KERNEL_*`` variable of the server's own environment: never keep a
  secret under such a name). ``configure_client`` adds our two names to it, and
  reads the gateway's token from ``OpenNotebookApp.gateway_token_file``.
* The gateway assigns the kernel id (a ``kernel_id`` given by a client means
  "connect to that existing kernel" and starts nothing). So the token is issued
  under a provisional id before the start and bound to the id the gateway
  returns; a given id gets no token. Restarts happen on the gateway with the
  environment it kept, so the token survives them; it is revoked on shutdown.
  A session rename does not reach a gateway kernel's environment (jupyter_server's
  ``update_env`` is a no-op there); grants follow the session table instead.
* jupyter_server logs ``GatewayKernelManager started kernel: <id>, args: {...}``
  at INFO with the whole launch environment (the kernel token and the server's
  own variables); ``WithholdKernelArguments`` cuts that part off, and replaces
  any kernel token in the kernel manager's log lines.

The gateway's side (``configure_gateway``, from the gateway's configuration file
``jupyter-config/isolated/jupyter_kernel_gateway_config.py``): the gateway
becomes non-dumpable, reads its token from a file it then deletes (its kernels
run as the same user), refuses to start without one, forwards only our
variables to kernels, and starts Python kernels through
``open_notebook_ext.kernel_launch`` (``launch_provisioner.py``).
"""

from __future__ import annotations

import logging
import os
import re
import stat
import sys
import uuid
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

from . import procsec
from .errors import ConfigError
from .kernel_env import EnvFirewall
from .kernels import KERNEL_ID_ENV, TOKEN_ENV, TOKEN_PREFIX, URL_ENV, KernelTokens
from .secretfile import SecretError, read_secret_file

GATEWAY_TOKEN_FILE_ENV = "OPEN_NOTEBOOK_GATEWAY_TOKEN_FILE"  # noqa: S105 - a variable name
GATEWAY_ENVS = (URL_ENV, TOKEN_ENV)
MIN_GATEWAY_TOKEN = 32
KERNEL_TOKEN_SHAPE = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{20,}")
STARTED_KERNEL = "GatewayKernelManager started kernel:"
# The gateway's variables a kernel may inherit (nothing secret).
GATEWAY_PROCESS_ENVS = (
    "HOME",
    "LANG",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "IPYTHONDIR",
    "MPLCONFIGDIR",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONUNBUFFERED",
)


def gateway_enabled(serverapp: Any) -> bool:
    config = getattr(serverapp, "gateway_config", None)
    return bool(config is not None and config.gateway_enabled)


def isolation_status(serverapp: Any, non_dumpable: bool) -> dict[str, Any]:
    """``kernel_isolation`` and ``non_dumpable`` for ``GET credentials/status``."""
    return {
        "kernel_isolation": "gateway" if gateway_enabled(serverapp) else "none",
        "non_dumpable": bool(non_dumpable),
    }


# -- the server's side -------------------------------------------------------------------


def configure_client(gateway_client: Any, token_file: str, log: Any) -> None:
    """The gateway's token from ``token_file``; our variables in ``allowed_envs``."""
    if token_file:
        try:
            gateway_client.auth_token = read_secret_file(
                token_file, "OpenNotebookApp.gateway_token_file", min_length=MIN_GATEWAY_TOKEN
            )
        except SecretError as e:
            raise ConfigError(str(e)) from None
    if not (gateway_client.auth_token or "").strip():
        raise ConfigError(
            "GatewayClient.url is set but the gateway has no token: its kernels run as one "
            "user, and without a token any of them could drive every other kernel through "
            f"the gateway. Set {GATEWAY_TOKEN_FILE_ENV} (a file holding the gateway's token)"
        )
    allowed = [name for name in (gateway_client.allowed_envs or "").split(",") if name.strip()]
    gateway_client.allowed_envs = ",".join(
        [*allowed, *(n for n in GATEWAY_ENVS if n not in allowed)]
    )
    forwarded = sorted(k for k in os.environ if k.startswith("KERNEL_"))
    if forwarded:
        log.warning(
            "These variables of the server's environment reach every gateway kernel "
            "(jupyter_server forwards KERNEL_*): %s",
            ", ".join(forwarded),
        )


class WithholdKernelArguments(logging.Filter):
    """Drop the launch environment from jupyter_server's gateway start line; mask tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.msg
        if isinstance(msg, str) and msg.startswith(STARTED_KERNEL) and ", args:" in msg:
            record.msg = (
                msg.split(", args:", 1)[0]
                + ", args: (withheld: they hold the kernel's environment)"
            )
            record.args = ()
            return True
        try:
            text = record.getMessage()
        except Exception:  # a broken log call is not ours to fix
            return True
        if TOKEN_PREFIX in text and KERNEL_TOKEN_SHAPE.search(text):
            record.msg, record.args = KERNEL_TOKEN_SHAPE.sub("[REDACTED:kernel token]", text), ()
        return True


def withhold_kernel_arguments(*loggers: Any) -> None:
    for log in loggers:
        logger = getattr(log, "logger", log)  # a LoggerAdapter's logger
        if isinstance(logger, logging.Logger) and not any(
            isinstance(f, WithholdKernelArguments) for f in logger.filters
        ):
            logger.addFilter(WithholdKernelArguments())


def install(
    kernel_manager: Any,
    tokens: KernelTokens,
    *,
    url: Callable[[], str],
    owner: Callable[[], str],
    strip: EnvFirewall,
    log: Any,
) -> None:
    """Tokens for gateway kernels: bound to the id the gateway returns, revoked on shutdown.

    Like ``kernels.install``, instance attributes shadow the manager's methods.
    """
    start, shutdown = kernel_manager.start_kernel, kernel_manager.shutdown_kernel
    withhold_kernel_arguments(kernel_manager.log, log)

    async def start_kernel(*args: Any, kernel_id: str | None = None, **kwargs: Any) -> str:
        if kernel_id is not None:
            # "Connect to the gateway's existing kernel": nothing starts, no token.
            return await start(*args, kernel_id=kernel_id, **kwargs)
        pending = f"starting-{uuid.uuid4()}"
        token = tokens.issue(pending, owner())
        env = strip.filter(kwargs.get("env") or {})
        env.update({URL_ENV: url(), TOKEN_ENV: token})
        kwargs["env"] = env
        try:
            new_id = await start(*args, **kwargs)
        except BaseException:
            tokens.revoke(pending)
            raise
        if not new_id or not tokens.rebind(pending, new_id):
            tokens.revoke(pending)
            log.warning(
                "The gateway answered kernel id %s, which already has an Open Notebook "
                "token: the new kernel gets none.",
                new_id,
            )
        return new_id

    async def shutdown_kernel(kernel_id: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return await shutdown(kernel_id, *args, **kwargs)
        finally:
            if not kwargs.get("restart") and tokens.revoke(kernel_id):
                log.debug("Revoked the Open Notebook token of kernel %s", kernel_id)

    kernel_manager.start_kernel = start_kernel
    kernel_manager.shutdown_kernel = shutdown_kernel


# -- the gateway's side -------------------------------------------------------------------


def _fail(message: str) -> SystemExit:
    return SystemExit(f"open_notebook_ext gateway configuration: {message}; refusing to start")


def read_gateway_token(environ: MutableMapping[str, str]) -> str:
    """Read the gateway's token from the file named in the environment, then delete it."""
    path = environ.pop(GATEWAY_TOKEN_FILE_ENV, "").strip()
    environ.pop("KG_AUTH_TOKEN", None)  # only the file, so kernels never inherit it
    if not path:
        raise _fail(
            f"set {GATEWAY_TOKEN_FILE_ENV} (a file holding the gateway's token, "
            "which the gateway deletes once read)"
        )
    try:
        info = os.stat(path)
    except OSError as e:
        raise _fail(
            f"{GATEWAY_TOKEN_FILE_ENV} names {path!r}, which cannot be read: {e.strerror}"
        ) from None
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise _fail(
            f"{path!r} is readable by others (mode {stat.S_IMODE(info.st_mode):o}); make it 0600"
        )
    try:
        token = read_secret_file(path, GATEWAY_TOKEN_FILE_ENV, min_length=MIN_GATEWAY_TOKEN)
    except SecretError as e:
        raise _fail(str(e)) from None
    try:
        os.unlink(path)
    except OSError as e:
        raise _fail(
            f"cannot delete {path!r} after reading it ({e.strerror}): kernels run as "
            "this user and could read it there; give the gateway a copy it may "
            "delete"
        ) from None
    return token


def configure_gateway(c: Any, environ: MutableMapping[str, str] | None = None) -> None:
    """Everything a Kernel Gateway for open_notebook_ext needs, in its config file."""
    from .launch_provisioner import PROVISIONER_NAME
    from .logscrub import install_config_masking

    environ = os.environ if environ is None else environ
    install_config_masking()  # traitlets logs the configuration (the token) at debug level
    try:
        procsec.set_non_dumpable()  # before the token is read
    except OSError as e:
        raise _fail(
            f"cannot become non-dumpable ({e.strerror or e}), so its kernels could "
            "read its memory and environment"
        ) from None
    c.KernelGatewayApp.auth_token = read_gateway_token(environ)
    c.KernelGatewayApp.port_retries = 0
    c.KernelGatewayApp.env_process_whitelist = list(GATEWAY_PROCESS_ENVS)
    c.JupyterWebsocketPersonality.env_whitelist = [URL_ENV, TOKEN_ENV, KERNEL_ID_ENV]
    c.JupyterWebsocketPersonality.list_kernels = True  # jupyter_server's client lists them
    c.KernelProvisionerFactory.default_provisioner_name = PROVISIONER_NAME


def copy_token(source: str, target: str) -> None:
    """``python -m open_notebook_ext.kernels_gateway copy-token SRC DST``: put a copy of
    the gateway's token where the gateway can delete it (compose's secrets are
    read-only mounts, and the gateway's kernels run as its user)."""
    try:
        token = read_secret_file(source, "the gateway token", min_length=MIN_GATEWAY_TOKEN)
    except SecretError as e:
        raise SystemExit(f"copy-token: {e}") from None
    tmp = Path(target).with_name(f".{Path(target).name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    os.replace(tmp, target)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "copy-token":
        raise SystemExit(
            "usage: python -m open_notebook_ext.kernels_gateway copy-token SOURCE TARGET"
        )
    copy_token(sys.argv[2], sys.argv[3])
