"""A real ipykernel kernel started through a server and driven with jupyter_client."""

from __future__ import annotations

import time
from pathlib import Path

from .servers import ServerProcess


class Kernel:
    """A kernel started through the server, driven with jupyter_client: for a notebook
    session when ``path`` is given (grants apply to it), else a bare kernel."""

    def __init__(self, server: ServerProcess, path: str | None = None) -> None:
        from jupyter_client import BlockingKernelClient

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
        conn = Path(server.env["JUPYTER_RUNTIME_DIR"]) / f"kernel-{self.id}.json"
        deadline = time.monotonic() + 30
        while not conn.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.client = BlockingKernelClient(connection_file=str(conn))
        self.client.load_connection_file()
        self.client.start_channels()
        # jupyter_client calls a kernel dead after 1 s without a heartbeat, which a
        # kernel still importing on a loaded machine can take
        self.client.hb_channel.time_to_dead = 10.0
        self.client.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 60) -> str:
        """Execute code; return its stdout (raises if the cell raised)."""
        out: list[str] = []
        error: list[str] = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                error.append(msg["content"]["ename"] + ": " + msg["content"]["evalue"])

        self.client.execute_interactive(code, output_hook=hook, timeout=timeout)
        if error:
            raise AssertionError("\n".join(error))
        return "".join(out)

    def shutdown(self) -> None:
        self.client.stop_channels()
        if self.session_id is not None:
            r = self.server.request("DELETE", f"api/sessions/{self.session_id}")
        else:
            r = self.server.request("DELETE", f"api/kernels/{self.id}")
        assert r.status == 204, r.text
