"""``secrets.proxy(name)`` in a kernel: a user's own credential comes before one their hub
group shares under the same name, so a shared key added later breaks no notebook."""

from __future__ import annotations

import pytest

from open_notebook_ext import secrets


@pytest.fixture
def listed(monkeypatch):
    monkeypatch.setenv("OPEN_NOTEBOOK_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("OPEN_NOTEBOOK_KERNEL_TOKEN", "onk_test")
    items: list[dict] = []
    monkeypatch.setattr(secrets, "list", lambda: items)
    return items


def entry(cid: str, **extra: object) -> dict:
    return {"id": cid, "name": "Key", "provider": "openai", "granted": True, **extra}


def test_own_credential_first(listed):
    listed += [entry("shared-1", shared=True, group="class1"), entry("own-1")]
    assert secrets.proxy("Key").credential_id == "own-1"


def test_a_shared_credential_alone_is_used(listed):
    listed.append(entry("shared-1", shared=True, group="class1"))
    p = secrets.proxy("Key")
    assert p.credential_id == "shared-1" and p.base_url.endswith("/proxy/shared-1/")


def test_two_shared_of_one_name_are_ambiguous(listed):
    listed += [entry("s1", shared=True, group="a"), entry("s2", shared=True, group="b")]
    with pytest.raises(secrets.SecretError, match="Several credentials"):
        secrets.proxy("Key")
