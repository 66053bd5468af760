"""Audit events: emitted for each action, schema-checked, never carrying a secret."""

from __future__ import annotations

import json
import logging
import stat
from datetime import datetime, timedelta, timezone

import pytest

from helpers import random_api_key
from open_notebook_ext.audit import AuditLog


def events(ext) -> list[dict]:
    return [json.loads(line) for line in ext.audit.path.read_text().splitlines()]


class ListHandler(logging.Handler):
    records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        ListHandler.records.append(self.format(record))


@pytest.fixture
def jp_server_config():
    ListHandler.records = []
    return {
        "ServerApp": {"jpserver_extensions": {"open_notebook_ext": True}, "trust_xheaders": True},
        "OpenNotebookApp": {"auth_failure_limit": 3, "trusted_proxies": ["127.0.0.1"]},
        "EventLogger": {"handlers": [ListHandler()]},
    }


async def test_each_action_is_recorded_without_secrets(api, ext):
    key, key2 = random_api_key(), random_api_key()
    client = {"X-Forwarded-For": "192.0.2.44"}
    c = await api.post(
        "credentials", {"name": "Work", "provider": "openai", "api_key": key}, headers=client
    )
    cid = c.json["id"]
    await api.put(f"credentials/{cid}", {"api_key": key2}, headers=client)
    await api.delete(f"credentials/{cid}", headers=client)
    for _ in range(3):
        await api.get(
            "credentials", auth=None, headers={"Authorization": "token not-the-token", **client}
        )

    got = events(ext)
    kinds = [(e["__schema__"].split("/")[-2], e["action"]) for e in got]
    assert kinds == [
        ("credential", "created"),
        ("credential", "updated"),
        ("credential", "deleted"),
        ("auth", "failure"),
        ("auth", "failure"),
        ("auth", "failure"),
        ("auth", "blocked"),
    ]
    created = got[0]
    assert created["credential_id"] == cid and created["credential_name"] == "Work"
    assert created["provider"] == "openai" and created["client"] == "192.0.2.44"
    assert created["owner"] == ext.owner and created["user"]
    assert got[-1]["retry_after"] == 60 and got[-1]["client"] == "192.0.2.44"
    text = ext.audit.path.read_text()
    for secret in (key, key2, "not-the-token", api.token):
        assert secret not in text
        assert not any(secret in r for r in ListHandler.records)
    assert stat.S_IMODE(ext.audit.path.stat().st_mode) == 0o600
    # sinks configured through jupyter_events' EventLogger.handlers get them too
    assert len(ListHandler.records) == len(got)


async def test_audit_endpoint_newest_first_with_limit_and_since(api, ext):
    for i in range(5):
        await api.create_credential(name=f"c{i}")
    r = await api.get("audit?limit=3")
    assert r.status == 200
    names = [e["credential_name"] for e in r.json]
    assert names == ["c4", "c3", "c2"]
    assert all(e["kind"] == "credential" and e["action"] == "created" for e in r.json)
    middle = r.json[1]["time"]
    newer = await api.get(f"audit?since={middle.replace('+', '%2B')}")
    assert [e["credential_name"] for e in newer.json] == ["c4"]
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat().replace("+", "%2B")
    assert (await api.get(f"audit?since={future}")).json == []
    for bad in ("since=yesterday", "limit=0", "limit=5000"):
        assert (await api.get(f"audit?{bad}")).status == 422, bad


async def test_owner_sees_only_own_events(api, ext):
    await api.create_credential(name="mine")
    ext.audit.emit(
        "credential",
        action="created",
        owner="somebody-else",
        credential_id="credential:x",
        credential_name="theirs",
    )
    r = await api.get("audit")
    assert [e["credential_name"] for e in r.json] == ["mine"]


def test_file_rotates_by_size_and_stays_private(tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl", max_bytes=2000, backups=3)
    for i in range(100):
        audit.emit(
            "credential",
            action="created",
            owner="me",
            credential_id=f"credential:{i}",
            credential_name=f"n{i}",
        )
    audit.close()
    files = sorted(tmp_path.glob("audit.jsonl*"))
    assert len(files) == 4  # current + 3 backups
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        assert f.stat().st_size <= 2000
    reader = AuditLog(tmp_path / "audit.jsonl", max_bytes=2000, backups=3)
    recent = reader.read(limit=1000)
    ids = [int(e["credential_id"].split(":")[1]) for e in recent]
    assert ids[0] == 99 and ids == sorted(ids, reverse=True) and len(ids) > 20


def test_schemas_refuse_unknown_fields(tmp_path, caplog):
    audit = AuditLog(tmp_path / "audit.jsonl")
    audit.emit("credential", action="created", owner="me", api_key="sk-should-never-appear")
    audit.emit("credential", action="exploded", owner="me")
    audit.close()
    text = (tmp_path / "audit.jsonl").read_text() if (tmp_path / "audit.jsonl").exists() else ""
    assert text == ""
    assert "sk-should-never-appear" not in caplog.text
