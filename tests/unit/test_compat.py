"""``open_notebook_ext.http.compat``: what each private upstream attribute means, pinned.

Each test drives the real upstream object (a Tornado server in this process, on
127.0.0.1; Jupyter's contents manager, identity provider and provisioner factory) and
fails if the attribute is gone or no longer means what compat.py says. The last test
checks that nothing else in the package touches these attributes.
"""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import Any

import pytest
from tornado import httpclient, web
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

import open_notebook_ext
from open_notebook_ext.http import compat

# Every private upstream attribute name the package uses (compat.py's functions).
PRIVATE_UPSTREAM = {
    "_headers",
    "_headers_written",
    "_finished",
    "_prepared_future",
    "_body_future",
    "_orig_remote_ip",
    "_orig_protocol",
    "_jupyter_current_user",
    "__allow_unauthenticated",
    "_track_activity",
    "_get_os_path",
    "_token_default",
    "_check_availability",
    "_finalize_env",
    "_stream_request_body",
}


def test_streams_body_reads_tornados_mark() -> None:
    @web.stream_request_body
    class Streaming(web.RequestHandler):
        pass

    class Buffered(web.RequestHandler):
        pass

    assert compat.streams_body(Streaming) is True
    assert compat.streams_body(Buffered) is False


PACKAGE = Path(open_notebook_ext.__file__).resolve().parent


async def serve(handlers: list[Any], **server_options: Any) -> tuple[HTTPServer, str]:
    sock, port = bind_unused_port()
    server = HTTPServer(web.Application(handlers), **server_options)
    server.add_sockets([sock])
    return server, f"http://127.0.0.1:{port}"


async def fetch(url: str, **kwargs: Any) -> httpclient.HTTPResponse:
    http = httpclient.AsyncHTTPClient(force_instance=True)
    try:
        return await http.fetch(url, **kwargs)
    finally:
        http.close()


# -- Tornado: the response -------------------------------------------------------


async def test_headers_written_finished_and_header_names():
    seen: dict[str, Any] = {}

    class Probe(web.RequestHandler):
        async def get(self) -> None:
            self.set_header("X-Probe", "1")
            self.set_header("X-Gone", "1")
            self.clear_header("X-Gone")
            seen["names"] = compat.response_header_names(self)
            seen["before"] = (compat.headers_written(self), compat.finished(self))
            self.write("a")
            await self.flush()
            seen["flushed"] = (compat.headers_written(self), compat.finished(self))
            self.finish("b")
            seen["finished"] = compat.finished(self)

    server, base = await serve([("/", Probe)])
    try:
        response = await fetch(base + "/")
    finally:
        server.stop()
    assert response.body == b"ab"
    assert "X-Probe" in seen["names"] and "X-Gone" not in seen["names"]
    assert "Content-Type" in seen["names"]  # Tornado's default headers are there too
    assert seen["before"] == (False, False)
    assert seen["flushed"] == (True, False)
    assert seen["finished"] is True


async def test_finished_after_send_error():
    seen: dict[str, Any] = {}

    class Failing(web.RequestHandler):
        def get(self) -> None:
            self.send_error(418)
            seen["finished"] = compat.finished(self)

    server, base = await serve([("/", Failing)])
    try:
        response = await fetch(base + "/", raise_error=False)
    finally:
        server.stop()
    assert response.code == 418
    assert seen["finished"] is True


# -- Tornado: a streamed body ----------------------------------------------------


async def test_prepared_future_lets_the_body_be_read_inside_prepare():
    """What ``BodyMixin._drain_body`` relies on: resolving the prepared future in
    ``prepare()`` has Tornado read the body, the body future is done when it is in,
    and a forgotten prepared future is not resolved a second time."""
    seen: dict[str, Any] = {}

    @web.stream_request_body
    class Streamer(web.RequestHandler):
        def initialize(self) -> None:
            self.chunks: list[bytes] = []

        async def prepare(self) -> None:
            prepared = compat.prepared_future(self)
            body = compat.body_future(self.request)
            assert prepared is not None and body is not None
            seen["pending"] = (prepared.done(), body.done())
            prepared.set_result(None)
            await asyncio.wait_for(asyncio.shield(body), 5)
            seen["read_in_prepare"] = b"".join(self.chunks)
            compat.forget_prepared_future(self)

        def data_received(self, chunk: bytes) -> None:
            self.chunks.append(chunk)

        def post(self) -> None:
            seen["prepared_after"] = compat.prepared_future(self)
            self.finish("ok")

    server, base = await serve([("/", Streamer)])
    try:
        response = await fetch(base + "/", method="POST", body=b"x" * 5000)
    finally:
        server.stop()
    assert response.code == 200 and response.body == b"ok"
    assert seen["pending"] == (False, False)
    assert seen["read_in_prepare"] == b"x" * 5000
    assert seen["prepared_after"] is None


async def test_body_future_is_none_without_a_streamed_body():
    seen: dict[str, Any] = {}

    class Plain(web.RequestHandler):
        def get(self) -> None:
            body = compat.body_future(self.request)
            seen["done"] = body is None or body.done()
            seen["prepared"] = compat.prepared_future(self)
            self.finish()

    server, base = await serve([("/", Plain)])
    try:
        await fetch(base + "/")
    finally:
        server.stop()
    assert seen == {"done": True, "prepared": None}


# -- Tornado: the connection's own peer ------------------------------------------


async def test_original_peer_survives_xheaders():
    seen: dict[str, Any] = {}

    class Peer(web.RequestHandler):
        def get(self) -> None:
            seen["request"] = (self.request.remote_ip, self.request.protocol)
            seen["original"] = compat.original_peer(self.request.connection.context)  # type: ignore[union-attr]
            self.finish()

    server, base = await serve([("/", Peer)], xheaders=True)
    try:
        await fetch(base + "/", headers={"X-Real-Ip": "203.0.113.9", "X-Scheme": "https"})
    finally:
        server.stop()
    assert seen["request"] == ("203.0.113.9", "https")  # rewritten from the headers
    assert seen["original"] == ("127.0.0.1", "http")  # the connection's own
    assert compat.original_peer(object()) == (None, None)


# -- Jupyter Server ----------------------------------------------------------------


def test_allows_unauthenticated_reads_jupyters_marker():
    from jupyter_server.auth.decorator import allow_unauthenticated

    def plain(self: Any) -> None: ...

    @allow_unauthenticated
    def open_(self: Any) -> None: ...

    assert compat.allows_unauthenticated(open_) is True
    assert compat.allows_unauthenticated(plain) is False
    assert compat.allows_unauthenticated(None) is False


def test_os_path_of_the_file_contents_manager(tmp_path):
    from jupyter_server.services.contents.filemanager import FileContentsManager
    from tornado.web import HTTPError

    (tmp_path / "a").mkdir()
    manager = FileContentsManager(root_dir=str(tmp_path))
    assert compat.has_os_paths(manager) is True
    assert compat.os_path(manager, "a/b.ipynb") == str(tmp_path / "a" / "b.ipynb")
    with pytest.raises(HTTPError) as refused:
        compat.os_path(manager, "../outside.ipynb")
    assert refused.value.status_code == 404
    assert compat.has_os_paths(object()) is False


def test_jupyter_token_default_is_jupyters_own(monkeypatch, tmp_path):
    """The environment's token as is, a token file's content with its newline (which
    ``ConstantTimeIdentityProvider`` strips), else a generated token."""
    from jupyter_server.auth.identity import PasswordIdentityProvider

    class Provider(PasswordIdentityProvider):
        pass

    monkeypatch.delenv("JUPYTER_TOKEN_FILE", raising=False)
    monkeypatch.setenv("JUPYTER_TOKEN", "from-the-environment")
    assert compat.jupyter_token_default(Provider(), Provider) == "from-the-environment"
    monkeypatch.delenv("JUPYTER_TOKEN")
    token_file = tmp_path / "token"
    token_file.write_text("from-a-file\n")
    monkeypatch.setenv("JUPYTER_TOKEN_FILE", str(token_file))
    assert compat.jupyter_token_default(Provider(), Provider) == "from-a-file\n"
    monkeypatch.delenv("JUPYTER_TOKEN_FILE")
    provider = Provider()
    generated = compat.jupyter_token_default(provider, Provider)
    assert len(generated) >= 32 and provider.token_generated is True


def test_the_identity_provider_strips_the_token_files_newline(monkeypatch, tmp_path):
    """Our default for ``token`` replaces Jupyter's, and falls back to it (through compat)."""
    from open_notebook_ext.security.identity import ConstantTimeIdentityProvider

    monkeypatch.delenv("JUPYTER_TOKEN", raising=False)
    token_file = tmp_path / "token"
    token_file.write_text("f" * 40 + "\n")
    monkeypatch.setenv("JUPYTER_TOKEN_FILE", str(token_file))
    assert ConstantTimeIdentityProvider().token == "f" * 40
    monkeypatch.delenv("JUPYTER_TOKEN_FILE")
    provider = ConstantTimeIdentityProvider()
    assert len(provider.token) >= 32 and provider.token_generated


# -- jupyter_client ------------------------------------------------------------------


def test_provisioner_available():
    from jupyter_client.provisioning.factory import KernelProvisionerFactory

    from open_notebook_ext.kernels.provisioner import PROVISIONER_NAME

    factory = KernelProvisionerFactory.instance()
    assert compat.provisioner_available(factory, "local-provisioner") is True
    assert compat.provisioner_available(factory, PROVISIONER_NAME) is True  # our entry point
    assert compat.provisioner_available(factory, "no-such-provisioner") is False


# -- nowhere else --------------------------------------------------------------------


def private_uses(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, name) of every attribute access, ``getattr``/``hasattr``/``setattr`` name,
    method definition or class attribute named like a private upstream attribute."""
    found = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            name = node.value
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = node.name
        elif isinstance(node, ast.Name):
            name = node.id
        if name in PRIVATE_UPSTREAM:
            found.append((node.lineno, name))
    return found


def test_private_upstream_attributes_only_in_compat():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "compat.py" and path.parent.name == "http":
            continue
        for line, name in private_uses(ast.parse(path.read_text(encoding="utf-8"))):
            offenders.append(f"{path.relative_to(PACKAGE)}:{line}: {name}")
    assert offenders == []


def test_the_check_finds_each_way_of_touching_one():
    source = (
        "x = self._finished\n"
        "getattr(method, '__allow_unauthenticated', False)\n"
        "class H:\n    _track_activity = False\n"
        "    def _finalize_env(self, env): ...\n"
        "self._prepared_future = None\n"
        "y = self._own_attribute\n"
    )
    assert sorted(name for _, name in private_uses(ast.parse(source))) == sorted(
        [
            "_finished",
            "__allow_unauthenticated",
            "_track_activity",
            "_finalize_env",
            "_prepared_future",
        ]
    )
    # and compat.py itself uses every one of them but _finalize_env (gone: pre_launch)
    compat_source = (PACKAGE / "http" / "compat.py").read_text(encoding="utf-8")
    used = {name for _, name in private_uses(ast.parse(compat_source))}
    assert used == PRIVATE_UPSTREAM - {"_finalize_env"}
