"""Start a Python kernel that its siblings cannot read (the kernel side of the launcher).

Run as ``python -m open_notebook_ext.kernel_launch ipykernel_launcher -f <connection file>``.

The kernel provisioner (``launch_provisioner.py``) rewrites a Python kernel's
``-m ipykernel_launcher`` into this module. It runs before anything else in the
kernel process:

1. ``prctl(PR_SET_DUMPABLE, 0)``, the first statement after the interpreter
   starts: from then on processes of the same user (sibling kernels, the
   kernel's own ``!`` subprocesses) cannot read this process's
   ``/proc/<pid>/environ``, ``fd/*`` or ``mem``, nor ``ptrace`` it. An
   execute-only interpreter (mode 0111; ``KernelLaunchProvisioner.kernel_python``)
   makes the kernel non-dumpable from its first instruction.
2. The kernel's token is not in its environment. The provisioner passes an
   inherited Unix socket (fd number in ``OPEN_NOTEBOOK_KERNEL_HANDOFF_FD``);
   once non-dumpable, this launcher creates a new socket pair and sends one end
   over it. The provisioner checks that the sender is the kernel's own pid
   (``SCM_CREDENTIALS``, which the Linux kernel fills in), then writes the token
   to the new socket, which no other process can hold: it did not exist while
   the kernel was still readable. A process that grabbed the inherited socket
   early (``pidfd_getfd``) can only make the hand-off fail, never read the token.
3. The token goes to ``open_notebook_ext.secrets`` in this process only and is
   removed from ``os.environ`` if it came that way, so the kernel's
   subprocesses do not inherit it (they cannot call ``secrets.get`` unless given
   a token explicitly).
4. ``ipykernel_launcher`` runs in this same process (``runpy``): an ``exec``
   would make the kernel dumpable again.

Standard library only, and nothing is imported before the ``prctl``.
"""

from __future__ import annotations

from . import procsec

_DUMPABLE_AT_START = procsec.is_dumpable()
try:
    procsec.set_non_dumpable()
    _NON_DUMPABLE = True
except OSError:
    _NON_DUMPABLE = False

import array  # noqa: E402 - after the prctl, on purpose
import contextlib  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import runpy  # noqa: E402
import socket  # noqa: E402
import stat  # noqa: E402
import sys  # noqa: E402

HANDOFF_FD_ENV = "OPEN_NOTEBOOK_KERNEL_HANDOFF_FD"
TOKEN_ENV = "OPEN_NOTEBOOK_KERNEL_TOKEN"  # noqa: S105 - a variable name
KERNEL_ID_ENV = "OPEN_NOTEBOOK_KERNEL_ID"
READY = b"open-notebook-kernel-ready"
KERNEL_MODULES = ("ipykernel_launcher", "ipykernel")
HANDOFF_TIMEOUT = 60.0
MAX_TOKEN = 4096


def _warn(message: str) -> None:
    print(f"open_notebook_ext.kernel_launch: {message}", file=sys.stderr, flush=True)


def _receive_token(fd: int) -> str | None:
    """The hand-off: a new socket to the provisioner over ``fd``, the token back on it."""
    try:
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            _warn(f"{HANDOFF_FD_ENV}={fd} is not a socket; no kernel token")
            return None
        channel = socket.socket(fileno=fd)
    except OSError as e:
        _warn(f"cannot use {HANDOFF_FD_ENV}={fd} ({e.strerror}); no kernel token")
        return None
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with channel:
            channel.sendmsg(
                [READY],
                [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [theirs.fileno()]))],
            )
        theirs.close()
        mine.settimeout(HANDOFF_TIMEOUT)
        data = b""
        while len(data) <= MAX_TOKEN:
            chunk = mine.recv(MAX_TOKEN)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        _warn(f"the kernel token hand-off failed ({type(e).__name__}); no kernel token")
        return None
    finally:
        theirs.close()
        mine.close()
    token = data.decode("ascii", "replace").strip()
    if not token or len(data) > MAX_TOKEN:
        _warn("the provisioner sent no kernel token (see the server's log)")
        return None
    return token


def take_token(environ: os._Environ[str] | dict[str, str]) -> str | None:
    """Find this kernel's token (hand-off socket, else the environment) and remove every
    trace of it from ``environ``; record what happened in ``procsec.launch_report``."""
    fd_text = environ.pop(HANDOFF_FD_ENV, None)
    env_token = environ.pop(TOKEN_ENV, None)
    tracer = procsec.tracer_pid()
    traced = bool(tracer)
    procsec.launch_report.update(
        dumpable_at_start=_DUMPABLE_AT_START,
        non_dumpable=_NON_DUMPABLE,
        traced=traced,
        delivery="none",
    )
    fd = int(fd_text) if fd_text and fd_text.isdigit() else None
    if traced or (fd is not None and not _NON_DUMPABLE):
        # A tracer attached while the process was still dumpable controls it; and
        # a readable process cannot keep a token from its siblings.
        why = f"traced by pid {tracer}" if traced else "the kernel could not become non-dumpable"
        _warn(f"{why}: the kernel token is refused, secrets.get will not work here")
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        procsec.launch_report["delivery"] = "refused"
        return None
    if fd is not None:
        token = _receive_token(fd)
        procsec.launch_report["delivery"] = "handoff" if token else "none"
        return token
    if env_token:
        procsec.launch_report["delivery"] = "environment"
        return env_token
    return None


def _kernel_id_from(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        path = (
            argv[i + 1]
            if arg == "-f" and i + 1 < len(argv)
            else arg[3:]
            if arg.startswith("-f=")
            else None
        )
        if path:
            m = re.fullmatch(r"kernel-([0-9a-fA-F-]{32,36})\.json", os.path.basename(path))
            return m.group(1) if m else None
    return None


def _enter_working_dir() -> None:
    """A gateway kernel starts where the gateway runs; the server names the notebook's
    directory in KERNEL_WORKING_DIR (Enterprise Gateway honours it; this does here)."""
    target = os.environ.get("KERNEL_WORKING_DIR", "")
    if not target or not os.path.isdir(target):
        return
    before = os.getcwd()
    try:
        os.chdir(target)
    except OSError:
        return
    if sys.path and sys.path[0] == before:
        sys.path[0] = os.getcwd()


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in KERNEL_MODULES:
        raise SystemExit(
            f"usage: python -m open_notebook_ext.kernel_launch "
            f"{{{'|'.join(KERNEL_MODULES)}}} [kernel arguments]"
        )
    module, rest = args[0], args[1:]
    token = take_token(os.environ)
    if token:
        from . import secrets

        secrets._kernel_token = token
    kernel_id = _kernel_id_from(rest)
    if kernel_id and not os.environ.get(KERNEL_ID_ENV):
        os.environ[KERNEL_ID_ENV] = kernel_id
    _enter_working_dir()
    sys.argv = [module, *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
