"""The floor of any Tornado-served proxy: a bare ``RequestHandler`` that forwards a call
with the extension's own upstream code (``proxy/forward.py``, its kept-alive pool) and
nothing else — no Jupyter, no authentication, no grant, no budget, no usage.

``bench_proxy`` times it in the same loop as the real proxy: what the real proxy adds
above this figure is the extension's own work; this figure itself is Tornado's server
and our HTTP/1.1 client on this machine.

Run as ``python bench/proxy_floor.py PORT UPSTREAM_BASE KEY``.
"""

from __future__ import annotations

import sys

from tornado import httputil, ioloop, web

from open_notebook_ext.proxy.forward import Upstream, request_headers, response_headers
from open_notebook_ext.proxy.pool import ConnectionPool
from open_notebook_ext.security import netguard


def make_app(upstream_base: str, key: str) -> web.Application:
    pool = ConnectionPool(30.0)

    class Forward(web.RequestHandler):
        async def post(self, path: str) -> None:
            target = netguard.check_url(f"{upstream_base}/{path}", allow_private=True)
            headers = request_headers(
                self.request.headers, "Authorization", f"Bearer {key}", "floor", keep_alive=True
            )

            def on_headers(status: int, reason: str, upstream: httputil.HTTPHeaders) -> None:
                self.set_status(status)
                for name, value in response_headers(upstream):
                    self.add_header(name, value)

            async def on_chunk(chunk: bytes) -> None:
                self.write(chunk)
                await self.flush()

            call = Upstream(target, connect_timeout=10, timeout=60, pool=pool)
            await call.send("POST", f"/v1/{path}", headers, self.request.body, on_headers, on_chunk)
            self.finish()

    return web.Application([(r"/v1/(.*)", Forward)])


if __name__ == "__main__":
    port, base, api_key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    make_app(base, api_key).listen(port, "127.0.0.1")
    ioloop.IOLoop.current().start()
