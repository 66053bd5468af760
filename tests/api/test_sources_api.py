"""Sources over HTTP: text, links (validated, fetched through the guard), list, get, update,
delete. Uploads have their own file (test_uploads.py)."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlencode

import pytest

from open_notebook_ext.security import netguard
from support.content import local_site, multipart
from support.db import count


@pytest.fixture
def fake_dns(monkeypatch):
    """Hostnames resolve from this table only: no DNS query leaves the machine."""
    table: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        if host in table:
            return table[host]
        # Numeric forms (2130706433, 0x7f.1) as the C library reads them, without DNS.
        infos = socket.getaddrinfo(host, port, flags=socket.AI_NUMERICHOST, type=socket.SOCK_STREAM)
        return [info[4][0] for info in infos]

    monkeypatch.setattr(netguard, "system_resolve", resolve)
    return table


async def test_text_source_round_trip(api, ext, logs):
    nb = (await api.post("notebooks", {"name": "N"})).json
    r = await api.post(
        "sources",
        {
            "type": "text",
            "title": "Marsupials",
            "content": "Quokkas live on Rottnest Island.",
            "notebook_id": nb["id"],
        },
    )
    assert r.status == 200, r
    src = r.json
    assert src["id"].startswith("source:")
    assert src["title"] == "Marsupials" and src["type"] == "text"
    assert src["full_text"] == "Quokkas live on Rottnest Island."
    assert src["asset"] is None and src["notebooks"] == [nb["id"]]
    assert src["embedded"] is False and src["embedded_chunks"] == 0
    assert src["insights_count"] == 0 and src["topics"] == []
    assert src["status"] is None and src["command_id"] is None
    assert src["file_available"] is None
    assert (await api.get(f"sources/{src['id']}")).json == src

    r = await api.put(f"sources/{src['id']}", {"title": "Quokkas", "topics": ["animals", " "]})
    assert r.status == 200
    assert r.json["title"] == "Quokkas" and r.json["topics"] == ["animals"]
    assert r.json["full_text"] == src["full_text"] and r.json["updated"] > src["updated"]
    for bad in ({"title": ""}, {"title": 3}, {"topics": "animals"}):
        r = await api.put(f"sources/{src['id']}", bad)
        assert r.status == 422, (bad, r)

    r = await api.delete(f"sources/{src['id']}")
    assert r.status == 200 and r.json == {"message": "Source deleted successfully"}
    for method, body in (("GET", None), ("PUT", {"title": "x"}), ("DELETE", None)):
        r = await api.request(method, f"sources/{src['id']}", body)
        assert r.status == 404 and r.json == {"detail": "Source not found"}
    assert (await api.get(f"notebooks/{nb['id']}")).json["source_count"] == 0
    assert "Rottnest" not in logs.text


async def test_form_bodies_as_open_notebooks_web_client_sends_them(api):
    nb = (await api.post("notebooks", {"name": "N"})).json
    body, ctype = multipart(
        {
            "type": "text",
            "content": "Form text",
            "title": "From a form",
            "notebooks": json.dumps([nb["id"]]),
            "transformations": "[]",
            "embed": "false",
            "delete_source": "false",
            "async_processing": "true",
        }
    )
    r = await api.post("sources", raw=body, headers={"Content-Type": ctype})
    assert r.status == 200, r
    assert r.json["title"] == "From a form" and r.json["notebooks"] == [nb["id"]]
    assert r.json["full_text"] == "Form text"

    form = urlencode({"type": "text", "content": "Urlencoded text", "notebook_id": nb["id"]})
    r = await api.post(
        "sources", raw=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert r.status == 200, r
    assert r.json["full_text"] == "Urlencoded text" and r.json["notebooks"] == [nb["id"]]

    r = await api.post("sources/json", {"type": "text", "content": "legacy route"})
    assert r.status == 200 and r.json["full_text"] == "legacy route"

    body, ctype = multipart({"type": "text", "content": "x", "notebooks": "[not json"})
    r = await api.post("sources", raw=body, headers={"Content-Type": ctype})
    assert r.status == 422 and r.json["detail"] == "notebooks: Invalid JSON in notebooks field"


async def test_form_booleans_are_read_like_query_booleans(api):
    """One reader for booleans sent as text (validation.parse_bool): the query's
    spellings work in a form, and a value that is no boolean is a 422 naming the field
    (it used to be read as false), with nothing created."""
    for spelling in ("t", "YES", "off", "0", " n "):
        body, ctype = multipart({"type": "text", "content": f"c-{spelling}", "embed": spelling})
        r = await api.post("sources", raw=body, headers={"Content-Type": ctype})
        assert r.status == 200, (spelling, r)
    before = len((await api.get("sources")).json)
    body, ctype = multipart({"type": "text", "content": "x", "async_processing": "maybe-ish"})
    r = await api.post("sources", raw=body, headers={"Content-Type": ctype})
    assert r.status == 422, r
    assert r.json == {
        "detail": "async_processing: must be a boolean (true or false)",
        "errors": [{"field": "async_processing", "message": "must be a boolean (true or false)"}],
    }
    assert "maybe-ish" not in r.text
    assert len((await api.get("sources")).json) == before
    r = await api.get("notebooks?archived=maybe-ish")
    assert r.status == 422 and r.json["errors"] == [
        {"field": "archived", "message": "must be a boolean (true or false)"}
    ]


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        ({}, 422, "type", "required"),
        ({"type": "video"}, 422, "type", "link"),
        ({"type": "text"}, 422, "content", "required"),
        ({"type": "text", "content": "   "}, 422, "content", "blank"),
        ({"type": "link"}, 422, "url", "required"),
        ({"type": "upload"}, 422, "file", "required"),
        ({"type": "upload", "file_path": "/etc/passwd"}, 422, "file_path", "not accepted"),
        (
            {"type": "text", "content": "x", "notebook_id": "a", "notebooks": ["b"]},
            422,
            "notebooks",
            "notebook_id",
        ),
        ({"type": "text", "content": "x", "notebooks": "notebook:1"}, 422, "notebooks", "list"),
        ({"type": "text", "content": "x", "title": "t" * 501}, 422, "title", "500"),
        (
            {"type": "text", "content": "x", "notebooks": ["notebook:nope"]},
            404,
            None,
            "Notebook not found",
        ),
        (
            {"type": "text", "content": "x", "transformations": ["transformation:t1"]},
            404,
            None,
            "Transformation not found",
        ),
    ],
)
async def test_create_errors_write_nothing(api, ext, body, status, field, message):
    r = await api.post("sources", body)
    assert r.status == status, r
    if field is None:
        assert r.json["detail"] == message
    else:
        assert any(e["field"] == field and message in e["message"] for e in r.json["errors"]), r
    assert count(ext, "on_sources") == 0
    assert count(ext, "on_notebook_sources") == 0


async def test_list_sorting_paging_and_notebook_filter(api):
    nb = (await api.post("notebooks", {"name": "N"})).json
    made = []
    for title in ("banana", "Apple", "cherry"):
        made.append(
            (
                await api.post(
                    "sources", {"type": "text", "content": f"{title} text", "title": title}
                )
            ).json
        )
    await api.post(f"notebooks/{nb['id']}/sources/{made[0]['id']}")
    await api.post(f"notebooks/{nb['id']}/sources/{made[2]['id']}")

    titles = lambda r: [s["title"] for s in r.json]  # noqa: E731
    r = await api.get("sources")
    assert r.status == 200 and titles(r) == ["cherry", "Apple", "banana"]  # updated desc
    assert "full_text" not in r.json[0]
    assert titles(await api.get("sources?sort_by=title&sort_order=asc")) == [
        "Apple",
        "banana",
        "cherry",
    ]
    assert titles(await api.get("sources?sort_by=title&sort_order=DESC")) == [
        "cherry",
        "banana",
        "Apple",
    ]
    assert titles(await api.get("sources?sort_by=created&sort_order=asc")) == [
        "banana",
        "Apple",
        "cherry",
    ]
    ids = sorted(s["id"] for s in made)
    r = await api.get("sources?sort_by=insights_count")
    assert [s["id"] for s in r.json] == ids  # all tie: id decides, as Open Notebook
    assert [s["id"] for s in (await api.get("sources?sort_by=type")).json] == ids
    assert titles(await api.get("sources?sort_by=title&sort_order=asc&limit=1&offset=1")) == [
        "banana"
    ]
    assert titles(
        await api.get(f"sources?notebook_id={nb['id']}&sort_by=title&sort_order=asc")
    ) == ["banana", "cherry"]
    r = await api.get("sources?notebook_id=notebook:nope")
    assert r.status == 404 and r.json == {"detail": "Notebook not found"}

    r = await api.get("sources?sort_by=size")
    assert r.status == 400
    assert r.json["detail"] == (
        "sort_by must be one of: type, title, created, updated, insights_count, embedded"
    )
    r = await api.get("sources?sort_order=up")
    assert r.status == 400 and r.json["detail"] == "sort_order must be 'asc' or 'desc'"
    for bad in ("limit=0", "limit=101", "limit=x", "offset=-1"):
        r = await api.get(f"sources?{bad}")
        assert r.status == 422, bad


# -- links -------------------------------------------------------------------------------


class TestLinksWithoutFetching:
    @pytest.fixture
    def extension_config(self):
        return {"fetch_links": False}

    async def test_link_is_validated_and_stored(self, api, ext, fake_dns):
        fake_dns["docs.example.org"] = ["93.184.216.34"]
        r = await api.post("sources", {"type": "link", "url": "https://docs.example.org/a?b=c"})
        assert r.status == 200, r
        assert r.json["asset"] == {"file_path": None, "url": "https://docs.example.org/a?b=c"}
        assert r.json["type"] == "link" and r.json["full_text"] is None
        # As Open Notebook: private and unresolvable hosts may be stored (not fetched)...
        for url in ("http://10.1.2.3/", "http://localhost:11434/", "http://nowhere.test/"):
            r = await api.post("sources", {"type": "link", "url": url})
            assert r.status == 200, (url, r)

    @pytest.mark.parametrize(
        ("url", "reason"),
        [
            ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
            ("http://[fd00:ec2::254]/", "cloud metadata"),
            ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
            ("http://[64:ff9b::a9fe:a9fe]/", "cloud metadata"),
            ("http://[2002:a9fe:a9fe::]/", "cloud metadata"),
            ("http://[fe80::1]/", "link-local"),
            ("http://metadata.internal/computeMetadata/v1/", "cloud metadata"),
            ("http://linklocal.example/", "link-local"),
            ("http://rebind.example/", "cloud metadata"),
            ("file:///etc/passwd", "scheme"),
            ("gopher://example.org/", "scheme"),
            ("http://user:pw@example.org/", "user name"),
            ("http:///nohost", "hostname"),
        ],
    )
    async def test_refused_links(self, api, ext, fake_dns, url, reason):
        fake_dns["metadata.internal"] = ["169.254.169.254"]
        fake_dns["linklocal.example"] = ["169.254.10.20"]
        fake_dns["rebind.example"] = ["93.184.216.34", "100.100.100.200"]
        r = await api.post("sources", {"type": "link", "url": url})
        assert r.status == 400, r
        assert reason in r.json["detail"]
        assert count(ext, "on_sources") == 0


class TestLinksFetched:
    """The fetch goes to a site on 127.0.0.1, allowed only because of the trait."""

    @pytest.fixture
    def extension_config(self):
        return {"allow_private_targets": True, "fetch_timeout": 1.0, "fetch_max_bytes": 1024 * 1024}

    async def test_page_text_and_title(self, api, ext, logs):
        with local_site() as site:
            r = await api.post("sources", {"type": "link", "url": site["url"] + "/page"})
            assert r.status == 200, r
            assert r.json["title"] == "Quokka facts"
            assert "The quokka is a small marsupial." in r.json["full_text"]
            assert "hidden" not in r.json["full_text"] and "{" not in r.json["full_text"]
            r = await api.post(
                "sources", {"type": "link", "url": site["url"] + "/text", "title": "Mine"}
            )
            assert r.json["title"] == "Mine" and r.json["full_text"] == "Plain wombat notes.\n"
            r = await api.post("sources", {"type": "link", "url": site["url"] + "/to-page"})
            assert r.status == 200 and r.json["title"] == "Quokka facts"
            r = await api.post("sources", {"type": "link", "url": site["url"] + "/pdf"})
            assert r.status == 200 and r.json["full_text"] is None
            found = (await api.post("search", {"query": "marsupial"})).json["results"]
            assert len(found) == 2
        assert "marsupial" not in logs.text

    @pytest.mark.parametrize(
        ("path", "status", "detail"),
        [
            ("/missing", 502, "the server answered 404"),
            ("/big", 502, "larger than 1048576 bytes"),
            ("/bomb", 502, "larger than 1048576 bytes"),
            ("/slow", 502, "timed out"),
            ("/loop", 502, "Too many redirects"),
            ("/to-metadata", 400, "cloud metadata"),
        ],
    )
    async def test_fetch_failures_write_nothing(self, api, ext, path, status, detail):
        with local_site() as site:
            r = await api.post("sources", {"type": "link", "url": site["url"] + path})
        assert r.status == status, r
        assert detail in r.json["detail"], r
        assert count(ext, "on_sources") == 0

    async def test_unreachable_port_is_502(self, api, ext):
        from support.servers import free_port

        r = await api.post("sources", {"type": "link", "url": f"http://127.0.0.1:{free_port()}/"})
        assert r.status == 502 and r.json["detail"].startswith("Could not fetch the URL")


class TestLinksFetchedPrivateRefused:
    """Default: fetching refuses loopback and private targets (before connecting)."""

    async def test_private_targets_refused(self, api, ext, fake_dns):
        fake_dns["intranet.example"] = ["10.0.0.8"]
        fake_dns["sneaky.example"] = ["127.0.0.1"]
        fake_dns["localhost"] = ["127.0.0.1", "::1"]
        with local_site() as site:
            urls = [
                site["url"] + "/page",
                f"http://localhost:{site['port']}/page",
                f"http://[::ffff:127.0.0.1]:{site['port']}/page",
                f"http://2130706433:{site['port']}/page",
                f"http://0x7f.1:{site['port']}/page",
                "http://intranet.example/",
                f"http://sneaky.example:{site['port']}/page",
            ]
            for url in urls:
                r = await api.post("sources", {"type": "link", "url": url})
                assert r.status == 400, (url, r)
                assert "loopback" in r.json["detail"] or "private" in r.json["detail"], r
            assert site["hits"] == []  # nothing ever connected
        assert count(ext, "on_sources") == 0
