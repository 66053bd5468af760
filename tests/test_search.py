"""POST /search: SQLite FTS5 over sources and notes, ranked, kept in step with every write."""

from __future__ import annotations

import pytest


async def note(api, content, title=None, notebook_id=None):
    r = await api.post("notes", {"content": content, "title": title, "notebook_id": notebook_id})
    assert r.status == 200, r
    return r.json


async def source(api, content, title=None, notebooks=()):
    r = await api.post(
        "sources",
        {"type": "text", "content": content, "title": title, "notebooks": list(notebooks)},
    )
    assert r.status == 200, r
    return r.json


async def search(api, query, **fields):
    r = await api.post("search", {"query": query, **fields})
    assert r.status == 200, r
    assert r.json["search_type"] == "text"
    assert r.json["total_count"] == len(r.json["results"])
    return r.json["results"]


async def test_finds_what_was_written_and_follows_updates_and_deletes(api):
    n = await note(api, "The platypus lays eggs.", title="Monotremes")
    s = await source(api, "Echidnas also lay eggs.", title="Spiny anteaters")
    results = await search(api, "eggs")
    assert {r["id"] for r in results} == {n["id"], s["id"]}
    by_id = {r["id"]: r for r in results}
    assert by_id[n["id"]]["type"] == "note" and by_id[s["id"]]["type"] == "source"
    assert by_id[n["id"]]["parent_id"] == n["id"]
    assert by_id[n["id"]]["title"] == "Monotremes"
    assert by_id[n["id"]]["matches"] == ["The platypus lays `eggs`."]
    assert by_id[n["id"]]["created"] == n["created"]
    assert by_id[n["id"]]["relevance"] == by_id[n["id"]]["final_score"] > 0

    assert [r["id"] for r in await search(api, "platypus")] == [n["id"]]
    assert [r["id"] for r in await search(api, "PLATYPUS eggs")] == [n["id"]]  # all words
    assert {r["id"] for r in await search(api, "lay")} == {n["id"], s["id"]}  # lays: stemmed
    assert await search(api, "kangaroo") == []

    await api.put(f"notes/{n['id']}", {"content": "Platypuses hunt underwater."})
    assert [r["id"] for r in await search(api, "eggs")] == [s["id"]]
    assert [r["id"] for r in await search(api, "underwater")] == [n["id"]]
    await api.put(f"sources/{s['id']}", {"title": "Echidna notes"})
    assert [r["id"] for r in await search(api, "echidna")] == [s["id"]]
    assert await search(api, "spiny") == []
    await api.delete(f"sources/{s['id']}")
    assert await search(api, "echidnas") == []
    await api.delete(f"notes/{n['id']}")
    assert await search(api, "underwater") == []


async def test_title_hit_ranks_above_body_hit(api):
    body_hit = await source(
        api, "A long text that mentions the numbat once, in passing.", title="Assorted animals"
    )
    title_hit = await note(api, "Termites are its food.", title="Numbat")
    other = await note(api, "Nothing relevant here.", title="Bilby")
    results = await search(api, "numbat")
    assert [r["id"] for r in results] == [title_hit["id"], body_hit["id"]]
    assert results[0]["relevance"] > results[1]["relevance"]
    assert other["id"] not in {r["id"] for r in results}


async def test_filters_notebook_kind_and_limit(api):
    nb = (await api.post("notebooks", {"name": "Zoo"})).json
    other_nb = (await api.post("notebooks", {"name": "Other"})).json
    inside_note = await note(api, "koala facts", notebook_id=nb["id"])
    inside_src = await source(api, "koala habitat", notebooks=[nb["id"], other_nb["id"]])
    outside_note = await note(api, "koala trivia")
    outside_src = await source(api, "koala diet", notebooks=[other_nb["id"]])

    everything = {r["id"] for r in await search(api, "koala")}
    assert everything == {
        inside_note["id"],
        inside_src["id"],
        outside_note["id"],
        outside_src["id"],
    }
    assert {r["id"] for r in await search(api, "koala", notebook_id=nb["id"])} == {
        inside_note["id"],
        inside_src["id"],
    }
    assert {r["id"] for r in await search(api, "koala", search_notes=False)} == {
        inside_src["id"],
        outside_src["id"],
    }
    assert {r["id"] for r in await search(api, "koala", search_sources=False)} == {
        inside_note["id"],
        outside_note["id"],
    }
    assert await search(api, "koala", search_sources=False, search_notes=False) == []
    assert len(await search(api, "koala", limit=2)) == 2
    # unlinking takes a source out of the notebook's results
    await api.delete(f"notebooks/{nb['id']}/sources/{inside_src['id']}")
    assert {r["id"] for r in await search(api, "koala", notebook_id=nb["id"])} == {
        inside_note["id"]
    }
    r = await api.post("search", {"query": "koala", "notebook_id": "notebook:nope"})
    assert r.status == 404 and r.json == {"detail": "Notebook not found"}


async def test_query_syntax_is_never_interpreted(api):
    n = await note(api, 'He said "hello", and or not, left (quickly) near:the door* in the title')
    for query in (
        '"hello',
        "hello AND",
        "hello OR",
        "(quickly",
        "near:the",
        "door*",
        "NOT hello",
        "hello -left",
        "^hello",
        "title:hello",
        "hello'; DROP",
    ):
        r = await api.post("search", {"query": query})
        assert r.status == 200, (query, r)
        if "DROP" not in query:
            assert [x["id"] for x in r.json["results"]] == [n["id"]], query


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"query": "x", "type": "vector"}, 400, "Vector search is not available"),
        ({"query": ""}, 422, "query: must not be blank"),
        ({"query": "   "}, 422, "query: must not be blank"),
        ({"query": "?!*"}, 422, "query: must contain at least one letter or digit"),
        ({}, 422, "query: is required"),
        ({"query": "x", "type": "fuzzy"}, 422, "type"),
        ({"query": "x", "limit": 0}, 422, "limit"),
        ({"query": "x", "limit": 1001}, 422, "limit"),
        ({"query": "x", "search_notes": "yes"}, 422, "search_notes"),
        ({"query": "x" * 1001}, 422, "1000"),
    ],
)
async def test_search_errors(api, body, status, detail):
    r = await api.post("search", body)
    assert r.status == status, r
    assert detail in r.json["detail"], r
    assert (await api.post("search", raw="{")).status == 400
