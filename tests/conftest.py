"""Shared fixtures and the rules of the test tree.

The tree (see CONTRIBUTING.md): ``support/`` holds helpers, the test folders say
what a test needs, and the markers follow from the folder, so ``-m`` selections
are true:

* ``unit/`` no server, no database; ``store/`` the stores on a real database;
  ``api/`` the in-process Jupyter server (pytest-jupyter). These three run in this
  process only: a test there that starts a process fails (``_processes_only_where_
  marked``). ``make test-fast`` runs them on SQLite.
* ``integration/`` real ``jupyter server`` processes, kernels, the CLI (marker
  ``subprocess``); ``e2e/`` Chromium driving ``jupyter lab`` (``subprocess``,
  ``browser``); ``deploy/`` nginx, compose, the production configuration
  (``subprocess``, ``deploy``); ``packaging/`` wheels and their install
  (``subprocess``, ``packaging``).

pytest-jupyter's default base_url ``/a%40b/`` is kept on purpose: every route
must work under a non-root base_url.

Every test that runs the in-process server runs twice, against SQLite (the
default file in the data directory) and against PostgreSQL (a cluster this
session starts, see ``support/pg.py``), unless its module or class is marked
``sqlite_only`` (tests about HTTP, origins and files where the database plays no
part). The PostgreSQL half, and every test that uses the cluster, is marked
``postgresql`` (``-m "not postgresql"`` leaves it out). PostgreSQL tests share one
migrated database, emptied before each test. Without PostgreSQL's server binaries
the PostgreSQL half is skipped, saying why.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from open_notebook_ext.db.engine import Database
from open_notebook_ext.db.orm import Base
from support.api import ApiClient, LogCapture
from support.pg import PostgresCluster, find_bindir
from support.servers import ServerProcess

BACKENDS = ("sqlite", "postgresql")
TESTS = Path(__file__).resolve().parent
# What each folder's tests need, as markers (applied in pytest_collection_modifyitems).
FOLDER_MARKERS: dict[str, tuple[str, ...]] = {
    "unit": (),
    "store": (),
    "api": (),
    "integration": ("subprocess",),
    "e2e": ("subprocess", "browser"),
    "deploy": ("subprocess", "deploy"),
    "packaging": ("subprocess", "packaging"),
}

# Processes a test may start without the subprocess marker: jupyter_server runs git
# and uname (platform.processor) when it builds its settings (jupyter_server/_sysinfo.py).
IN_PROCESS_TOOLS = frozenset({"git", "uname"})

# unpriv: users made with useradd and the world-readable venv (isolation tests);
# grants: the notebook_kernel fixture (api/test_grants.py, integration/test_grants_kernels.py)
pytest_plugins = ("pytest_jupyter.jupyter_server", "support.unpriv", "support.grants")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every in-process server test on both backends (see the module docstring)."""
    if "db_backend" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("sqlite_only") is not None:
        metafunc.parametrize("db_backend", ["sqlite"], indirect=True)
    else:
        postgresql = pytest.param("postgresql", marks=pytest.mark.postgresql)
        metafunc.parametrize("db_backend", ["sqlite", postgresql], indirect=True)


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(item.path).resolve().relative_to(TESTS).parts[0]
        if folder not in FOLDER_MARKERS:
            raise pytest.UsageError(f"{item.nodeid}: tests live in one of {list(FOLDER_MARKERS)}")
        for name in FOLDER_MARKERS[folder]:
            item.add_marker(name)
        callspec = getattr(item, "callspec", None)
        params = callspec.params.values() if callspec is not None else ()
        if "pg_cluster" in getattr(item, "fixturenames", ()) or "postgresql" in params:
            item.add_marker("postgresql")


@pytest.fixture(autouse=True)
def _processes_only_where_marked(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test not marked ``subprocess`` starts no process (PostgreSQL's own tools aside):
    that is what makes ``-m "not subprocess"`` and ``make test-fast`` mean what they say.
    Jupyter itself runs ``git`` once as it starts (the version info of its settings)."""
    node = request.node
    if node.get_closest_marker("subprocess") or node.get_closest_marker("postgresql"):
        return
    popen_init = subprocess.Popen.__init__

    def refuse(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        argv = [args] if isinstance(args, str | bytes) else list(args)
        if argv and Path(str(argv[0])).name in IN_PROCESS_TOOLS:
            popen_init(self, args, *rest, **kwargs)
            return
        raise AssertionError(
            f"{node.nodeid} starts a process ({args!r}) but lives in a folder whose tests "
            "run in-process: move it to integration/ (or e2e/, deploy/, packaging/)"
        )

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)


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
    # on_credential_changes keeps its one row (the list cache's version; a missing row
    # turns the cache off, and the tests would not exercise it on PostgreSQL)
    tables = ", ".join(
        t.name for t in Base.metadata.sorted_tables if t.name != "on_credential_changes"
    )
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '60s'"))
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database at the latest schema, built once (copied for each server)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "open_notebook.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()
    return path


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
        # A copy of a database the migrations built once this session, where the server
        # looks by default: a fresh server then finds the schema current (Alembic
        # upgrading a new file is about half of an in-process test's set-up).
        data_dir = Path(request.getfixturevalue("jp_data_dir")) / "open_notebook"
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        copy = data_dir / "open_notebook.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), copy)
        copy.chmod(0o600)
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
def jp_nbconvert_templates() -> None:
    """pytest-jupyter copies nbconvert's templates into each test's data directory
    (about a tenth of a test's set-up); nothing here converts notebooks."""
    return None


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


@pytest.fixture
def api(jp_serverapp: Any, http_server_client: Any, jp_base_url: str) -> ApiClient:
    return ApiClient(http_server_client, jp_base_url, jp_serverapp.identity_provider.token)


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
