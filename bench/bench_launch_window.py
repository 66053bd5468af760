"""The launcher's residual window: how long a starting kernel is readable by its siblings.

Between ``execve`` and ``open_notebook_ext.kernel_launch``'s ``prctl`` a kernel is
dumpable: a process of the same user may read its ``/proc/<pid>/environ`` (which
holds no token: it comes over a socket afterwards), copy its file descriptors
(the hand-off then fails, the token is not sent) or ``ptrace``-attach, which
would give it the kernel. Measured as an unprivileged user (root reads
everything), from Debian's python3 in the world-readable environment:

* the window: the time ``/proc/<pid>/environ`` belongs to the user (dumpable)
  rather than to root (non-dumpable), polled as fast as Python can;
* a racing sibling: a process of the same user that scans ``/proc`` for new
  launcher processes and tries ``PTRACE_ATTACH`` on each; how many launches it
  caught;

each for the readable interpreter and for the execute-only copy
(``python-xo``, ``KernelLaunchProvisioner.kernel_python``), which starts
non-dumpable. Needs root (to create the user); skipped otherwise.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

ATTACKER = r"""
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
seen = set()
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    for name in os.listdir("/proc"):
        if not name.isdigit() or name in seen:
            continue
        seen.add(name)
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                if b"kernel_launch" not in f.read():
                    continue
        except OSError:
            continue
        if libc.ptrace(16, int(name), None, None) == 0:   # PTRACE_ATTACH
            try:
                os.waitpid(int(name), 0x40000000)
            except ChildProcessError:
                pass
            libc.ptrace(17, int(name), None, None)        # PTRACE_DETACH
            print("attached", name, flush=True)
"""


def _launch(user, python: Path, env: dict[str, str]) -> tuple[float, int]:
    """One launcher start; (seconds its environ was the user's, pid)."""
    cmd = [
        str(python),
        "-P",
        "-m",
        "open_notebook_ext.kernel_launch",
        "ipykernel_launcher",
        "--version",
    ]
    proc = subprocess.Popen(
        cmd,
        user=user.uid,
        group=user.gid,
        extra_groups=[],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd="/",
    )
    path = f"/proc/{proc.pid}/environ"
    first = last = None
    while proc.poll() is None:
        try:
            owner = os.stat(path).st_uid
        except FileNotFoundError:
            break
        now = time.perf_counter()
        if owner == user.uid:
            first = first or now
            last = now
        elif first is not None:
            break  # root's again: the launcher's prctl
    proc.wait()
    return (last - first if first and last else 0.0), proc.pid


def main(n: int = 30) -> dict | None:
    import unpriv

    if unpriv.cannot_use_users():
        return None
    venv = unpriv.build_world_venv()
    base = Path(tempfile.mkdtemp(prefix="on-window-", dir="/tmp"))
    base.chmod(0o755)
    user = unpriv.create_user("onwin", base)
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(user.home)}
    results = {}
    try:
        for label, python in (
            ("readable interpreter", venv / "bin" / "python"),
            ("execute-only interpreter", venv / "bin" / "python-xo"),
        ):
            windows = [_launch(user, python, env)[0] for _ in range(n)]
            attacker = subprocess.Popen(
                [str(venv / "bin" / "python"), "-c", ATTACKER, str(n * 3 + 30)],
                user=user.uid,
                group=user.gid,
                extra_groups=[],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            time.sleep(1)
            pids = [_launch(user, python, env)[1] for _ in range(n)]
            attacker.terminate()
            caught = {
                int(line.split()[1])
                for line in attacker.communicate()[0].splitlines()
                if line.startswith("attached")
            }
            results[label] = {
                "p50_ms": statistics.median(windows) * 1e3,
                "max_ms": max(windows) * 1e3,
                "readable_starts": sum(1 for w in windows if w > 0),
                "n": n,
                "caught": len(caught & set(pids)),
            }
    finally:
        unpriv.remove_user(user)
        shutil.rmtree(base, ignore_errors=True)
    return results


if __name__ == "__main__":
    for label, r in (main() or {}).items():
        print(
            f"{label}: dumpable window p50 {r['p50_ms']:.2f} ms, max {r['max_ms']:.2f} ms "
            f"({r['readable_starts']}/{r['n']} starts readable at all); a racing sibling "
            f"attached to {r['caught']}/{r['n']} launches"
        )
