"""Start-up in two parts: what must be in place before the server listens, and the
rest (the database, the stores, the handler modules) right after, on a thread.

Jupyter listens once every extension has loaded, so whatever an extension does
while loading delays the whole server. The part of ``OpenNotebookApp``'s start-up
that must hold before any request or kernel (configuration checks, the kernels'
environment firewall and tokens, the pre-save redaction hook, the routes) runs
while loading; the rest (``finish_start``: importing SQLAlchemy, pydantic and the
handler modules, opening and checking the database and the key, building the
stores) runs on a thread started ``start_delay`` seconds (1 by default) after the
server listens (``_start_jupyter_server_extension``), or by the first thing that
needs it, if that comes first. The delay keeps that thread off the CPU (and the GIL)
while the server answers its first requests: started at once, it made the first
answer of ``jupyter server`` 8-10 % later; a second later, 0.3 % (``make bench``).

Nothing fails or answers differently meanwhile: a request to our routes waits for
it (``http/deferred.py``), and so does any other reader of an attribute that
``finish_start`` sets (``__getattr__``). A configuration that turns out not to work
there (a database that cannot be opened, a key that cannot be read) stops the server
with one message and exit status 1, as it would have while loading.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from tornado.ioloop import IOLoop

from open_notebook_ext.errors import ConfigError

# What finish_start sets: reading one before it has run waits for it.
SET_LATER = frozenset(
    {
        "backend",
        "db",
        "key_material",
        "keyring",
        "credentials",
        "grants",
        "secret_access",
        "audit",
        "inline_reads",
        "executor",
        "uploads",
        "provider_proxy",
        "notebooks",
        "notes",
        "sources",
        "services",
    }
)


class StartLater:
    """Mixin for OpenNotebookApp: runs its ``finish_start`` once, off the loading path."""

    log: Any
    start_delay: float  # (config/storage.py)
    _later: threading.Thread | None = None
    _started: threading.Event | None = None
    _start_lock: threading.Lock | None = None
    _loop: IOLoop | None = None
    _then: list[Callable[[], Any]] | None = None

    def finish_start(self) -> None:  # pragma: no cover - OpenNotebookApp's
        raise NotImplementedError

    def prepare_start_later(self) -> None:
        """Called while loading (on the server's thread)."""
        self._started = threading.Event()
        self._start_lock = threading.Lock()
        self._then = []
        self._loop = IOLoop.current()

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        # Jupyter's hook once the loop runs (the server listens by then). The server's
        # first requests go first (start_delay); anything that needs us earlier calls
        # wait_started, which begins at once.
        if self.start_delay > 0:
            IOLoop.current().call_later(self.start_delay, self._begin)
        else:
            self._begin()

    def _begin(self) -> None:
        assert self._start_lock is not None
        with self._start_lock:
            if self._later is None:
                self._later = threading.Thread(
                    target=self._run, name="open-notebook-start", daemon=True
                )
                self._later.start()

    def _run(self) -> None:
        assert self._started is not None
        from open_notebook_ext.vault.keyring import KeyConfigError  # (the cryptography)

        try:
            self.finish_start()
        except (ConfigError, KeyConfigError) as e:
            self._stop(str(e))
            return
        except Exception:
            self.log.critical("open_notebook_ext cannot start", exc_info=True)
            self._stop(None)
            return
        finally:
            self._started.set()
        self._run_then()

    def when_started(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` on the server's loop once ``finish_start`` has run, starting
        it now if it has not begun: for code on the loop that needs the stores soon,
        without waiting for them there (a wait on the loop would stall the server)."""
        assert self._start_lock is not None and self._then is not None
        with self._start_lock:
            done = self._started is not None and self._started.is_set()
            if not done:
                self._then.append(callback)
        if done:
            assert self._loop is not None
            self._loop.add_callback(callback)
        else:
            self._begin()

    def _run_then(self) -> None:
        assert self._start_lock is not None and self._then is not None
        with self._start_lock:
            then, self._then = self._then, []
        if self._loop is not None:
            for callback in then:
                self._loop.add_callback(callback)

    def _stop(self, message: str | None) -> None:
        """Stop the server with exit status 1, as a failure while loading does."""
        if message is not None:
            self.log.critical("open_notebook_ext cannot start: %s", message)
        if self._loop is not None:
            self._loop.add_callback(sys.exit, 1)  # SystemExit leaves the server's loop

    def wait_started(self) -> None:
        """Return once ``finish_start`` has run (starting it if nothing has yet)."""
        started = self._started
        if started is None or started.is_set():
            return
        if threading.current_thread() is self._later:
            return  # finish_start itself, reading what it has not set yet
        self._begin()
        started.wait()

    def __getattr__(self, name: str) -> Any:
        # only called for attributes not set (yet): those of finish_start wait for it
        if name in SET_LATER and self.__dict__.get("_started") is not None:
            self.wait_started()
            if name in self.__dict__:
                return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
