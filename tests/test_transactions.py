"""A failure in the middle of a request, after its rows were written and before the
commit, leaves nothing: every table as it was, no file, a JSON 500.

Two ways to fail: a store step that raises right after ``flush()`` (the rows are
in the database, inside the transaction), and a hook on every write session
that flushes everything and then raises just before ``COMMIT``. Runs on SQLite
and PostgreSQL (conftest parametrizes the server).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from content_helpers import multipart
from dbtools import rows
from helpers import random_api_key
from open_notebook_ext.store import notes as notes_module
from open_notebook_ext.store.orm import Base

TABLES = [t.name for t in Base.metadata.sorted_tables]


def snapshot(ext: Any) -> dict[str, list[tuple]]:
    return {t: sorted(map(repr, rows(ext, f"SELECT * FROM {t}"))) for t in TABLES}  # noqa: S608


def uploads(ext: Any) -> list[str]:
    return sorted(p.name for p in Path(ext.uploads.path).iterdir())


class Injected(RuntimeError):
    """The failure we inject."""


@pytest.fixture
def fail_before_commit():
    """While on, every session that wrote something flushes and then fails before COMMIT."""
    state = {"on": False, "fired": 0}

    def wrote(session: Session, *_: Any) -> None:
        session.info["wrote"] = True

    def on_execute(ctx: Any) -> None:
        if ctx.is_insert or ctx.is_update or ctx.is_delete:
            ctx.session.info["wrote"] = True

    def before_commit(session: Session) -> None:
        session.flush()
        if state["on"] and session.info.pop("wrote", False):
            state["fired"] += 1
            raise Injected("injected failure before COMMIT")

    listeners = [
        (Session, "after_flush", wrote),
        (Session, "do_orm_execute", on_execute),
        (Session, "before_commit", before_commit),
    ]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    yield state
    for target, name, fn in listeners:
        event.remove(target, name, fn)


async def seed(api, root: Path) -> dict[str, Any]:
    """One of everything, linked together, to be changed by the requests below."""
    for name in ("x.ipynb", "y.ipynb"):  # grants are given to notebook files that exist
        (root / name).write_text('{"cells": []}')
    cred = await api.create_credential(name="seeded")
    nb = (await api.post("notebooks", {"name": "Seeded"})).json
    other = (await api.post("notebooks", {"name": "Other"})).json
    note = (await api.post("notes", {"content": "seeded", "notebook_id": nb["id"]})).json
    src = (
        await api.post(
            "sources/json", {"type": "text", "content": "seeded text", "notebooks": [nb["id"]]}
        )
    ).json
    body, ctype = multipart(
        {"type": "upload", "notebooks": json.dumps([nb["id"]])},
        ("seeded.txt", "text/plain", b"hello"),
    )
    upload = await api.post("sources", raw=body, headers={"Content-Type": ctype})
    assert upload.status == 200, upload
    grant = await api.put("grants", {"credential_id": cred["id"], "notebook_path": "x.ipynb"})
    assert grant.status == 201
    return {
        "cred": cred["id"],
        "nb": nb["id"],
        "other": other["id"],
        "note": note["id"],
        "src": src["id"],
        "upload": upload.json["id"],
        "grant": grant.json["id"],
    }


def requests(ids: dict[str, Any]) -> list[tuple[str, str, Any, dict[str, str] | None]]:
    body, ctype = multipart(
        {"type": "upload", "notebooks": json.dumps([ids["nb"]])},
        ("new.txt", "text/plain", b"new file"),
    )
    return [
        (
            "POST",
            "credentials",
            {"name": "new", "provider": "openai", "api_key": random_api_key()},
            None,
        ),
        (
            "PUT",
            f"credentials/{ids['cred']}",
            {"name": "renamed", "api_key": random_api_key()},
            None,
        ),
        ("DELETE", f"credentials/{ids['cred']}", None, None),
        ("PUT", "grants", {"credential_id": ids["cred"], "notebook_path": "y.ipynb"}, None),
        ("DELETE", f"grants/{ids['grant']}", None, None),
        ("POST", "notebooks", {"name": "new"}, None),
        ("PUT", f"notebooks/{ids['nb']}", {"name": "renamed", "archived": True}, None),
        ("DELETE", f"notebooks/{ids['nb']}?delete_exclusive_sources=true", None, None),
        ("POST", f"notebooks/{ids['other']}/sources/{ids['src']}", None, None),
        ("DELETE", f"notebooks/{ids['nb']}/sources/{ids['src']}", None, None),
        ("POST", "notes", {"content": "new", "notebook_id": ids["nb"]}, None),
        ("PUT", f"notes/{ids['note']}", {"content": "changed"}, None),
        ("DELETE", f"notes/{ids['note']}", None, None),
        (
            "POST",
            "sources/json",
            {"type": "text", "content": "new", "notebooks": [ids["nb"], ids["other"]]},
            None,
        ),
        ("POST", "sources", body, {"Content-Type": ctype}),
        ("PUT", f"sources/{ids['src']}", {"title": "renamed", "topics": ["a"]}, None),
        ("DELETE", f"sources/{ids['upload']}", None, None),
    ]


async def test_failure_before_commit_leaves_nothing(
    api, ext, logs, fail_before_commit, jp_root_dir
):
    ids = await seed(api, jp_root_dir)
    before, files = snapshot(ext), uploads(ext)
    assert len(files) == 1
    fail_before_commit["on"] = True
    for method, path, body, headers in requests(ids):
        fired = fail_before_commit["fired"]
        raw = body if isinstance(body, bytes) else None
        r = await api.request(method, path, None if raw else body, raw=raw, headers=headers)
        assert r.status == 500, (method, path, r)
        assert r.json == {"detail": "Internal server error"}
        assert fail_before_commit["fired"] == fired + 1, (method, path)
        assert snapshot(ext) == before, (method, path)
        assert uploads(ext) == files, (method, path)
    assert logs.text.count("Injected: injected failure before COMMIT") == len(requests(ids))
    fail_before_commit["on"] = False
    # and nothing was left locked or half-done: the same requests now succeed
    for method, path, body, headers in requests(ids)[:2]:
        r = await api.request(method, path, body, headers=headers)
        assert r.status in (200, 201), (method, path, r)


async def test_store_step_failing_after_flush_leaves_nothing(api, ext, monkeypatch):
    nb = (await api.post("notebooks", {"name": "N"})).json
    before = snapshot(ext)

    def boom(row: Any) -> dict:
        raise Injected("after the row was flushed")

    monkeypatch.setattr(notes_module, "to_json", boom)  # runs after s.flush() in create/update
    r = await api.post("notes", {"content": "lost", "notebook_id": nb["id"]})
    assert r.status == 500 and r.json == {"detail": "Internal server error"}
    assert snapshot(ext) == before
    monkeypatch.undo()
    r = await api.post("notes", {"content": "kept", "notebook_id": nb["id"]})
    assert r.status == 200
    assert rows(ext, "SELECT content FROM on_notes") == [("kept",)]
