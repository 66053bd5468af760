"""Grants API, the secret endpoints' own protections, and the redactor's automaton cache."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest

from open_notebook_ext.vault.redact import Automaton, redact_notebook
from support.grants import write_file
from support.leaks import random_api_key


async def test_grant_lifecycle(api, ext, jp_root_dir):
    c = await api.create_credential(name="Work")
    (jp_root_dir / "work").mkdir()
    for path in ("work/a.ipynb", "b.ipynb"):
        await write_file(api, path)
    body = {"credential_id": c["id"], "notebook_path": "/work//a.ipynb"}
    first = await api.put("grants", body)
    assert first.status == 201, first
    assert first.json["notebook_path"] == "work/a.ipynb"
    assert first.json["credential_name"] == "Work"
    again = await api.put("grants", body)
    assert again.status == 200 and again.json["id"] == first.json["id"]
    await api.put("grants", {"credential_id": c["id"], "notebook_path": "b.ipynb"})
    listed = (await api.get("grants")).json
    assert [g["notebook_path"] for g in listed] == ["b.ipynb", "work/a.ipynb"]
    by_path = (await api.get("grants?notebook_path=work/a.ipynb")).json
    assert [g["id"] for g in by_path] == [first.json["id"]]
    r = await api.delete(f"grants/{first.json['id']}")
    assert r.status == 200 and r.json["message"] == "Grant revoked"
    assert (await api.delete(f"grants/{first.json['id']}")).status == 404
    # deleting the credential takes its grants with it
    await api.delete(f"credentials/{c['id']}")
    assert (await api.get("grants")).json == []


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"credential_id": "credential:nope", "notebook_path": "a.ipynb"}, 404, None),
        ({"notebook_path": "a.ipynb"}, 422, "credential_id"),
        ({"credential_id": "CID", "notebook_path": "../outside.ipynb"}, 422, "notebook_path"),
        ({"credential_id": "CID", "notebook_path": "a/../../b.ipynb"}, 422, "notebook_path"),
        ({"credential_id": "CID", "notebook_path": "  "}, 422, "notebook_path"),
        ({"credential_id": "CID", "notebook_path": "a\x00.ipynb"}, 422, "notebook_path"),
        ({"credential_id": "CID", "notebook_path": 5}, 422, "notebook_path"),
    ],
)
async def test_grant_validation(api, body, status, field):
    c = await api.create_credential(name="Work")
    body = {k: (c["id"] if v == "CID" else v) for k, v in body.items()}
    r = await api.put("grants", body)
    assert r.status == status, r
    if field:
        assert field in [e["field"] for e in r.json["errors"]]
    assert (await api.get("grants")).json == []


async def test_grants_follow_renames_and_die_with_deletes(api, ext, jp_root_dir):
    c = await api.create_credential(name="Work")
    (jp_root_dir / "proj").mkdir()
    for name in ("proj/a.ipynb", "b.ipynb"):
        await write_file(api, name)
        await api.put("grants", {"credential_id": c["id"], "notebook_path": name})
    r = await api.request("PATCH", "contents/proj", {"path": "renamed"}, prefix="api")
    assert r.status == 200, r
    r = await api.request("PATCH", "contents/b.ipynb", {"path": "c.ipynb"}, prefix="api")
    assert r.status == 200, r
    assert await grant_paths(api, ["c.ipynb", "renamed/a.ipynb"]) == ["c.ipynb", "renamed/a.ipynb"]
    r = await api.request("DELETE", "contents/c.ipynb", prefix="api")
    assert r.status == 204
    assert await grant_paths(api, ["renamed/a.ipynb"]) == ["renamed/a.ipynb"]


async def grant_paths(api, expected: list[str]) -> list[str]:
    """Grant paths, once they equal ``expected`` (contents events are handled by tasks that
    may finish just after the response), or as they are after 2 s."""
    for _ in range(100):
        paths = sorted(g["notebook_path"] for g in (await api.get("grants")).json)
        if paths == expected:
            break
        await asyncio.sleep(0.02)
    return paths


class TestSecretEndpointsStayOutOfBrowsers:
    @pytest.fixture
    def extension_config(self):
        return {"allowed_origins": ["https://lab.example.org"]}

    async def test_server_token_reads_but_never_cross_origin(self, api, ext):
        key = random_api_key()
        c = await api.create_credential(name="Work", api_key=key)
        r = await api.post(f"credentials/{c['id']}/secret", {}, auth="Bearer")
        assert r.status == 200 and r.json["api_key"] == key and r.json["name"] == "Work"
        assert r.headers["Cache-Control"] == "no-store"
        r = await api.post("secrets/get", {"name": "Work", "provider": "openai"})
        assert r.status == 200 and r.json["api_key"] == key
        # even from an allowed origin: refused, and no CORS header
        r = await api.post(
            f"credentials/{c['id']}/secret", {}, headers={"Origin": "https://lab.example.org"}
        )
        assert r.status == 403 and key not in r.text
        assert not [h for h in r.headers if h.lower().startswith("access-control")]
        pre = await api.request(
            "OPTIONS",
            f"credentials/{c['id']}/secret",
            auth=None,
            headers={"Origin": "https://lab.example.org", "Access-Control-Request-Method": "POST"},
        )
        assert pre.status == 403
        assert not [h for h in pre.headers if h.lower().startswith("access-control")]

    async def test_login_cookie_cannot_read_secrets(self, api, ext, jp_base_url):
        c = await api.create_credential(name="Work")
        r = await api.get("credentials")
        cookie = "; ".join(h.split(";")[0] for h in r.headers.get_list("Set-Cookie"))
        login = await api.http.fetch(f"{jp_base_url}login", raise_error=False)
        xsrf = next(h for h in login.headers.get_list("Set-Cookie") if h.startswith("_xsrf")).split(
            ";"
        )[0]
        r = await api.post(
            f"credentials/{c['id']}/secret",
            {},
            auth=None,
            headers={"Cookie": f"{cookie}; {xsrf}", "X-XSRFToken": xsrf.split("=", 1)[1]},
        )
        assert r.status == 403, r
        assert "not the login cookie" in r.json["detail"]

    async def test_errors(self, api, ext):
        assert (await api.post("credentials/credential:nope/secret", {})).status == 404
        c = await api.create_credential(name="Dup")
        await api.create_credential(name="Dup", provider="anthropic")
        r = await api.post("secrets/get", {"name": "Dup"})
        assert r.status == 409 and "anthropic" in r.json["detail"]
        assert (await api.post("secrets/get", {"name": ""})).status == 422
        assert (await api.post("secrets/get", raw="{")).status == 400
        r = await api.post(
            "credentials",
            {"name": "local", "provider": "ollama", "base_url": "http://localhost:11434"},
        )
        r = await api.post(f"credentials/{r.json['id']}/secret", {})
        assert r.status == 422 and "no API key" in r.json["detail"]
        r = await api.post(
            "secrets/get",
            {"name": "Dup"},
            headers={"Authorization": "Bearer onk_forged"},
            auth=None,
        )
        assert r.status == 401
        assert c["id"]


async def test_automaton_rebuilt_only_when_credentials_change(api, ext):
    key = random_api_key()
    await api.create_credential(name="Work", api_key=key)
    nb = {"cells": [{"outputs": [{"output_type": "stream", "text": f"x {key} y"}]}]}
    redactor = ext.redactor
    before = redactor.builds
    for _ in range(3):
        model = {"type": "notebook", "content": {"cells": [dict(c) for c in nb["cells"]]}}
        redactor.pre_save_hook(model, "n.ipynb")
    assert redactor.builds == before + 1
    key2 = random_api_key()
    await api.create_credential(name="Other", api_key=key2)
    model = {
        "type": "notebook",
        "content": {"cells": [{"outputs": [{"output_type": "stream", "text": key2}]}]},
    }
    redactor.pre_save_hook(model, "n.ipynb")
    assert redactor.builds == before + 2
    assert model["content"]["cells"][0]["outputs"][0]["text"] == "[REDACTED:Other]"


def test_automaton_prefers_the_longest_key():
    short, long = "sk-abcdefgh", "sk-abcdefgh-and-more"
    a = Automaton([("short", short), ("long", long), ("tiny", "1234567")])
    assert a.redact(f"{long} {short} 1234567") == ("[REDACTED:long] [REDACTED:short] 1234567", 2)
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": long},
            {
                "outputs": [
                    {
                        "output_type": "execute_result",
                        "data": {"application/json": {"a": [1, long, {"b": long}]}},
                    }
                ]
            },
        ]
    }
    assert redact_notebook(nb, a) == 2
    assert nb["cells"][0]["source"] == long  # sources are not touched


async def test_grant_paths_normalised_like_the_contents_manager(api, jp_root_dir):
    c = await api.create_credential(name="Work")
    (jp_root_dir / "a").mkdir()
    await write_file(api, "a/n.ipynb")
    for sent in ("/a//n.ipynb", "./a/./n.ipynb", "a/n.ipynb/"):
        r = await api.put("grants", {"credential_id": c["id"], "notebook_path": sent})
        assert r.status in (200, 201) and r.json["notebook_path"] == "a/n.ipynb", (sent, r)


@pytest.mark.parametrize(
    "char",
    [
        "\u202a",
        "\u202b",
        "\u202c",
        "\u202d",
        "\u202e",  # embeddings, overrides
        "\u2066",
        "\u2067",
        "\u2068",
        "\u2069",  # isolates
        "\u200e",
        "\u200f",
        "\u061c",  # marks
        "\u200b",
        "\ufeff",
        "\u00ad",  # other format characters
        "\x1b",
        "\x7f",
        "\x85",
        "\u2028",  # C0, DEL, C1, line separator
    ],
)
async def test_control_and_bidi_characters_are_refused(api, ext, jp_root_dir, char):
    c = await api.create_credential(name="Work")
    name = f"invoice{char}bpyt.ipynb"
    (jp_root_dir / name).write_text("{}")  # the file exists: the name alone is refused
    r = await api.put("grants", {"credential_id": c["id"], "notebook_path": name})
    assert r.status == 422, r
    assert r.json["errors"][0]["field"] == "notebook_path"
    assert "bidirectional" in r.json["errors"][0]["message"]
    assert char not in r.text and "invoice" not in r.text
    r = await api.get(f"grants?notebook_path={quote(name)}")
    if char in "\x1b":  # Tornado turns C0 controls in query arguments into spaces
        assert r.status == 200 and r.json == [], r
    else:
        assert r.status == 422, r
    assert (await api.get("grants")).json == []


@pytest.mark.parametrize("path", [".", "./.", "/", "//", "./", "a/.."])
async def test_paths_naming_no_file_are_422_not_500(api, path):
    c = await api.create_credential(name="Work")
    r = await api.put("grants", {"credential_id": c["id"], "notebook_path": path})
    assert r.status == 422 and r.json["errors"][0]["field"] == "notebook_path", r
    r = await api.get(f"grants?notebook_path={quote(path)}")
    assert r.status == 422 and r.json["errors"][0]["field"] == "notebook_path", r


async def test_a_grant_needs_the_file(api, jp_root_dir):
    c = await api.create_credential(name="Work")
    r = await api.put("grants", {"credential_id": c["id"], "notebook_path": "nope.ipynb"})
    assert r.status == 422 and r.json["errors"][0]["field"] == "notebook_path", r
    (jp_root_dir / "folder.ipynb").mkdir()
    r = await api.put("grants", {"credential_id": c["id"], "notebook_path": "folder.ipynb"})
    assert r.status == 422, r
    assert (await api.get("grants")).json == []


def test_file_identity_tells_a_recreated_file_from_the_old_one(tmp_path):
    from open_notebook_ext.vault.fileidentity import ContentsFiles, file_identity

    path = tmp_path / "n.ipynb"
    seen = set()
    for _ in range(5):
        path.write_text("{}")
        identity = file_identity(str(path))
        assert identity is not None and identity not in seen
        seen.add(identity)
        path.write_text('{"changed": true}')  # writing in place keeps it
        assert file_identity(str(path)) == identity
        path.unlink()
    assert file_identity(str(path)) is None
    assert file_identity(str(tmp_path)) is None  # a directory is no notebook
    assert ContentsFiles(object()).tracked is False  # no local files: by path alone


async def test_without_local_files_grants_are_by_path(api, ext):
    """A contents manager without local files (no _get_os_path): grants by path alone, as
    the start-up warning says; nothing is refused for want of a file."""
    from open_notebook_ext.vault.grants import GrantStore

    c = await api.create_credential(name="Work")
    by_path = GrantStore(ext.db, identify=None)
    grant, created = by_path.grant(
        ext.owner, {"credential_id": c["id"], "notebook_path": "s3/remote.ipynb"}
    )
    assert created and grant["notebook_path"] == "s3/remote.ipynb"
    assert by_path.is_granted(ext.owner, c["id"], ["s3/remote.ipynb"])
    # the server's own store checks files: there is none at that path, so no grant
    assert not ext.grants.is_granted(ext.owner, c["id"], ["s3/remote.ipynb"])
