"""The pieces of kernel isolation that need a process of their own: prctl in a fresh
interpreter, the launcher command (it asks the kernel's interpreter), and the token
hand-off protocol with a real child (a stranger's message is refused). The rest:
unit/test_isolation_unit.py."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from open_notebook_ext.kernels import provisioner as launch_provisioner
from open_notebook_ext.security import procsec

linux_only = pytest.mark.skipif(not procsec.available(), reason="prctl is Linux-only")


@linux_only
def test_protect_server_makes_the_process_non_dumpable_and_can_be_turned_off():
    code = (
        "import logging; from open_notebook_ext.security import procsec\n"
        "log = logging.getLogger('t')\n"
        "print(procsec.is_dumpable(), procsec.protect_server(True, log), "
        "procsec.is_dumpable(), procsec.protect_server(False, log), procsec.is_dumpable())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["True", "True", "False", "False", "True"]


PY_CMD = [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "k.json"]


def test_other_kernels_and_other_environments_are_left_alone(tmp_path):
    assert asyncio.run(launch_provisioner.launcher_command(["R", "--slave", "-f", "x"])) is None
    # Debian's python3 has no open_notebook_ext: the kernel must keep working as it was
    other = ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "k.json"]
    if Path(other[0]).exists():
        assert asyncio.run(launch_provisioner.launcher_command(other, "/opt/xo/python")) is None


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, msg: str, *args: object) -> None:
        self.lines.append(msg % args)


SENDER = """
import array, socket, sys
from open_notebook_ext.kernel_launch import READY
channel = socket.socket(fileno=int(sys.argv[1]))
mine, theirs = socket.socketpair()
channel.sendmsg([READY], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                           array.array("i", [theirs.fileno()]))])
theirs.close()
mine.settimeout(10)
print(mine.recv(4096).decode() or "NOTHING", flush=True)
"""


def _handoff(expected_pid: int | None) -> tuple[bool, str, Log]:
    """A process holding the kernel's end of the socket asks for the token; the provisioner
    expects ``expected_pid`` (None: the asking process's own pid, as for the real kernel)."""
    handoff = launch_provisioner.TokenHandoff()
    proc = subprocess.Popen(
        [sys.executable, "-c", SENDER, str(handoff.child_fd)],
        pass_fds=(handoff.child_fd,),
        stdout=subprocess.PIPE,
        text=True,
    )
    log = Log()
    pid = proc.pid if expected_pid is None else expected_pid
    ok = asyncio.run(handoff.deliver("onk_the-token-value", pid, 30, log))
    out, _ = proc.communicate(timeout=30)
    return ok, out.strip(), log


@linux_only
def test_the_kernel_gets_its_token_over_the_new_socket():
    ok, out, log = _handoff(None)
    assert ok and out == "onk_the-token-value" and not log.lines


@linux_only
def test_a_process_that_got_hold_of_the_socket_gets_no_token():
    """pidfd_getfd or an inherited copy: another pid sends the hand-off message."""
    ok, out, log = _handoff(os.getpid())  # the provisioner waits for a different pid
    assert not ok and out == "NOTHING"
    assert "not the kernel" in log.lines[0] and "onk_" not in log.lines[0]


@linux_only
def test_a_kernel_that_exits_first_is_logged():
    handoff = launch_provisioner.TokenHandoff()
    proc = subprocess.Popen([sys.executable, "-c", "pass"], pass_fds=(handoff.child_fd,))
    proc.wait()
    log = Log()
    assert not asyncio.run(handoff.deliver("onk_x", proc.pid, 30, log))
    assert "exited before" in log.lines[0]
