"""A real ipykernel kernel started through a server and driven with jupyter_client."""

from __future__ import annotations

import time
from pathlib import Path

from .servers import ServerProcess


class Kernel:
    """A kernel started through the server, driven with jupyter_client: for a notebook
    session when ``path`` is given (grants apply to it), else a bare kernel."""

    def __init__(
        self, server: ServerProcess, path: str | None = None, kernel_name: str = "python3"
    ) -> None:
        self.server = server
        self.session_id: str | None = None
        if path is None:
            r = server.request("POST", "api/kernels", {"name": kernel_name})
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
                    "kernel": {"name": kernel_name},
                },
            )
            assert r.status == 201, r.text
            self.session_id = r.json["id"]
            self.id = r.json["kernel"]["id"]
        self._connect()

    @classmethod
    def attach(cls, server: ServerProcess, kernel_id: str, session_id: str | None) -> Kernel:
        """A kernel the test started itself (e.g. a console session)."""
        kernel = cls.__new__(cls)
        kernel.server, kernel.id, kernel.session_id = server, kernel_id, session_id
        kernel._connect()
        return kernel

    def _connect(self) -> None:
        from jupyter_client import BlockingKernelClient

        server = self.server
        conn = Path(server.env["JUPYTER_RUNTIME_DIR"]) / f"kernel-{self.id}.json"
        deadline = time.monotonic() + 30
        while not conn.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.client = BlockingKernelClient(connection_file=str(conn))
        self.client.load_connection_file()
        # jupyter_client calls a kernel dead after 1 s without a heartbeat, which a
        # kernel still importing on a loaded machine can take (set before the
        # heartbeat thread starts: its first wait uses the value it sees then)
        self.client.hb_channel.time_to_dead = 10.0
        self.client.start_channels()
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
