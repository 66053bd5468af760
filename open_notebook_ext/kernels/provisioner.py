"""The kernel provisioner that starts Python kernels through ``kernel_launch``.

``KernelLaunchProvisioner`` is jupyter_client's ``LocalProvisioner`` with one
change at launch (the only moment a process is created, so restarts and the
auto-restarter go through it too): a Python kernel's ``-m ipykernel_launcher``
becomes ``-m open_notebook_ext.kernel_launch ipykernel_launcher``, and the
kernel's token (``OPEN_NOTEBOOK_KERNEL_TOKEN`` in the launch environment) is
taken out of the environment and handed over a Unix socket once the kernel is
non-dumpable (the protocol is in ``kernel_launch.py``). Commands it cannot
rewrite (other languages, interpreters without open_notebook_ext) launch as
``LocalProvisioner`` would, the token in their environment.

The server uses it for its local kernels (``OpenNotebookApp.kernel_launcher``);
a Jupyter Kernel Gateway uses it when its configuration says so
(``kernels_gateway.configure_gateway``). Entry point: ``open-notebook-launcher``.
"""

from __future__ import annotations

import array
import asyncio
import os
import socket
import struct
import sys
from typing import Any

from jupyter_client.provisioning import LocalProvisioner
from traitlets import Float, Unicode, default

from open_notebook_ext.http import compat
from open_notebook_ext.kernel_launch import HANDOFF_FD_ENV, KERNEL_MODULES, READY, TOKEN_ENV
from open_notebook_ext.kernels.env import EnvFirewall
from open_notebook_ext.security import procsec

PROVISIONER_NAME = "open-notebook-launcher"
LAUNCHER_MODULE = "open_notebook_ext.kernel_launch"
_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid

# interpreter path -> (can import the launcher, knows -P), checked once per path
_LAUNCHABLE: dict[str, tuple[bool, bool]] = {}
_PROBE = (
    "import importlib.util, sys\n"
    "if sys.path and sys.path[0] == '': del sys.path[0]  # not the working directory\n"
    f"found = importlib.util.find_spec({LAUNCHER_MODULE!r}) is not None\n"
    "sys.exit(0 if found and sys.version_info >= (3, 11) else 2 if found else 1)"
)


def handoff_supported() -> bool:
    """Linux only: SO_PASSCRED / SCM_CREDENTIALS, and prctl in the kernel."""
    return procsec.available() and hasattr(socket, "SCM_CREDENTIALS")


def kernel_module_index(cmd: list[str]) -> int | None:
    """Where ``ipykernel_launcher`` (or ``ipykernel``) follows ``-m`` in a kernel command."""
    for i in range(len(cmd) - 1):
        if cmd[i] == "-m" and cmd[i + 1] in KERNEL_MODULES:
            return i + 1
    return None


async def _interpreter(python: str) -> tuple[bool, bool]:
    """Whether ``python`` can import the launcher, and whether it knows ``-P``."""
    if python in _LAUNCHABLE:
        return _LAUNCHABLE[python]
    if os.path.abspath(python) == os.path.abspath(sys.executable):
        found = (True, sys.version_info >= (3, 11))
    else:
        try:
            proc = await asyncio.create_subprocess_exec(
                python,
                "-c",
                _PROBE,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            code = await asyncio.wait_for(proc.wait(), 30)
        except (OSError, asyncio.TimeoutError):
            code = 1
        found = (code in (0, 2), code == 0)
    _LAUNCHABLE[python] = found
    return found


async def launcher_command(cmd: list[str], kernel_python: str = "") -> list[str] | None:
    """The command that runs this kernel through the launcher; None if it cannot.

    ``-P`` (Python 3.11+) keeps the working directory off ``sys.path`` while the
    launcher and ipykernel load: a notebook directory holding ``open_notebook_ext/``
    or ``ipykernel_launcher.py`` cannot replace them (IPython adds the directory
    back for notebook code once the kernel runs).
    """
    index = kernel_module_index(cmd)
    if index is None or not cmd:
        return None
    launchable, safe_path = await _interpreter(cmd[0])
    if not launchable:
        return None
    new = list(cmd)
    same_env = os.path.abspath(cmd[0]) == os.path.abspath(sys.executable)
    if kernel_python and same_env:
        new[0] = kernel_python  # e.g. an execute-only copy: non-dumpable from the start
    new[index : index + 1] = [LAUNCHER_MODULE, cmd[index]]
    if safe_path:
        new.insert(1, "-P")
    return new


class TokenHandoff:
    """One launch's socket pair: the kernel's end is inherited, ours waits for it."""

    def __init__(self) -> None:
        self.ours, self.theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)

    @property
    def child_fd(self) -> int:
        return self.theirs.fileno()

    def close(self) -> None:
        self.ours.close()
        self.theirs.close()

    async def _receive(self, timeout: float) -> tuple[bytes, list, int]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        size = socket.CMSG_SPACE(_UCRED.size) + socket.CMSG_SPACE(4 * array.array("i").itemsize)

        def readable() -> None:
            if future.done():
                return
            try:
                message, ancdata, flags, _ = self.ours.recvmsg(len(READY) + 1, size)
            except BlockingIOError:
                return
            except OSError as e:
                future.set_exception(e)
                return
            future.set_result((message, ancdata, flags))

        self.ours.setblocking(False)
        loop.add_reader(self.ours.fileno(), readable)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            loop.remove_reader(self.ours.fileno())

    async def deliver(self, token: str, pid: int | None, timeout: float, log: Any) -> bool:
        """Wait for the kernel's new socket, check it came from ``pid``, send the token."""
        self.theirs.close()  # the kernel holds its copy; EOF once it exits or closes it
        received: list[int] = []
        try:
            message, ancdata, flags = await self._receive(timeout)
            sender = None
            for level, kind, data in ancdata:
                if level != socket.SOL_SOCKET:
                    continue
                if kind == socket.SCM_CREDENTIALS and len(data) >= _UCRED.size:
                    sender = _UCRED.unpack(data[: _UCRED.size])[0]
                elif kind == socket.SCM_RIGHTS:
                    fds = array.array("i")
                    fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
                    received.extend(fds)
            if not message:
                log.warning("Kernel (pid %s) exited before it took its Open Notebook token", pid)
                return False
            if message != READY or sender != pid or len(received) != 1 or flags & socket.MSG_CTRUNC:
                # Another process wrote to the kernel's hand-off socket: it got hold of
                # it while the kernel was still readable. The token is not sent at all.
                log.warning(
                    "Kernel (pid %s): the Open Notebook token hand-off came from "
                    "pid %s, not the kernel; the token was not handed over and "
                    "secrets.get will not work in this kernel.",
                    pid,
                    sender,
                )
                return False
            with socket.socket(fileno=received.pop()) as peer:
                peer.settimeout(10)
                peer.sendall(token.encode("ascii"))
            return True
        except (asyncio.TimeoutError, OSError) as e:
            log.warning(
                "Kernel (pid %s) did not take its Open Notebook token (%s)", pid, type(e).__name__
            )
            return False
        finally:
            for fd in received:
                os.close(fd)
            self.ours.close()


_FIREWALL = EnvFirewall()


class KernelLaunchProvisioner(LocalProvisioner):
    """LocalProvisioner whose Python kernels are non-dumpable and get their token by hand-off."""

    kernel_python = Unicode(
        config=True,
        help="""Interpreter for Python kernels of the provisioner's own environment,
        instead of sys.executable: e.g. an execute-only copy of it (root-owned, mode
        0111, in the same bin directory), which starts every kernel non-dumpable from
        its first instruction, closing the moment between exec and the launcher's
        prctl. Environment: OPEN_NOTEBOOK_KERNEL_PYTHON.""",
    )

    @default("kernel_python")
    def _kernel_python_default(self) -> str:
        return os.environ.get("OPEN_NOTEBOOK_KERNEL_PYTHON", "")

    handoff_timeout = Float(
        60.0,
        config=True,
        help="Seconds a starting kernel has to take its token before it runs without one.",
    )

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        # Every launch (start and restart) passes here: the built-in firewall once more,
        # whatever path the environment took to get here (the configured extras are
        # applied by the kernel manager, kernels.install).
        kwargs = await super().pre_launch(**kwargs)
        env = kwargs.get("env")
        if env is not None:
            for name in _FIREWALL.blocked(env):
                del env[name]
        return kwargs

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        new_cmd = await launcher_command(cmd, self.kernel_python) if handoff_supported() else None
        if new_cmd is None:
            return await super().launch_kernel(cmd, **kwargs)
        env = dict(kwargs.get("env") or os.environ)
        token = env.pop(TOKEN_ENV, None)
        handoff = TokenHandoff() if token else None
        if handoff is not None:
            env[HANDOFF_FD_ENV] = str(handoff.child_fd)
            kwargs["pass_fds"] = (*kwargs.get("pass_fds", ()), handoff.child_fd)
        kwargs["env"] = env
        try:
            info = await super().launch_kernel(new_cmd, **kwargs)
        except BaseException:
            if handoff is not None:
                handoff.close()
            raise
        if handoff is not None and token is not None:
            await handoff.deliver(token, self.pid, self.handoff_timeout, self.log)
        return info


def use_for_local_kernels(enabled: bool, log: Any) -> bool:
    """Make this the default provisioner of the server's local kernels (or stop)."""
    from jupyter_client.provisioning.factory import KernelProvisionerFactory

    factory = KernelProvisionerFactory.instance()
    current = factory.default_provisioner_name
    if not enabled:
        if current == PROVISIONER_NAME:
            factory.default_provisioner_name = "local-provisioner"
        return False
    if not handoff_supported():
        log.info(
            "Kernels start without open_notebook_ext.kernel_launch on %s (no prctl): "
            "their token is in their environment.",
            sys.platform,
        )
        return False
    if current not in ("local-provisioner", PROVISIONER_NAME):
        log.warning(
            "KernelProvisionerFactory.default_provisioner_name is %r: kernels keep "
            "their Open Notebook token in their environment (readable by other "
            "processes of this user). Subclass open_notebook_ext.kernels.provisioner."
            "KernelLaunchProvisioner to keep both.",
            current,
        )
        return False
    if not compat.provisioner_available(factory, PROVISIONER_NAME):
        log.warning(
            "The %s kernel provisioner is not installed (reinstall open_notebook_ext):"
            " kernels get their token in their environment.",
            PROVISIONER_NAME,
        )
        return False
    factory.default_provisioner_name = PROVISIONER_NAME
    return True
