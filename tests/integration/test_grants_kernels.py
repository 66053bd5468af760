"""Grants as a real kernel in a notebook session meets them: paths compared as Jupyter
does, a grant dies with its file, follows a rename, binds on first use (see api/test_grants.py)."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest

from support.db import execute, scalar
from support.grants import write_file


async def grant_paths(api, expected: list[str]) -> list[str]:
    """Grant paths, once they equal ``expected`` (contents events are handled by tasks that
    may finish just after the response), or as they are after 2 s."""
    for _ in range(100):
        paths = sorted(g["notebook_path"] for g in (await api.get("grants")).json)
        if paths == expected:
            break
        await asyncio.sleep(0.02)
    return paths


@pytest.mark.parametrize(
    ("granted", "other"),
    [
        ("dir\\x.ipynb", "dir/x.ipynb"),  # a backslash is part of a POSIX name
        (" sp.ipynb ", "sp.ipynb"),  # so are surrounding spaces
    ],
)
async def test_grant_paths_are_compared_as_jupyter_does(
    api, ext, jp_root_dir, notebook_kernel, granted, other
):
    c = await api.create_credential(name="Work")
    (jp_root_dir / "dir").mkdir(exist_ok=True)
    for path in (granted, other):
        await write_file(api, path)
    assert (jp_root_dir / granted).is_file() and (jp_root_dir / other).is_file()
    r = await api.put("grants", {"credential_id": c["id"], "notebook_path": granted})
    assert r.status == 201 and r.json["notebook_path"] == granted, r
    assert (await api.get(f"grants?notebook_path={quote(other)}")).json == []
    listed = (await api.get(f"grants?notebook_path={quote(granted)}")).json
    assert [g["notebook_path"] for g in listed] == [granted]
    assert await (await notebook_kernel.at(other)).read() == 403
    assert await (await notebook_kernel.at(granted)).read() == 200


async def test_a_grant_dies_with_its_file(api, ext, jp_root_dir, notebook_kernel):
    """The attack: the granted notebook is deleted outside the contents API (a terminal)
    and another file is created at its path — it must not inherit the grant."""
    c = await api.create_credential(name="Work")
    await write_file(api, "report.ipynb")
    r = await api.put("grants", {"credential_id": c["id"], "notebook_path": "report.ipynb"})
    assert r.status == 201
    kernel = await notebook_kernel.at("report.ipynb")
    assert await kernel.read() == 200
    await write_file(api, "report.ipynb")  # saving (in place) keeps the grant
    assert await kernel.read() == 200
    inode = (jp_root_dir / "report.ipynb").stat().st_ino

    (jp_root_dir / "report.ipynb").unlink()  # outside the contents API: no event
    assert await kernel.read() == 403  # no file: no grant
    (jp_root_dir / "report.ipynb").write_text('{"cells": []}')
    reused = (jp_root_dir / "report.ipynb").stat().st_ino == inode  # often, on ext4
    assert await kernel.read() == 403, f"inode reused: {reused}"
    assert (await kernel.listed())["Work"] is False
    assert (await api.get("grants")).json == []  # the stale grant is gone
    assert scalar(ext, "SELECT count(*) FROM on_grants") == 0
    # granting the new file is a new decision, and works
    r = await api.put("grants", {"credential_id": c["id"], "notebook_path": "report.ipynb"})
    assert r.status == 201
    assert await kernel.read() == 200


async def test_a_grant_survives_a_rename_and_a_missing_file_is_kept(
    api, ext, jp_root_dir, notebook_kernel
):
    c = await api.create_credential(name="Work")
    await write_file(api, "old.ipynb")
    await api.put("grants", {"credential_id": c["id"], "notebook_path": "old.ipynb"})
    r = await api.request("PATCH", "contents/old.ipynb", {"path": "new.ipynb"}, prefix="api")
    assert r.status == 200
    assert await grant_paths(api, ["new.ipynb"]) == ["new.ipynb"]
    assert await (await notebook_kernel.at("new.ipynb")).read() == 200
    # moved away outside Jupyter and back: the same file, the same grant
    (jp_root_dir / "new.ipynb").rename(jp_root_dir / "elsewhere.ipynb")
    assert await notebook_kernel.read() == 403
    assert [g["notebook_path"] for g in (await api.get("grants")).json] == ["new.ipynb"]
    (jp_root_dir / "elsewhere.ipynb").rename(jp_root_dir / "new.ipynb")
    assert await notebook_kernel.read() == 200


async def test_grants_from_before_file_identity_bind_on_first_use(
    api, ext, jp_root_dir, notebook_kernel
):
    c = await api.create_credential(name="Work")
    await write_file(api, "legacy.ipynb")
    await api.put("grants", {"credential_id": c["id"], "notebook_path": "legacy.ipynb"})
    execute(ext, "UPDATE on_grants SET file_id = NULL")  # as migration 0005 leaves them
    assert await (await notebook_kernel.at("legacy.ipynb")).read() == 200
    bound = scalar(ext, "SELECT file_id FROM on_grants")
    assert bound and bound.split(":")[0] == str((jp_root_dir / "legacy.ipynb").stat().st_ino)
    (jp_root_dir / "legacy.ipynb").unlink()
    (jp_root_dir / "legacy.ipynb").write_text("{}")
    assert await notebook_kernel.read() == 403
