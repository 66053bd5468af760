"""Requests that arrive while the second half of start-up (startlater.py: database,
key, stores, handler modules) is still running wait for it and get their right
answers, never an error."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from open_notebook_ext.db import bootstrap
from open_notebook_ext.http import deferred
from open_notebook_ext.http.routes import TARGETS, resolve
from support.leaks import random_api_key

OPEN_TAKES = 0.6  # seconds the database takes to open, in these tests


@pytest.fixture
def slow_open(monkeypatch):
    """Opening the database takes OPEN_TAKES seconds (a slow disk, a far PostgreSQL);
    patched before the server starts (listed before ``jp_serverapp``)."""
    real = bootstrap.open_backend
    seen: dict[str, float] = {}

    def open_backend(**kwargs):
        seen["began"] = time.monotonic()
        time.sleep(OPEN_TAKES)
        backend = real(**kwargs)
        seen["done"] = time.monotonic()
        return backend

    monkeypatch.setattr(bootstrap, "open_backend", open_backend)
    return seen


async def test_requests_during_start_up_wait_for_it(slow_open, jp_serverapp, api):
    ext = jp_serverapp.extension_manager.extension_points["open_notebook"].app
    assert not ext._started.is_set()  # start-up's second half has not finished
    key = random_api_key()
    sent = time.monotonic()
    created, listed, status = await asyncio.gather(
        api.post("credentials", {"name": "early", "provider": "openai", "api_key": key}),
        api.get("credentials"),
        api.get("credentials/status"),
    )
    assert sent < slow_open["done"]  # sent before the database was open
    assert created.status == 201, created
    assert created.json["name"] == "early" and created.json["has_api_key"] is True
    assert listed.status == 200, listed
    assert listed.json in ([], [created.json])  # before or after the POST, never an error
    assert status.status == 200, status
    assert status.json["encryption_configured"] is True
    assert (await api.get("credentials")).json == [created.json]
    for reply in (created, listed, status):
        assert key not in reply.text


def test_every_route_streams_its_body_as_the_stand_in_does():
    """Tornado decides how to read a body from the registered class (the stand-in)."""
    assert getattr(deferred.DeferredHandler, "_stream_request_body", False)
    for pattern, target in TARGETS:
        assert getattr(resolve(target), "_stream_request_body", False), pattern


def test_the_start_thread_runs_once(slow_open, jp_serverapp):
    ext = jp_serverapp.extension_manager.extension_points["open_notebook"].app
    threads = [threading.Thread(target=lambda: ext.credentials) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len([t for t in threading.enumerate() if t.name == "open-notebook-start"]) <= 1
    assert ext.credentials is ext.backend.credentials


@pytest.mark.parametrize("extension_config", [{"start_delay": 60.0}])
async def test_a_request_starts_it_before_the_delay(jp_serverapp, api, extension_config):
    """The second half waits start_delay after the server listens, unless something
    needs it first: a request to our routes starts it at once and gets its answer."""
    ext = jp_serverapp.extension_manager.extension_points["open_notebook"].app
    # what Jupyter does once its loop runs (pytest-jupyter's server does not)
    await jp_serverapp.extension_manager.start_all_extensions()
    await asyncio.sleep(0.3)
    assert ext._later is None  # nothing has begun: the delay holds it back
    sent = time.monotonic()
    reply = await api.get("credentials/status")
    assert reply.status == 200, reply
    assert reply.json["encryption_configured"] is True
    assert time.monotonic() - sent < 30  # not the 60 s delay
    assert ext._later is not None and ext._started.is_set()


@pytest.mark.parametrize("extension_config", [{"start_delay": 0.2}])
async def test_it_starts_by_itself_after_the_delay(jp_serverapp, extension_config):
    ext = jp_serverapp.extension_manager.extension_points["open_notebook"].app
    await jp_serverapp.extension_manager.start_all_extensions()
    assert not ext._started.is_set()  # not at once
    deadline = time.monotonic() + 20
    while not ext._started.is_set() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # (the loop must run for the delayed call)
    assert ext._started.is_set(), "the second half of start-up never began"
    assert "backend" in ext.__dict__  # finish_start ran: the database is open


@pytest.mark.parametrize("value", [-1, 3601])
def test_start_delay_is_bounded(value):
    from traitlets import TraitError

    from open_notebook_ext.app import OpenNotebookApp

    with pytest.raises(TraitError, match="start_delay"):
        OpenNotebookApp(start_delay=value)


async def test_when_started_runs_on_the_loop_without_stalling_it(slow_open, jp_serverapp):
    """when_started (jupyter-ai's bridge uses it) begins the second half at once and runs
    its callback on the loop after it, instead of waiting for it on the loop."""
    ext = jp_serverapp.extension_manager.extension_points["open_notebook"].app
    loop_thread = threading.current_thread()
    ran: list[object] = []
    ext.when_started(lambda: ran.append((threading.current_thread(), "backend" in ext.__dict__)))
    paused = time.monotonic()
    await asyncio.sleep(0.05)
    assert time.monotonic() - paused < OPEN_TAKES  # the loop kept running meanwhile
    assert ran == [] and ext._later is not None  # begun, not done yet
    deadline = time.monotonic() + 20
    while not ran and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert ran == [(loop_thread, True)]  # on the loop, with the stores in place
    ext.when_started(lambda: ran.append("again"))  # once started: on the next turn
    await asyncio.sleep(0.1)
    assert ran[-1] == "again"
