"""What code in a kernel tries, to reach keys it was not given (sent to kernels as source).

``run(spec)`` makes every attempt the spec names and returns what happened, with
whatever it managed to read; the test decides what counts as a leak (it knows the
secrets, the kernel does not). Standard library only; Linux x86-64 for the
``ptrace`` / ``pidfd_getfd`` attempts.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import platform
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

PTRACE_ATTACH, PTRACE_DETACH = 16, 17
SYS_PIDFD_OPEN, SYS_PIDFD_GETFD = 434, 438  # x86-64
MAX_READ = 1 << 16

_libc = ctypes.CDLL(None, use_errno=True)


def _error(e: BaseException) -> str:
    return type(e).__name__


def read_file(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_READ)
        return {
            "ok": True,
            "outcome": f"read {len(data)} bytes",
            "data": data.decode("utf-8", "replace"),
        }
    except OSError as e:
        return {"ok": False, "outcome": f"denied: {_error(e)}"}


def list_dir(path: str) -> dict[str, Any]:
    try:
        names = os.listdir(path)
        return {"ok": True, "outcome": f"listed {len(names)} entries", "data": " ".join(names)}
    except OSError as e:
        return {"ok": False, "outcome": f"denied: {_error(e)}"}


def read_mem(pid: int) -> dict[str, Any]:
    try:
        with open(f"/proc/{pid}/mem", "rb") as mem:
            start = None
            with contextlib.suppress(OSError), open(f"/proc/{pid}/maps") as maps:
                for line in maps:
                    if line.split()[1].startswith("r"):
                        start = int(line.split("-")[0], 16)
                        break
            if start is None:
                return {"ok": False, "outcome": "opened, but no readable mapping found"}
            mem.seek(start)
            data = mem.read(4096)
            return {
                "ok": True,
                "outcome": f"read {len(data)} bytes of memory",
                "data": data.decode("latin-1"),
            }
    except OSError as e:
        return {"ok": False, "outcome": f"denied: {_error(e)}"}


def open_fds(pid: int) -> dict[str, Any]:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError as e:
        return {"ok": False, "outcome": f"denied: {_error(e)}"}
    opened, data = 0, []
    for fd in fds:
        try:
            flags = os.O_RDONLY | os.O_NONBLOCK
            handle = os.open(f"/proc/{pid}/fd/{fd}", flags)
        except OSError:
            continue
        opened += 1
        with contextlib.suppress(OSError):
            data.append(os.read(handle, 4096).decode("utf-8", "replace"))
        os.close(handle)
    return {
        "ok": opened > 0,
        "outcome": f"listed {len(fds)} fds, opened {opened}",
        "data": "\n".join(data),
    }


def ptrace_attach(pid: int) -> dict[str, Any]:
    ptrace = _libc.ptrace
    ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    ptrace.restype = ctypes.c_long
    if ptrace(PTRACE_ATTACH, pid, None, None) != 0:
        return {"ok": False, "outcome": f"denied: errno {os.strerror(ctypes.get_errno())}"}
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0x40000000)  # __WALL
    ptrace(PTRACE_DETACH, pid, None, None)
    return {"ok": True, "outcome": "attached (ptrace)"}


def steal_fds(pid: int) -> dict[str, Any]:
    """pidfd_getfd(2): a copy of another process's file descriptors (its sockets too)."""
    if platform.machine() != "x86_64":
        return {"ok": False, "outcome": "skipped (not x86-64)"}
    syscall = _libc.syscall
    syscall.restype = ctypes.c_long
    pidfd = syscall(SYS_PIDFD_OPEN, ctypes.c_int(pid), ctypes.c_uint(0))
    if pidfd < 0:
        return {"ok": False, "outcome": f"pidfd_open failed: {os.strerror(ctypes.get_errno())}"}
    got, last = 0, ""
    try:
        for fd in range(64):
            copy = syscall(SYS_PIDFD_GETFD, ctypes.c_int(pidfd), ctypes.c_int(fd), ctypes.c_uint(0))
            if copy >= 0:
                got += 1
                os.close(copy)
            else:
                last = os.strerror(ctypes.get_errno())
    finally:
        os.close(pidfd)
    if got:
        return {"ok": True, "outcome": f"copied {got} file descriptors"}
    return {"ok": False, "outcome": f"denied: {last}"}


def http(method: str, url: str, headers: dict[str, str], body: Any) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    if data is None and method in ("POST", "PUT", "PATCH"):
        data = b"{}"
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **headers}
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as r:
            status, text = r.status, r.read(MAX_READ).decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read(MAX_READ).decode("utf-8", "replace")
    except OSError as e:
        return {"ok": False, "outcome": f"unreachable: {_error(e)}"}
    return {"ok": 200 <= status < 300, "outcome": f"HTTP {status}", "data": text, "status": status}


def secret(name: str) -> dict[str, Any]:
    from open_notebook_ext import secrets

    try:
        value = secrets.get(name)
    except secrets.SecretError as e:
        return {"ok": False, "outcome": f"refused: {type(e).__name__}", "data": str(e)}
    import hashlib

    return {
        "ok": True,
        "outcome": "returned a key",
        "sha256": hashlib.sha256(value.encode()).hexdigest(),
    }


def child_secret(name: str) -> dict[str, Any]:
    """secrets.get from a subprocess of the kernel (``!python script.py``)."""
    code = (
        "import json, sys\nfrom open_notebook_ext import secrets\n"
        f"try:\n    secrets.get({name!r}); print('returned a key')\n"
        "except secrets.SecretError as e:\n    print('refused:', type(e).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd="/"
    )
    text = (out.stdout or out.stderr).strip()
    return {
        "ok": text.startswith("returned"),
        "outcome": text.splitlines()[-1] if text else f"exit {out.returncode}",
    }


def every_process() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        found[name] = {
            "environ": read_file(f"/proc/{name}/environ"),
            "cmdline": read_file(f"/proc/{name}/cmdline"),
        }
    return found


def run(spec: dict[str, Any]) -> dict[str, Any]:
    from open_notebook_ext import procsec, secrets

    try:
        token = secrets._config()[1]
    except secrets.SecretError:
        token = ""
    attempts: list[dict[str, Any]] = []

    def attempt(what: str, target: str, result: dict[str, Any]) -> None:
        attempts.append({"what": what, "target": target, **result})

    for label, path in spec.get("files", {}).items():
        attempt("read file", label, read_file(path))
    for label, path in spec.get("dirs", {}).items():
        attempt("list directory", label, list_dir(path))
    for label, pid in spec.get("processes", {}).items():
        attempt("read /proc/<pid>/environ", label, read_file(f"/proc/{pid}/environ"))
        attempt("read /proc/<pid>/cmdline", label, read_file(f"/proc/{pid}/cmdline"))
        attempt("open /proc/<pid>/fd/*", label, open_fds(pid))
        attempt("read /proc/<pid>/mem", label, read_mem(pid))
        attempt("ptrace attach", label, ptrace_attach(pid))
        attempt("pidfd_getfd", label, steal_fds(pid))
    for call in spec.get("http", []):
        headers = {k: v.replace("{kernel_token}", token) for k, v in call["headers"].items()}
        attempt(
            call.get("what", "HTTP"),
            f"{call['method']} {call['label']}",
            http(call["method"], call["url"], headers, call.get("body")),
        )
    for label, name in spec.get("secrets", {}).items():
        attempt("secrets.get", label, secret(name))
    for label, name in spec.get("child_secrets", {}).items():
        attempt("secrets.get from a subprocess", label, child_secret(name))
    return {
        "attempts": attempts,
        "processes": every_process() if spec.get("every_process") else {},
        "own_environ": read_file("/proc/self/environ").get("data", ""),
        "own_os_environ": dict(os.environ),
        "launch": dict(procsec.launch_report),
        "dumpable": procsec.is_dumpable(),
        "uid": os.getuid(),
        "pid": os.getpid(),
    }


SOURCE = Path(__file__).read_text(encoding="utf-8") if "__file__" in globals() else ""


def code_for(spec: dict[str, Any]) -> str:
    """Kernel code: this module's source, then one line printing ``run(spec)`` as JSON."""
    return (
        SOURCE + "\nimport json as _json\n"
        f"print(_json.dumps(run(_json.loads({json.dumps(json.dumps(spec))}))))\n"
    )
