"""A notebook written through the contents API, and a real kernel in a notebook session
with a kernel token: what grants are checked against (api/test_grants.py,
integration/test_grants_kernels.py)."""

from __future__ import annotations

from urllib.parse import quote

import pytest


async def write_file(api, path: str) -> None:
    """Create (or overwrite) a notebook through the contents API."""
    r = await api.request(
        "PUT",
        f"contents/{quote(path)}",
        {
            "type": "notebook",
            "content": {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []},
        },
        prefix="api",
    )
    assert r.status in (200, 201), r


class NotebookKernel:
    """A real kernel in a notebook session, and a kernel token for it; the session's path
    is moved to check each notebook in turn. Started on first use; the server's
    clean-up shuts it down."""

    def __init__(self, api, ext) -> None:
        self.api, self.ext = api, ext
        self.session_id = self.kernel_id = self.token = ""

    async def at(self, path: str) -> NotebookKernel:
        if not self.session_id:
            r = await self.api.request(
                "POST",
                "sessions",
                {
                    "path": path,
                    "type": "notebook",
                    "name": path.rsplit("/", 1)[-1],
                    "kernel": {"name": "python3"},
                },
                prefix="api",
            )
            assert r.status == 201, r
            self.session_id, self.kernel_id = r.json["id"], r.json["kernel"]["id"]
            # a second token for the same kernel replaces the one in its environment
            self.token = self.ext.kernel_tokens.issue(self.kernel_id, self.ext.owner)
            return self
        r = await self.api.request(
            "PATCH", f"sessions/{self.session_id}", {"path": path}, prefix="api"
        )
        assert r.status == 200, r
        return self

    async def read(self, name: str = "Work") -> int:
        r = await self.api.post(
            "secrets/get",
            {"name": name},
            auth=None,
            headers={"Authorization": f"Bearer {self.token}"},
        )
        return r.status

    async def listed(self) -> dict[str, bool]:
        r = await self.api.get(
            "secrets", auth=None, headers={"Authorization": f"Bearer {self.token}"}
        )
        return {c["name"]: c["granted"] for c in r.json}


@pytest.fixture
def notebook_kernel(api, ext) -> NotebookKernel:
    return NotebookKernel(api, ext)
