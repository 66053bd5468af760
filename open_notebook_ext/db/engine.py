"""Engine, sessions and schema for one database URL (SQLite file or PostgreSQL).

One transaction per unit of work: :meth:`Database.session` commits when the
block ends and rolls everything back if it raises, so a failed request leaves
nothing half-written.

SQLite: WAL journal, ``busy_timeout``, foreign keys on, ``synchronous=FULL``;
writers start with ``BEGIN IMMEDIATE`` so they queue instead of failing.
PostgreSQL (``postgresql+psycopg://``, psycopg 3): a connection pool whose
connections are checked before use after a second idle (a restarted database is
reconnected to), READ COMMITTED transactions, a single statement without
BEGIN/COMMIT; writes that read before they decide lock the rows they depend
on (see the stores). The URL's password is never logged: :func:`safe_url`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import column, create_engine, event, select, table, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from open_notebook_ext.db.orm import Meta

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "on_alembic_version"
# The newest migration in migrations/versions (tests/store/test_migrations.py checks it).
HEAD_REVISION = "0008"
_VERSIONS = table(VERSION_TABLE, column("version_num"))
# Any constant works; it names our migration lock among other PostgreSQL users.
_PG_MIGRATION_LOCK = 0x6F6E5F6D6967  # "on_mig"

log = logging.getLogger(__name__)


# Defaults for PostgreSQL connections; the URL's query string may override them.
PING_IF_IDLE_SECONDS = 1.0  # a pooled PostgreSQL connection idle longer is checked first
_PG_CONNECT_DEFAULTS = {"connect_timeout": 10, "application_name": "open_notebook"}


def safe_url(url: str | URL) -> str:
    """The URL for logs and messages: the password replaced with ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparsable database URL)"


def scrub(message: str, url: str | URL) -> str:
    """``message`` without the URL's password (a driver may quote what it was given)."""
    secrets = [str(url)]
    try:
        password = make_url(url).password
    except Exception:
        password = None
    if password:
        secrets.append(str(password))
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            message = message.replace(secret, "***")
    return message


def locked(query: Any, lock: str | None) -> Any:
    """``query`` with a row lock on PostgreSQL (SQLite's writers are serialised anyway).

    ``update``: the row will be deleted; ``no_key_update``: it will be updated (this
    does not block foreign key checks on it); ``key_share``: the row must go on
    existing (what a foreign key check takes; it does not block updates).
    """
    if lock == "update":
        return query.with_for_update()
    if lock == "no_key_update":
        return query.with_for_update(key_share=True)
    if lock == "key_share":
        return query.with_for_update(read=True, key_share=True)
    return query


def sqlite_path(url: URL) -> Path | None:
    """The file behind a SQLite URL, or None for other backends and in-memory DBs."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database).expanduser().resolve()


def prepare_private_file(path: Path) -> None:
    """Create the DB file 0600 (its directory 0700 when we create it) before SQLite opens it.

    SQLite creates its -wal and -shm files with the database file's mode, so
    they inherit 0600 too.
    """
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(0o600)
        log.warning("Tightened permissions of %s from %o to 600", path, mode)


class Database:
    """Owns the engine and hands out transactional sessions."""

    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        self.url = make_url(url)
        self.backend = self.url.get_backend_name()
        self.path = sqlite_path(self.url)
        if self.path is not None:
            prepare_private_file(self.path)
        kwargs: dict[str, Any] = {"hide_parameters": True}
        if self.backend != "sqlite":
            kwargs.update(pool_size=pool_size, max_overflow=pool_size)
        if self.backend == "postgresql":
            kwargs["connect_args"] = {
                k: v for k, v in _PG_CONNECT_DEFAULTS.items() if k not in self.url.query
            }
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.backend == "sqlite":
            self._install_sqlite_hooks(self.engine)
            writer: Engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
            self._single: Engine = self.engine.execution_options(sqlite_begin="NONE")
        else:
            self._install_idle_ping(self.engine)
            writer = self.engine
            # One statement is atomic, and reads one snapshot, by itself: no BEGIN and
            # COMMIT round trips around it (two of a small read's four).
            self._single = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._batch: Engine = writer
        self._sql_cache: dict[int, tuple[Any, Any]] = {}
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(writer, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"Database({safe_url(self.url)!r})"

    @staticmethod
    def _install_idle_ping(engine: Engine) -> None:
        """Check a pooled connection before use when it has been idle for more than
        ``PING_IF_IDLE_SECONDS`` (a restarted database, a dropped connection): the pool
        then connects afresh. SQLAlchemy's ``pool_pre_ping`` pings before every use, a
        round trip that is a third of a small read; a connection in steady use goes
        without. One that died within that second fails its next statement; a
        single-statement read is then retried once (:meth:`Database.fetch_all`)."""

        @event.listens_for(engine, "connect")
        def _on_connect(_dbapi_connection: Any, record: Any) -> None:
            record.info["on_used"] = time.monotonic()

        @event.listens_for(engine, "checkin")
        def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
            if record is not None:
                record.info["on_used"] = time.monotonic()

        @event.listens_for(engine, "checkout")
        def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
            if time.monotonic() - record.info.get("on_used", 0.0) <= PING_IF_IDLE_SECONDS:
                return
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as e:
                # the pool drops this connection and checks out a new one
                raise DisconnectionError(type(e).__name__) from None

    @staticmethod
    def _install_sqlite_hooks(engine: Engine) -> None:
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let us issue BEGIN ourselves (pysqlite's own transaction handling
            # would defer it and then fail lock upgrades under concurrency).
            dbapi_connection.isolation_level = None
            cur = dbapi_connection.cursor()
            # busy_timeout first: switching a new file to WAL takes an exclusive lock,
            # and servers starting together must wait for it, not fail.
            cur.execute("PRAGMA busy_timeout=10000")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            # Writers take the write lock up front (BEGIN IMMEDIATE) so they queue
            # on busy_timeout instead of failing with SQLITE_BUSY mid-transaction.
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            if mode != "NONE":  # NONE: one statement, atomic on its own (see `connect`)
                conn.exec_driver_sql(f"BEGIN {mode}")

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error."""
        factory = self._writer if write else self._reader
        with factory() as session, session.begin():
            yield session

    @contextmanager
    def connect(self, *, single_statement: bool = False) -> Iterator[Any]:
        """A Core connection in a read transaction (cheaper than an ORM session).

        ``single_statement``: the caller runs one SELECT, which reads one snapshot by
        itself; no BEGIN/COMMIT round (on SQLite a tenth of a small read; on
        PostgreSQL, autocommit, two of its round trips).
        """
        engine = self._single if single_statement else self.engine
        with engine.connect() as conn, conn.begin():
            yield conn

    def execute_one(
        self, statement: Any, params: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> None:
        """One write statement (an INSERT of one row, or of several: a list of
        parameter sets), atomic and committed at once, without an ORM session (a third
        of a small insert's time). One row: on SQLite without the BEGIN/COMMIT round of
        a transaction (the statement is atomic by itself). Several: one transaction
        (BEGIN IMMEDIATE on SQLite), all rows or none, one commit: the driver runs
        each parameter set as a statement of its own, and outside a transaction each
        would be committed (and synced) by itself."""
        engine = self._batch if isinstance(params, list) else self._single
        with engine.connect() as conn, conn.begin():
            conn.execute(statement, params or {})

    def fetch_all(self, statement: Any, params: dict[str, Any] | None = None) -> list[Any]:
        """Rows (sequences, in the statement's column order) of one SELECT.

        On SQLite the statement is compiled once (per statement object: build it
        once, at import) and run on the driver's own connection: for a small read,
        SQLAlchemy's per-execution work costs ten times the query itself, and these
        reads run on the event loop. Values come back as the driver gives them
        (SQLite: datetimes and JSON as text). Driver errors are raised as
        SQLAlchemy's, like those of every other database call.
        """
        if self.backend != "sqlite":
            try:
                with self.connect(single_statement=True) as conn:
                    return conn.execute(statement, params or {}).all()
            except DBAPIError as e:
                if not e.connection_invalidated:
                    raise
            # a connection that died since its last use (the pool has dropped every
            # connection made before it): once more, on a new one
            with self.connect(single_statement=True) as conn:
                return conn.execute(statement, params or {}).all()
        sql, names, bound = self._compiled(statement)
        values = {**bound, **(params or {})}
        args = tuple(values[n] for n in names)
        conn = self.engine.raw_connection()
        try:
            driver = conn.driver_connection
            assert driver is not None  # a pooled connection, checked out: it is open
            return driver.execute(sql, args).fetchall()
        except sqlite3.Error as e:
            # as the engine (hide_parameters): no bound value in a message or a log
            raise DBAPIError.instance(sql, args, e, sqlite3.Error, hide_parameters=True) from e
        finally:
            conn.close()

    def _compiled(self, statement: Any) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        found = self._sql_cache.get(id(statement))
        if found is not None and found[0] is statement:
            return found[1]
        compiled = statement.compile(dialect=self.engine.dialect)
        result = (str(compiled), tuple(compiled.positiontup or ()), dict(compiled.params))
        if len(self._sql_cache) < 64:  # holds the statement: its id stays unique
            self._sql_cache[id(statement)] = (statement, result)
        return result

    def at_head(self) -> bool:
        """Whether the schema is already the latest: one SELECT, without loading Alembic."""
        try:
            with self.connect(single_statement=True) as conn:
                versions = conn.execute(select(_VERSIONS.c.version_num)).all()
        except DBAPIError:  # no version table yet (or no database: upgrade says so)
            return False
        return [v for (v,) in versions] == [HEAD_REVISION]

    def upgrade(self) -> None:
        """Bring the schema to the latest migration (safe with several servers starting).

        A database already at the latest revision costs one query: Alembic (a tenth
        of the extension's start-up) is loaded only when there is something to do.
        """
        if self.at_head():
            return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        with writer.begin() as conn:
            if self.backend == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return ctx.get_current_revision()

    # -- small key/value facts ------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self.session() as s:
            return s.scalar(select(Meta.value).where(Meta.key == key))

    def get_or_create_meta(self, key: str, make: Any) -> str:
        """Read ``key``; if absent, store ``make()`` (first writer wins)."""
        try:
            with self.session(write=True) as s:
                value = s.scalar(select(Meta.value).where(Meta.key == key))
                if value is None:
                    value = make()
                    s.add(Meta(key=key, value=value))
                return value
        except IntegrityError:
            # Another server inserted it between our read and our write.
            value = self.get_meta(key)
            if value is None:
                raise
            return value

    def dispose(self) -> None:
        self.engine.dispose()
