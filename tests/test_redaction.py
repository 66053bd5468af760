"""What the pre-save redactor rewrites, and what it must never touch (issue 15, finding 12).

Each case saves a notebook through Jupyter's contents API on the in-process server
(the redactor is its ContentsManager pre-save hook) and reads the file back from disk.
"""

from __future__ import annotations

import base64
import json
import secrets
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from helpers import random_api_key


def png(width: int = 24, height: int = 24) -> bytes:
    """A valid PNG of random pixels (so its base64 is random text)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + secrets.token_bytes(width * 3) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def notebook(cells: list[dict[str, Any]], metadata: dict[str, Any] | None = None) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": metadata or {}, "cells": cells}


def code_cell(
    outputs: list[dict[str, Any]], metadata: dict[str, Any] | None = None, source: str = "x"
) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "id": secrets.token_hex(4),
        "execution_count": 1,
        "metadata": metadata or {},
        "source": source,
        "outputs": outputs,
    }


def display(data: dict[str, Any]) -> dict[str, Any]:
    return {"output_type": "display_data", "metadata": {}, "data": data}


async def save(
    api: Any, root: Path, nb: dict[str, Any], name: str = "r.ipynb"
) -> tuple[bytes, dict[str, Any]]:
    """Save through the contents API; the file's bytes and its JSON."""
    r = await api.request(
        "PUT",
        f"contents/{name}",
        {"type": "notebook", "format": "json", "content": nb},
        prefix="api",
    )
    assert r.status in (200, 201), r
    raw = (root / name).read_bytes()
    return raw, json.loads(raw)


async def test_notebook_metadata_widget_state_is_redacted(api, jp_root_dir):
    """ipywidgets saves every widget's state in the notebook's metadata: a key typed into
    a Password or Text widget is there."""
    key = random_api_key()
    await api.create_credential(name="Work", api_key=key)
    state = {
        "state": {
            "a1b2": {
                "model_name": "PasswordModel",
                "model_module": "@jupyter-widgets/controls",
                "state": {"value": key, "description": "API key"},
            }
        },
        "version_major": 2,
        "version_minor": 0,
    }
    nb = notebook(
        [code_cell([])],
        {"widgets": {"application/vnd.jupyter.widget-state+json": state}, "title": f"uses {key}"},
    )
    raw, saved = await save(api, jp_root_dir, nb)
    assert key.encode() not in raw
    widget = saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]
    assert widget["state"]["a1b2"]["state"]["value"] == "[REDACTED:Work]"
    assert saved["metadata"]["title"] == "uses [REDACTED:Work]"


async def test_cell_metadata_is_redacted(api, jp_root_dir):
    key = random_api_key()
    await api.create_credential(name="Work", api_key=key)
    nb = notebook(
        [
            code_cell([], {"tags": [f"k={key}"], "extension": {"saved": key}}),
            {"cell_type": "markdown", "id": "m1", "source": "notes", "metadata": {"note": key}},
        ]
    )
    raw, saved = await save(api, jp_root_dir, nb)
    assert key.encode() not in raw
    assert saved["cells"][0]["metadata"] == {
        "tags": ["k=[REDACTED:Work]"],
        "extension": {"saved": "[REDACTED:Work]"},
    }
    assert saved["cells"][1]["metadata"] == {"note": "[REDACTED:Work]"}


async def test_json_object_keys_are_redacted(api, jp_root_dir):
    key = random_api_key()
    await api.create_credential(name="Work", api_key=key)
    data = {
        "application/json": {key: 1, "nested": {f"x-{key}": [key]}, "plain": "kept"},
        "application/vnd.custom+json": {key: True},
    }
    raw, saved = await save(api, jp_root_dir, notebook([code_cell([display(data)])]))
    assert key.encode() not in raw
    out = saved["cells"][0]["outputs"][0]["data"]
    assert out["application/json"] == {
        "[REDACTED:Work]": 1,
        "nested": {"x-[REDACTED:Work]": ["[REDACTED:Work]"]},
        "plain": "kept",
    }
    assert out["application/vnd.custom+json"] == {"[REDACTED:Work]": True}


async def test_two_keys_redacted_to_one_label_keep_both_values(api, jp_root_dir):
    first, second = random_api_key(), random_api_key()
    await api.create_credential(name="Same", api_key=first)
    await api.create_credential(name="Same", provider="anthropic", api_key=second)
    data = {"application/json": {first: "a", second: "b"}}
    raw, saved = await save(api, jp_root_dir, notebook([code_cell([display(data)])]))
    assert first.encode() not in raw and second.encode() not in raw
    assert sorted(saved["cells"][0]["outputs"][0]["data"]["application/json"].values()) == [
        "a",
        "b",
    ]


async def test_kernel_tokens_are_redacted(api, ext, jp_root_dir):
    """A dump of os.environ carries the kernel's token; it works until the kernel stops, so
    it must not be saved. Matched by its shape: the server keeps only digests."""
    live = ext.kernel_tokens.issue("kernel-for-this-test", ext.owner)
    assert ext.kernel_tokens.check(live) is not None  # a live token of this server
    other = "onk_" + secrets.token_urlsafe(32)  # another server's, or an older kernel's
    environ = {"HOME": "/home/u", "OPEN_NOTEBOOK_KERNEL_TOKEN": live, "OPEN_NOTEBOOK_URL": "x"}
    outputs = [
        {
            "output_type": "stream",
            "name": "stdout",
            "text": "".join(f"{k}={v}\n" for k, v in environ.items()),
        },
        display(
            {
                "text/plain": [repr(environ)],
                "application/json": {live: "as a key"},
                "text/html": f"<td>{other}</td>",
            }
        ),
        {"output_type": "error", "ename": "E", "evalue": live, "traceback": [f"t {other}"]},
    ]
    try:
        raw, saved = await save(api, jp_root_dir, notebook([code_cell(outputs)]))
    finally:
        ext.kernel_tokens.revoke("kernel-for-this-test")
    assert live.encode() not in raw and other.encode() not in raw
    assert b"onk_" not in raw
    text = "".join(saved["cells"][0]["outputs"][0]["text"])  # nbformat saves lines
    assert "OPEN_NOTEBOOK_KERNEL_TOKEN=[REDACTED:kernel token]\n" in text
    assert "OPEN_NOTEBOOK_URL=x" in text  # the rest of the dump stays
    assert raw.count(b"[REDACTED:kernel token]") == 6


BINARY_CASES = [
    pytest.param("image/png", png(), id="png"),
    pytest.param("image/jpeg", b"\xff\xd8\xff\xe0" + secrets.token_bytes(300), id="jpeg"),
    pytest.param(
        "application/pdf", b"%PDF-1.4\n" + secrets.token_bytes(300) + b"\n%%EOF\n", id="pdf"
    ),
    pytest.param("application/octet-stream", secrets.token_bytes(300), id="other-binary"),
    pytest.param("audio/wav", b"RIFF" + secrets.token_bytes(300), id="audio"),
]


@pytest.mark.parametrize(("mime", "content"), BINARY_CASES)
async def test_binary_output_containing_a_key_survives_byte_identical(
    api, jp_root_dir, mime, content
):
    """A short stored key that happens to occur in an image's base64 must not be replaced
    there: that corrupts the image (what the review saw). The same key in text is."""
    b64 = base64.b64encode(content).decode()
    key = next(
        b64[i : i + 12] for i in range(40, len(b64) - 12) if b64[i : i + 12].isalnum()
    )  # a key-like 12 characters of the base64
    await api.create_credential(name="Short", provider="groq", api_key=key)
    outputs = [display({mime: b64, "text/plain": [f"<figure {key}>"]})]
    raw, saved = await save(api, jp_root_dir, notebook([code_cell(outputs)]))
    assert b64.encode() in raw  # in the file exactly as sent
    data = saved["cells"][0]["outputs"][0]["data"]
    assert data[mime] == b64
    assert base64.b64decode(data[mime]) == content  # byte-identical
    assert data["text/plain"] == ["<figure [REDACTED:Short]>"]
    if mime == "image/png":
        assert base64.b64decode(data[mime]).startswith(b"\x89PNG")


async def test_widget_buffers_are_binary_and_svg_is_text(api, jp_root_dir):
    image = png()
    b64 = base64.b64encode(image).decode()
    key = next(b64[i : i + 12] for i in range(40, len(b64) - 12) if b64[i : i + 12].isalnum())
    await api.create_credential(name="Short", provider="groq", api_key=key)
    state = {
        "state": {
            "m1": {
                "model_name": "ImageModel",
                "state": {"format": "png"},
                "buffers": [{"encoding": "base64", "path": ["value"], "data": b64}],
            }
        },
        "version_major": 2,
        "version_minor": 0,
    }
    svg = f'<svg xmlns="http://www.w3.org/2000/svg"><text>{key}</text></svg>'
    nb = notebook(
        [code_cell([display({"image/svg+xml": svg})])],
        {"widgets": {"application/vnd.jupyter.widget-state+json": state}},
    )
    raw, saved = await save(api, jp_root_dir, nb)
    assert b64.encode() in raw
    buffers = saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"][
        "m1"
    ]["buffers"]
    assert base64.b64decode(buffers[0]["data"]) == image
    svg_saved = saved["cells"][0]["outputs"][0]["data"]["image/svg+xml"]
    assert "".join(svg_saved) == svg.replace(key, "[REDACTED:Short]")


async def test_sources_and_attachments_are_untouched(api, jp_root_dir):
    key = random_api_key()
    await api.create_credential(name="Work", api_key=key)
    attachment = base64.b64encode(png()).decode()
    nb = notebook(
        [
            code_cell([], source=f"KEY = {key!r}"),
            {
                "cell_type": "markdown",
                "id": "m1",
                "source": "![x](attachment:x.png)",
                "metadata": {},
                "attachments": {"x.png": {"image/png": attachment}},
            },
        ]
    )
    _, saved = await save(api, jp_root_dir, nb)
    assert "".join(saved["cells"][0]["source"]) == f"KEY = {key!r}"  # what the user typed
    assert saved["cells"][1]["attachments"]["x.png"]["image/png"] == attachment
