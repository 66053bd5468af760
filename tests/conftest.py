"""Shared fixtures: an in-process Jupyter server with the extension (pytest-jupyter),
a small JSON client for it, captured logs, subprocess servers, and PostgreSQL.

pytest-jupyter's default base_url ``/a%40b/`` is kept on purpose: every route
must work under a non-root base_url.

Every test that runs the in-process server runs twice, against SQLite (the
default file in the data directory) and against PostgreSQL (a cluster this
session starts, see ``tests/pg.py``), unless its module or class is marked
``sqlite_only`` (tests about HTTP, origins and files where the database plays no
part). PostgreSQL tests share one migrated database, emptied before each test.
Without PostgreSQL's server binaries the PostgreSQL half is skipped, saying why.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from tornado.httpclient import HTTPResponse

from helpers import API, ServerProcess, random_api_key
from open_notebook_ext.store.db import Database
from open_notebook_ext.store.orm import Base
from pg import PostgresCluster, find_bindir

BACKENDS = ("sqlite", "postgresql")

# unpriv: users made with useradd and the world-readable venv (isolation tests)
pytest_plugins = ("pytest_jupyter.jupyter_server", "unpriv")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every in-process server test on both backends (see the module docstring)."""
    if "db_backend" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("sqlite_only") is not None:
        metafunc.parametrize("db_backend", ["sqlite"], indirect=True)
    else:
        metafunc.parametrize("db_backend", BACKENDS, indirect=True)


_NO_POSTGRES = (
    "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb or "
    "initdb on PATH): install Debian's postgresql package (`make test` does)"
)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster for the whole session (skips the test when there is none)."""
    bindir = find_bindir()
    if bindir is None:
        pytest.skip(_NO_POSTGRES)
    cluster = PostgresCluster(bindir).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def pg_shared_url(pg_cluster: PostgresCluster) -> str:
    """One database at the latest schema, for the in-process server tests."""
    url = pg_cluster.create_database("on_api_tests")
    db = Database(url)
    db.upgrade()
    db.dispose()
    return url


def _empty(url: str) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '60s'"))
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture
def pg_url(pg_cluster: PostgresCluster) -> str:
    """A new, empty PostgreSQL database (no schema yet)."""
    return pg_cluster.create_database()


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    """sqlite | postgresql: the in-process server's database (parametrized, see above)."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def db_url(
    request: pytest.FixtureRequest, db_backend: str, monkeypatch: pytest.MonkeyPatch
) -> str | None:
    """The in-process server's database URL; None is SQLite's default file in data_dir.

    Given through OPEN_NOTEBOOK_DB_URL, so tests that bring their own server
    configuration get it too.
    """
    if db_backend == "sqlite":
        monkeypatch.delenv("OPEN_NOTEBOOK_DB_URL", raising=False)
        return None
    url = request.getfixturevalue("pg_shared_url")
    _empty(url)
    monkeypatch.setenv("OPEN_NOTEBOOK_DB_URL", url)
    return url


@pytest.fixture
def jp_argv(db_url: str | None) -> list[str]:
    """pytest-jupyter's server arguments; depending on db_url puts the database in place."""
    return []


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Any:
    """report(line): shown in the summary at the end of the run (counts from stress tests).

    Kept as a user property of the test, so it reaches the summary from xdist
    workers too (see pytest_runtest_logreport)."""
    return lambda line: request.node.user_properties.append(
        ("report", f"{request.node.name}: {line}")
    )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == "report":
            _REPORT_LINES.append(value)


_REPORT_LINES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lines = _REPORT_LINES
    if lines:
        terminalreporter.section("storm and crash counts")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def extension_config() -> dict[str, Any]:
    """Per-test overrides for OpenNotebookApp (override this fixture or update it)."""
    return {}


@pytest.fixture
def jp_server_config(extension_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"open_notebook_ext": True},
            # Test against a server that requires authentication everywhere.
            "allow_unauthenticated_access": False,
        },
        "OpenNotebookApp": dict(extension_config),
    }


@pytest.fixture
def ext(jp_serverapp: Any) -> Any:
    """The running OpenNotebookApp."""
    return jp_serverapp.extension_manager.extension_points["open_notebook"].app


class Reply:
    def __init__(self, response: HTTPResponse) -> None:
        self.status = response.code
        self.headers = response.headers
        self.text = response.body.decode("utf-8", "replace") if response.body else ""

    @property
    def json(self) -> Any:
        return json.loads(self.text)

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.text[:200]!r}>"


class ApiClient:
    """Calls our API on the in-process server; records every reply for leak checks."""

    def __init__(self, http_client: Any, base_url: str, token: str) -> None:
        self.http = http_client
        self.base_url = base_url
        self.token = token
        self.replies: list[Reply] = []

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        auth: str | None = "token",
        raw: bytes | str | None = None,
        prefix: str = API,
    ) -> Reply:
        h: dict[str, str] = {}
        if auth:
            h["Authorization"] = f"{auth} {self.token}"
        h.update(headers or {})
        data: bytes | str | None = raw
        if data is None and body is not None:
            data = json.dumps(body)
        if data is None and method in ("POST", "PUT", "PATCH"):
            data = b""
        if data is not None and "Content-Type" not in h:
            h["Content-Type"] = "application/json"
        url = f"{self.base_url}{prefix}/{path}" if path else f"{self.base_url}{prefix}"
        response = await self.http.fetch(
            url,
            method=method,
            body=data,
            headers=h,
            raise_error=False,
            allow_nonstandard_methods=True,
            follow_redirects=False,
            request_timeout=30,
        )
        reply = Reply(response)
        self.replies.append(reply)
        return reply

    async def get(self, path: str, **kw: Any) -> Reply:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return await self.request("POST", path, body, **kw)

    async def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return await self.request("PUT", path, body, **kw)

    async def delete(self, path: str, **kw: Any) -> Reply:
        return await self.request("DELETE", path, **kw)

    async def create_credential(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "main", "provider": "openai", "api_key": random_api_key(), **fields}
        r = await self.post("credentials", body)
        assert r.status == 201, r
        return r.json


@pytest.fixture
def api(jp_serverapp: Any, http_server_client: Any, jp_base_url: str) -> ApiClient:
    return ApiClient(http_server_client, jp_base_url, jp_serverapp.identity_provider.token)


class LogCapture:
    """Every record any logger handles, formatted with its traceback.

    Hooks ``Logger.handle`` itself: traitlets reconfigures the application
    loggers (replacing their handlers, turning propagation off) while the
    server starts, so a handler attached beforehand would miss records.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")

    def record(self, record: logging.LogRecord) -> None:
        self.lines.append(self.formatter.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> LogCapture:
    """Captured log output of the in-process server (all loggers, DEBUG and up)."""
    capture = LogCapture()
    original = logging.Logger.handle

    def handle(self: logging.Logger, record: logging.LogRecord) -> None:
        capture.record(record)
        original(self, record)

    monkeypatch.setattr(logging.Logger, "handle", handle)
    for name in ("", "ServerApp", "OpenNotebookApp", "tornado"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.DEBUG)
    return capture


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Any]:
    """Start real ``jupyter server`` processes; all are stopped after the test."""
    started: list[ServerProcess] = []

    def make(home: Path | None = None, **kwargs: Any) -> ServerProcess:
        server = ServerProcess(home or tmp_path / "home", **kwargs)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()
