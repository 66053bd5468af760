"""Notebooks and notes over HTTP against a real server and a real SQLite file."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from dbtools import count, rows, scalar


async def notebook(api, name: str = "Research", **fields) -> dict:
    r = await api.post("notebooks", {"name": name, **fields})
    assert r.status == 200, r
    return r.json


async def text_source(api, title: str, notebooks: list[str], content: str = "some text") -> dict:
    r = await api.post(
        "sources", {"type": "text", "title": title, "content": content, "notebooks": notebooks}
    )
    assert r.status == 200, r
    return r.json


# -- notebooks -----------------------------------------------------------------------


async def test_notebook_crud_round_trip(api, logs):
    r = await api.post("notebooks", {"name": "  Research  ", "description": "About quokkas"})
    assert r.status == 200, r  # Open Notebook answers 200, not 201
    nb = r.json
    assert nb["id"].startswith("notebook:")
    assert nb["name"] == "Research"
    assert nb["description"] == "About quokkas"
    assert nb["archived"] is False
    assert nb["source_count"] == 0 and nb["note_count"] == 0
    assert nb["created"] == nb["updated"]

    assert (await api.get(f"notebooks/{nb['id']}")).json == nb
    assert (await api.get("notebooks")).json == [nb]

    r = await api.put(f"notebooks/{nb['id']}", {"archived": True})
    assert r.status == 200
    assert r.json["archived"] is True and r.json["name"] == "Research"
    assert r.json["description"] == "About quokkas"  # left out: unchanged
    assert r.json["updated"] > nb["updated"]
    r = await api.put(f"notebooks/{nb['id']}", {"name": "Renamed", "description": None})
    assert r.json["name"] == "Renamed" and r.json["description"] == "About quokkas"

    r = await api.delete(f"notebooks/{nb['id']}")
    assert r.status == 200
    assert r.json == {
        "message": "Notebook deleted successfully",
        "deleted_notes": 0,
        "deleted_sources": 0,
        "unlinked_sources": 0,
        "deleted_chat_sessions": 0,
    }
    r = await api.get(f"notebooks/{nb['id']}")
    assert r.status == 404 and r.json == {"detail": "Notebook not found"}
    assert f"Created notebook {nb['id']}" in logs.text
    assert "quokkas" not in logs.text  # no content in the log


async def test_list_archived_filter_and_order(api):
    a = await notebook(api, "beta")
    b = await notebook(api, "Alpha")
    c = await notebook(api, "gamma")
    await api.put(f"notebooks/{b['id']}", {"archived": True})

    names = lambda r: [n["name"] for n in r.json]  # noqa: E731
    assert names(await api.get("notebooks")) == ["Alpha", "gamma", "beta"]  # updated desc
    assert names(await api.get("notebooks?order_by=name")) == ["Alpha", "beta", "gamma"]
    assert names(await api.get("notebooks?order_by=name%20desc")) == ["gamma", "beta", "Alpha"]
    assert names(await api.get("notebooks?order_by=created%20asc")) == ["beta", "Alpha", "gamma"]
    assert names(await api.get("notebooks?order_by=CREATED%20DESC")) == ["gamma", "Alpha", "beta"]
    assert names(await api.get("notebooks?archived=true")) == ["Alpha"]
    assert names(await api.get("notebooks?archived=false&order_by=name")) == ["beta", "gamma"]
    assert names(await api.get("notebooks?archived=0")) == ["gamma", "beta"]
    assert {a["id"], c["id"]} == {n["id"] for n in (await api.get("notebooks?archived=no")).json}


@pytest.mark.parametrize(
    ("query", "status", "detail"),
    [
        # Open Notebook's messages, without the value sent (errors never repeat input)
        ("order_by=size", 400, "Invalid order_by field. Allowed fields: created, name, updated"),
        (
            "order_by=name%20sideways",
            400,
            "Invalid order_by. Allowed fields: "
            "created, name, updated. Allowed directions: asc, desc",
        ),
        (
            "order_by=name%20asc%20now",
            400,
            "Invalid order_by format. Expected 'field' or 'field direction'",
        ),
        ("order_by=", 400, "Invalid order_by format. Expected 'field' or 'field direction'"),
        ("order_by=name;DROP%20TABLE", 400, None),
        ("archived=maybe", 422, "archived: must be a boolean (true or false)"),
    ],
)
async def test_list_bad_parameters(api, query, status, detail):
    await notebook(api)
    r = await api.get(f"notebooks?{query}")
    assert r.status == status, r
    if detail is not None:
        assert r.json["detail"] == detail


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "name", "required"),
        ({"name": ""}, "name", "blank"),
        ({"name": "   "}, "name", "blank"),
        ({"name": None}, "name", "string"),
        ({"name": 7}, "name", "string"),
        ({"name": "x" * 501}, "name", "500"),
        ({"name": "a\x00b"}, "name", "control"),
        ({"name": "ok", "description": 5}, "description", "string"),
        ([], "", "JSON object"),
    ],
)
async def test_create_validation_writes_nothing(api, ext, body, field, message):
    r = await api.post("notebooks", body)
    assert r.status == 422, r
    assert any(e["field"] == field and message in e["message"] for e in r.json["errors"]), r
    assert count(ext, "on_notebooks") == 0


async def test_create_and_update_errors(api, ext):
    assert (await api.post("notebooks", raw="{nope")).status == 400
    assert (await api.post("notebooks", raw="")).status == 400
    nb = await notebook(api)
    for body in ({"name": ""}, {"archived": "yes"}, {"description": ["x"]}):
        r = await api.put(f"notebooks/{nb['id']}", body)
        assert r.status == 422, (body, r)
    assert (await api.put(f"notebooks/{nb['id']}", raw="[")).status == 400
    assert (await api.get(f"notebooks/{nb['id']}")).json == nb  # nothing changed
    for method, path, body in (
        ("GET", "notebooks/notebook:nope", None),
        ("PUT", "notebooks/notebook:nope", {"name": "x"}),
        ("DELETE", "notebooks/notebook:nope", None),
        ("GET", "notebooks/notebook:nope/delete-preview", None),
    ):
        r = await api.request(method, path, body)
        assert r.status == 404 and r.json == {"detail": "Notebook not found"}, (method, path)
    r = await api.delete(f"notebooks/{nb['id']}?delete_exclusive_sources=perhaps")
    assert r.status == 422
    assert count(ext, "on_notebooks") == 1


async def test_counts_and_link_unlink(api, ext):
    nb = await notebook(api)
    other = await notebook(api, "Other")
    s1 = await text_source(api, "one", [nb["id"]])
    s2 = await text_source(api, "two", [])
    assert s1["notebooks"] == [nb["id"]] and s2["notebooks"] == []
    await api.post("notes", {"content": "n", "notebook_id": nb["id"]})

    r = await api.post(f"notebooks/{nb['id']}/sources/{s2['id']}")
    assert r.status == 200 and r.json == {"message": "Source linked to notebook successfully"}
    r = await api.post(f"notebooks/{nb['id']}/sources/{s2['id']}")  # idempotent
    assert r.status == 200
    assert count(ext, "on_notebook_sources") == 2
    r = await api.post(f"notebooks/{other['id']}/sources/{s2['id']}")
    got = (await api.get(f"notebooks/{nb['id']}")).json
    assert (got["source_count"], got["note_count"]) == (2, 1)
    assert sorted((await api.get(f"sources/{s2['id']}")).json["notebooks"]) == sorted(
        [nb["id"], other["id"]]
    )

    for path in (
        f"notebooks/notebook:nope/sources/{s2['id']}",
        f"notebooks/{nb['id']}/sources/source:nope",
    ):
        r = await api.post(path)
        assert r.status == 404 and r.json == {"detail": "Notebook or source not found"}

    r = await api.delete(f"notebooks/{nb['id']}/sources/{s2['id']}")
    assert r.status == 200
    assert r.json == {"message": "Source removed from notebook successfully"}
    assert (await api.get(f"notebooks/{nb['id']}")).json["source_count"] == 1
    assert (await api.get(f"sources/{s2['id']}")).status == 200  # the source stays
    r = await api.delete(f"notebooks/{nb['id']}/sources/source:never-linked")
    assert r.status == 200  # as Open Notebook: unlinking what is not linked is fine
    r = await api.delete(f"notebooks/notebook:nope/sources/{s2['id']}")
    assert r.status == 404 and r.json == {"detail": "Notebook not found"}


@pytest.mark.parametrize("exclusive", [False, True])
async def test_delete_preview_matches_delete(api, ext, exclusive):
    nb = await notebook(api, "Doomed")
    keep = await notebook(api, "Keeper")
    only_here = [await text_source(api, f"only{i}", [nb["id"]]) for i in range(3)]
    shared = [await text_source(api, f"shared{i}", [nb["id"], keep["id"]]) for i in range(2)]
    elsewhere = await text_source(api, "elsewhere", [keep["id"]])
    loose = await text_source(api, "loose", [])
    for i in range(4):
        assert (
            await api.post("notes", {"content": f"c{i}", "notebook_id": nb["id"]})
        ).status == 200
    kept_note = (await api.post("notes", {"content": "k", "notebook_id": keep["id"]})).json
    free_note = (await api.post("notes", {"content": "free"})).json

    r = await api.get(f"notebooks/{nb['id']}/delete-preview")
    assert r.status == 200
    preview = r.json
    assert preview == {
        "notebook_id": nb["id"],
        "notebook_name": "Doomed",
        "note_count": 4,
        "exclusive_source_count": 3,
        "shared_source_count": 2,
    }
    sources_before = count(ext, "on_sources")
    notes_before = count(ext, "on_notes")

    flag = "true" if exclusive else "false"
    r = await api.delete(f"notebooks/{nb['id']}?delete_exclusive_sources={flag}")
    assert r.status == 200, r
    result = r.json
    assert result["deleted_notes"] == preview["note_count"]
    assert notes_before - count(ext, "on_notes") == preview["note_count"]
    if exclusive:
        assert result["deleted_sources"] == preview["exclusive_source_count"]
        assert result["unlinked_sources"] == preview["shared_source_count"]
    else:
        assert result["deleted_sources"] == 0
        assert result["unlinked_sources"] == (
            preview["exclusive_source_count"] + preview["shared_source_count"]
        )
    assert sources_before - count(ext, "on_sources") == result["deleted_sources"]
    for s in only_here:
        assert (await api.get(f"sources/{s['id']}")).status == (404 if exclusive else 200)
    for s in [*shared, elsewhere]:
        r = await api.get(f"sources/{s['id']}")
        assert r.status == 200 and r.json["notebooks"] == [keep["id"]]
    assert (await api.get(f"sources/{loose['id']}")).status == 200
    assert (await api.get(f"notes/{kept_note['id']}")).status == 200
    assert (await api.get(f"notes/{free_note['id']}")).status == 200
    dangling = scalar(
        ext, "SELECT count(*) FROM on_notebook_sources WHERE notebook_id = :nb", nb=nb["id"]
    )
    assert dangling == 0


async def test_failed_delete_leaves_everything(api, ext, monkeypatch):
    nb = await notebook(api)
    await text_source(api, "s", [nb["id"]])
    await api.post("notes", {"content": "n", "notebook_id": nb["id"]})

    def boom(*args, **kwargs):
        raise RuntimeError("injected")

    # The notes, links and sources are already deleted inside the transaction when
    # the notebook's own delete fails: all of it must roll back.
    monkeypatch.setattr(Session, "delete", boom)
    r = await api.delete(f"notebooks/{nb['id']}?delete_exclusive_sources=true")
    monkeypatch.undo()
    assert r.status == 500 and r.json == {"detail": "Internal server error"}
    for table in ("on_notebooks", "on_notes", "on_sources", "on_notebook_sources"):
        assert count(ext, table) == 1, table
    assert (await api.post("search", {"query": "text"})).json["total_count"] == 1


# -- notes -----------------------------------------------------------------------------


async def test_note_crud_round_trip(api, logs):
    nb = await notebook(api)
    r = await api.post(
        "notes",
        {
            "title": " Idea ",
            "content": "Quokkas smile a lot.\n",
            "note_type": "ai",
            "notebook_id": nb["id"],
        },
    )
    assert r.status == 200, r
    note = r.json
    assert note["id"].startswith("note:")
    assert note["title"] == "Idea"
    assert note["content"] == "Quokkas smile a lot.\n"  # content is kept exactly
    assert note["note_type"] == "ai" and note["notebook_id"] == nb["id"]
    assert (await api.get(f"notes/{note['id']}")).json == note

    r = await api.post("notes", {"content": "untitled"})
    assert r.status == 200
    plain = r.json
    assert plain["title"] is None and plain["note_type"] == "human"
    assert plain["notebook_id"] is None

    r = await api.put(f"notes/{note['id']}", {"content": "Changed."})
    assert r.status == 200
    assert r.json["content"] == "Changed." and r.json["title"] == "Idea"
    assert r.json["note_type"] == "ai" and r.json["updated"] > note["updated"]
    r = await api.put(f"notes/{note['id']}", {"title": "", "note_type": "human", "content": None})
    assert r.json["title"] is None and r.json["note_type"] == "human"
    assert r.json["content"] == "Changed."

    ids = [n["id"] for n in (await api.get("notes")).json]
    assert ids == [note["id"], plain["id"]]  # most recently updated first
    assert [n["id"] for n in (await api.get(f"notes?notebook_id={nb['id']}")).json] == [note["id"]]
    r = await api.get("notes?notebook_id=notebook:nope")
    assert r.status == 404 and r.json == {"detail": "Notebook not found"}

    r = await api.delete(f"notes/{note['id']}")
    assert r.status == 200 and r.json == {"message": "Note deleted successfully"}
    for method, body in (("GET", None), ("PUT", {"content": "x"}), ("DELETE", None)):
        r = await api.request(method, f"notes/{note['id']}", body)
        assert r.status == 404 and r.json == {"detail": "Note not found"}
    assert "Quokkas" not in logs.text and "Changed." not in logs.text


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "content", "required"),
        ({"content": ""}, "content", "blank"),
        ({"content": " \n\t "}, "content", "blank"),
        ({"content": 3}, "content", "string"),
        ({"content": "x", "note_type": "robot"}, "note_type", "human"),
        ({"content": "x", "title": "t" * 501}, "title", "500"),
        ({"content": "x", "notebook_id": 12}, "notebook_id", "string"),
    ],
)
async def test_note_validation_writes_nothing(api, ext, body, field, message):
    r = await api.post("notes", body)
    assert r.status == 422, r
    assert any(e["field"] == field and message in e["message"] for e in r.json["errors"]), r
    assert count(ext, "on_notes") == 0


async def test_note_in_missing_notebook_is_404_and_not_saved(api, ext):
    # Open Notebook saves the note before it finds the notebook missing.
    r = await api.post("notes", {"content": "orphan?", "notebook_id": "notebook:nope"})
    assert r.status == 404 and r.json == {"detail": "Notebook not found"}
    assert count(ext, "on_notes") == 0


async def test_note_update_validation(api, ext):
    note = (await api.post("notes", {"content": "keep me"})).json
    for body in ({"content": ""}, {"note_type": "x"}, {"title": 5}):
        r = await api.put(f"notes/{note['id']}", body)
        assert r.status == 422, (body, r)
    assert (await api.get(f"notes/{note['id']}")).json == note


class TestNamedUsers:
    @pytest.fixture
    def jp_server_config(self):
        return {
            "ServerApp": {
                "jpserver_extensions": {"open_notebook_ext": True},
                "identity_provider_class": "helpers.TokenUsersIdentityProvider",
            }
        }

    async def test_owners_never_see_each_others_rows(self, api, ext):
        alice = {"headers": {"Authorization": "token alice-token"}, "auth": None}
        bob = {"headers": {"Authorization": "token bob-token"}, "auth": None}
        nb = (await api.post("notebooks", {"name": "A"}, **alice)).json
        note = (
            await api.post("notes", {"content": "secret", "notebook_id": nb["id"]}, **alice)
        ).json
        src = (
            await api.post(
                "sources",
                {"type": "text", "content": "secret text", "notebooks": [nb["id"]]},
                **alice,
            )
        ).json
        bob_nb = (await api.post("notebooks", {"name": "B"}, **bob)).json

        assert (await api.get("notebooks", **bob)).json == [bob_nb]
        assert (await api.get("notes", **bob)).json == []
        assert (await api.get("sources", **bob)).json == []
        for method, path, body in (
            ("GET", f"notebooks/{nb['id']}", None),
            ("PUT", f"notebooks/{nb['id']}", {"name": "stolen"}),
            ("DELETE", f"notebooks/{nb['id']}", None),
            ("GET", f"notebooks/{nb['id']}/delete-preview", None),
            ("GET", f"notes/{note['id']}", None),
            ("PUT", f"notes/{note['id']}", {"content": "stolen"}),
            ("DELETE", f"notes/{note['id']}", None),
            ("GET", f"sources/{src['id']}", None),
            ("PUT", f"sources/{src['id']}", {"title": "stolen"}),
            ("DELETE", f"sources/{src['id']}", None),
            ("GET", f"notes?notebook_id={nb['id']}", None),
            ("GET", f"sources?notebook_id={nb['id']}", None),
            ("POST", f"notebooks/{bob_nb['id']}/sources/{src['id']}", None),
            ("POST", f"notebooks/{nb['id']}/sources/{src['id']}", None),
        ):
            r = await api.request(method, path, body, **bob)
            assert r.status == 404, (method, path, r)
        r = await api.post("notes", {"content": "x", "notebook_id": nb["id"]}, **bob)
        assert r.status == 404
        r = await api.post(
            "sources", {"type": "text", "content": "x", "notebooks": [nb["id"]]}, **bob
        )
        assert r.status == 404
        r = await api.post("search", {"query": "secret"}, **bob)
        assert r.status == 200 and r.json["results"] == []
        r = await api.post("search", {"query": "secret"}, **alice)
        assert {x["id"] for x in r.json["results"]} == {note["id"], src["id"]}
        assert (await api.get(f"notebooks/{nb['id']}", **alice)).json["source_count"] == 1
        owners = {
            r[0]
            for r in rows(
                ext,
                "SELECT owner FROM on_notebooks UNION "
                "SELECT owner FROM on_notes UNION "
                "SELECT owner FROM on_sources",
            )
        }
        assert owners == {"alice", "bob"}


async def test_concurrent_links_make_one_link(api, ext):
    import asyncio

    nb = await notebook(api)
    src = await text_source(api, "s", [])
    replies = await asyncio.gather(
        *[api.post(f"notebooks/{nb['id']}/sources/{src['id']}") for _ in range(8)]
    )
    assert [r.status for r in replies] == [200] * 8
    assert count(ext, "on_notebook_sources") == 1
