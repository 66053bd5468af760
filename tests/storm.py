"""A write storm over HTTP, and the model of what the servers acknowledged.

``Storm`` runs many concurrent clients (asyncio + httpx, bounded concurrency:
one request in flight per client) against one or more real servers. Each
client creates, updates and deletes its own credentials, notebooks, notes and
text sources, and also reaches into other clients' notebooks (notes created in
them, sources linked to them) so deletes race with writes that depend on them.

Every answer is recorded in ``Model``: what was acknowledged (2xx) is the state
the database must hold afterwards, exactly (see ``verify``). A 404 is only
acceptable where a concurrent delete explains it, and that is checked at the
end. Requests whose outcome is unknown (the server was killed) are remembered
so ``verify(allow_in_flight=True)`` accepts either outcome for them, and
nothing else.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from dbtools import execute, rows
from helpers import ServerProcess

API = "open-notebook/api"


def word(rng: random.Random) -> str:
    return "".join(rng.choice("bcdfghjklmnprstvwz") + rng.choice("aeiou") for _ in range(3))


@dataclass
class Target:
    """A server: base URL (ending in /) and token."""

    url: str
    token: str


@dataclass
class Tally:
    requests: int = 0
    writes: int = 0
    acknowledged_writes: int = 0
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)  # 5xx
    transport_errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)  # a status no race explains
    seconds: float = 0.0

    def summary(self) -> str:
        rate = self.requests / self.seconds if self.seconds else 0
        return (
            f"{self.requests} requests ({self.writes} writes, {self.acknowledged_writes} "
            f"acknowledged) in {self.seconds:.1f}s ({rate:.0f}/s); statuses "
            f"{dict(sorted(self.statuses.items()))}; 5xx: {len(self.server_errors)}; "
            f"transport errors: {len(self.transport_errors)}"
        )


@dataclass
class Model:
    """What the servers acknowledged. Values are what the row must hold at the end."""

    credentials: dict[str, dict[str, Any]] = field(default_factory=dict)
    notebooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted_notebooks: set[str] = field(default_factory=set)
    # acknowledged links: (notebook, source)
    links: set[tuple[str, str]] = field(default_factory=set)
    unlinked: set[tuple[str, str]] = field(default_factory=set)
    deleted_sources: set[str] = field(default_factory=set)
    # 404s that a notebook delete must explain by the end: notebook ids
    needs_deleted_notebook: list[tuple[str, str]] = field(default_factory=list)
    # link 404s: the notebook or the source (an exclusive delete) must be gone by the end
    link_404s: list[tuple[str, str]] = field(default_factory=list)
    # writes whose outcome is unknown: kind -> id -> possible values (or None = deleted)
    in_flight: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    in_flight_creates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def live_notebooks(self) -> list[str]:
        return [n for n in self.notebooks if n not in self.deleted_notebooks]


class Storm:
    def __init__(
        self,
        targets: list[Target],
        *,
        clients: int = 32,
        requests_per_client: int = 100,
        seed: int = 1,
        timeout: float = 120,
        kinds: tuple[str, ...] = ("credential", "notebook", "note", "source"),
        deletes: bool = True,
    ) -> None:
        self.targets = targets
        self.clients = clients
        self.requests_per_client = requests_per_client
        self.seed = seed
        self.timeout = timeout
        self.kinds = kinds
        self.deletes = deletes
        self.model = Model()
        self.tally = Tally()
        self.stop = asyncio.Event()

    # -- running -------------------------------------------------------------

    async def run(self) -> Tally:
        limits = httpx.Limits(
            max_connections=self.clients * 2, max_keepalive_connections=self.clients * 2
        )
        started = time.perf_counter()
        async with httpx.AsyncClient(limits=limits, timeout=self.timeout) as http:
            self.http = http
            await asyncio.gather(*(self._client(i) for i in range(self.clients)))
        self.tally.seconds = time.perf_counter() - started
        return self.tally

    async def _call(
        self, rng: random.Random, method: str, path: str, body: Any = None
    ) -> tuple[int, Any]:
        """(status, JSON) or (0, None) when the outcome is unknown (connection lost)."""
        target = rng.choice(self.targets)
        self.tally.requests += 1
        write = method != "GET"
        self.tally.writes += write
        try:
            r = await self.http.request(
                method,
                f"{target.url}{API}/{path}",
                headers={"Authorization": f"token {target.token}"},
                content=json.dumps(body) if body is not None else None,
            )
        except httpx.HTTPError as e:
            self.tally.transport_errors.append(f"{method} {path}: {type(e).__name__}")
            return 0, None
        self.tally.statuses[r.status_code] += 1
        if r.status_code >= 500:
            self.tally.server_errors.append(f"{method} {path}: {r.status_code} {r.text[:200]}")
        elif 200 <= r.status_code < 300 and write:
            self.tally.acknowledged_writes += 1
        try:
            data = r.json()
        except ValueError:
            data = None
        if 200 <= r.status_code < 300 or r.status_code == 404:
            return r.status_code, data
        self.tally.unexpected.append(f"{method} {path}: {r.status_code} {r.text[:200]}")
        return r.status_code, data

    async def _client(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        mine: dict[str, list[str]] = {k: [] for k in self.kinds}
        for n in range(1, self.requests_per_client + 1):
            if self.stop.is_set():
                return
            kind = rng.choice(self.kinds)
            ids = mine[kind]
            roll = rng.random()
            if not ids or roll < 0.4 or (not self.deletes and roll < 0.5):
                await getattr(self, f"_create_{kind}")(rng, index, n, ids)
            elif roll < 0.8 or not self.deletes:
                await getattr(self, f"_update_{kind}")(rng, index, n, ids)
            elif roll < 0.95:
                await getattr(self, f"_delete_{kind}")(rng, ids)
            else:
                await self._read(rng, kind, ids)

    def _unknown(self, kind: str, oid: str, value: Any) -> None:
        self.model.in_flight.setdefault(kind, {}).setdefault(oid, []).append(value)

    # -- credentials -----------------------------------------------------------

    async def _create_credential(self, rng, index, n, ids) -> None:
        body = {
            "name": f"c{index}-{n}",
            "provider": "openai",
            "api_key": f"sk-storm-{secrets.token_hex(12)}",
        }
        status, data = await self._call(rng, "POST", "credentials", body)
        if status == 201:
            self.model.credentials[data["id"]] = {
                "name": body["name"],
                "api_key": body["api_key"],
                "base_url": None,
            }
            ids.append(data["id"])
        elif status == 0:
            self.model.in_flight_creates.append(("credential", body))

    async def _update_credential(self, rng, index, n, ids) -> None:
        cid = rng.choice(ids)
        body = {
            "api_key": f"sk-storm-{secrets.token_hex(12)}",
            "base_url": f"https://proxy{n}.example.org/v1" if rng.random() < 0.5 else None,
        }
        status, _ = await self._call(rng, "PUT", f"credentials/{cid}", body)
        value = {**self.model.credentials[cid], **body}
        if status == 200:
            self.model.credentials[cid] = value
        elif status == 0:
            self._unknown("credential", cid, value)
        else:
            self.tally.unexpected.append(f"PUT credentials/{cid}: {status}")

    async def _delete_credential(self, rng, ids) -> None:
        cid = ids.pop(rng.randrange(len(ids)))
        status, _ = await self._call(rng, "DELETE", f"credentials/{cid}")
        if status == 200:
            del self.model.credentials[cid]
        elif status == 0:
            self._unknown("credential", cid, None)
        else:
            self.tally.unexpected.append(f"DELETE credentials/{cid}: {status}")

    # -- notebooks -------------------------------------------------------------

    async def _create_notebook(self, rng, index, n, ids) -> None:
        body = {"name": f"nb {index}-{n}", "description": word(rng)}
        status, data = await self._call(rng, "POST", "notebooks", body)
        if status == 200:
            self.model.notebooks[data["id"]] = dict(body)
            ids.append(data["id"])
        elif status == 0:
            self.model.in_flight_creates.append(("notebook", body))

    async def _update_notebook(self, rng, index, n, ids) -> None:
        nid = rng.choice(ids)
        body = {"name": f"nb {index}-{n} renamed", "description": word(rng)}
        status, _ = await self._call(rng, "PUT", f"notebooks/{nid}", body)
        if status == 200:
            self.model.notebooks[nid] = dict(body)
        elif status == 0:
            self._unknown("notebook", nid, dict(body))
        else:
            self.tally.unexpected.append(f"PUT notebooks/{nid}: {status}")

    async def _delete_notebook(self, rng, ids) -> None:
        nid = ids.pop(rng.randrange(len(ids)))
        exclusive = rng.random() < 0.5
        status, _ = await self._call(
            rng, "DELETE", f"notebooks/{nid}?delete_exclusive_sources={str(exclusive).lower()}"
        )
        if status == 200:
            self.model.deleted_notebooks.add(nid)
        elif status == 0:
            self._unknown("notebook", nid, None)
        else:
            self.tally.unexpected.append(f"DELETE notebooks/{nid}: {status}")

    # -- notes (in anyone's notebook) --------------------------------------------

    async def _create_note(self, rng, index, n, ids) -> None:
        live = self.model.live_notebooks()
        notebook = rng.choice(live) if live and rng.random() < 0.7 else None
        body = {
            "title": f"note {index}-{n}",
            "content": f"{word(rng)} {word(rng)}",
            "notebook_id": notebook,
        }
        status, data = await self._call(rng, "POST", "notes", body)
        if status == 200:
            self.model.notes[data["id"]] = dict(body)
            ids.append(data["id"])
        elif status == 404 and notebook is not None:
            self.model.needs_deleted_notebook.append(("POST notes", notebook))
        elif status == 0:
            self.model.in_flight_creates.append(("note", body))
        else:
            self.tally.unexpected.append(f"POST notes: {status}")

    async def _update_note(self, rng, index, n, ids) -> None:
        nid = rng.choice(ids)
        body = {"title": f"note {index}-{n} v2", "content": f"{word(rng)} {word(rng)}"}
        status, _ = await self._call(rng, "PUT", f"notes/{nid}", body)
        note = self.model.notes[nid]
        if status == 200:
            note.update(body)
        elif status == 404 and note["notebook_id"]:  # its notebook was deleted
            self.model.needs_deleted_notebook.append((f"PUT notes/{nid}", note["notebook_id"]))
            ids.remove(nid)
        elif status == 0:
            self._unknown("note", nid, {**note, **body})
        else:
            self.tally.unexpected.append(f"PUT notes/{nid}: {status}")

    async def _delete_note(self, rng, ids) -> None:
        nid = ids.pop(rng.randrange(len(ids)))
        status, _ = await self._call(rng, "DELETE", f"notes/{nid}")
        note = self.model.notes[nid]
        if status == 200:
            del self.model.notes[nid]
        elif status == 404 and note["notebook_id"]:
            self.model.needs_deleted_notebook.append((f"DELETE notes/{nid}", note["notebook_id"]))
        elif status == 0:
            self._unknown("note", nid, None)
        else:
            self.tally.unexpected.append(f"DELETE notes/{nid}: {status}")

    # -- sources (linked into anyone's notebooks) ----------------------------------

    async def _create_source(self, rng, index, n, ids) -> None:
        live = self.model.live_notebooks()
        notebooks = [rng.choice(live)] if live else []
        body = {
            "type": "text",
            "title": f"source {index}-{n}",
            "content": f"{word(rng)} {word(rng)}",
            "notebooks": notebooks,
        }
        status, data = await self._call(rng, "POST", "sources/json", body)
        if status == 200:
            self.model.sources[data["id"]] = {"title": body["title"]}
            self.model.links.update((nb, data["id"]) for nb in notebooks)
            ids.append(data["id"])
        elif status == 404 and notebooks:
            self.model.needs_deleted_notebook.append(("POST sources", notebooks[0]))
        elif status == 0:
            self.model.in_flight_creates.append(("source", body))
        else:
            self.tally.unexpected.append(f"POST sources: {status}")

    async def _update_source(self, rng, index, n, ids) -> None:
        """Link one of mine into a random live notebook (often someone else's)."""
        sid = rng.choice(ids)
        live = self.model.live_notebooks()
        if not live:
            return
        nb = rng.choice(live)
        status, _ = await self._call(rng, "POST", f"notebooks/{nb}/sources/{sid}")
        if status == 200:
            self.model.links.add((nb, sid))
            self.model.unlinked.discard((nb, sid))
        elif status == 404:
            # the notebook was deleted, or the source went with an exclusive delete
            self.model.link_404s.append((nb, sid))
        elif status == 0:
            self._unknown("link", f"{nb} {sid}", True)

    async def _delete_source(self, rng, ids) -> None:
        sid = ids.pop(rng.randrange(len(ids)))
        status, _ = await self._call(rng, "DELETE", f"sources/{sid}")
        if status == 200:
            self.model.deleted_sources.add(sid)
        elif status == 0:
            self._unknown("source", sid, None)
        # 404: an exclusive notebook delete took it (checked by verify's link rule)

    async def _read(self, rng, kind, ids) -> None:
        path = {
            "credential": "credentials",
            "notebook": "notebooks",
            "note": "notes",
            "source": "sources",
        }[kind]
        await self._call(rng, "GET", f"{path}/{rng.choice(ids)}" if ids else path)

    # -- checking ----------------------------------------------------------------

    def verify(self, db: Any, key: str, *, allow_in_flight: bool = False) -> dict[str, int]:
        """The database holds exactly the acknowledged state (``db``: ext, Database or URL).

        Returns counts of what was checked. Raises AssertionError listing differences.
        """
        m, problems = self.model, []
        fernet = Fernet(key.encode())
        if not allow_in_flight:
            assert not m.in_flight and not m.in_flight_creates, "unknown outcomes"
        assert not self.tally.unexpected, self.tally.unexpected[:20]

        # credentials: exactly the acknowledged ones, each key decrypting to the last value
        stored = {
            r[0]: r[1:]
            for r in rows(db, "SELECT id, name, api_key_encrypted, base_url FROM on_credentials")
        }
        decrypted = 0
        for cid, (name, token, base_url) in stored.items():
            try:
                api_key = fernet.decrypt(token.encode()).decode()
                decrypted += 1
            except Exception as e:
                problems.append(f"credential {cid} does not decrypt: {type(e).__name__}")
                continue
            value = {"name": name, "api_key": api_key, "base_url": base_url}
            if cid in m.credentials:
                options = [m.credentials[cid], *m.in_flight.get("credential", {}).get(cid, [])]
                if value not in options:
                    problems.append(f"credential {cid}: {value} not in {options}")
            elif not any(
                body["api_key"] == api_key
                for kind, body in m.in_flight_creates
                if kind == "credential"
            ):
                problems.append(f"credential {cid} was never acknowledged")
        for cid in m.credentials:
            if cid not in stored and None not in m.in_flight.get("credential", {}).get(cid, []):
                problems.append(f"acknowledged credential {cid} is missing")

        # notebooks
        notebooks = {
            r[0]: {"name": r[1], "description": r[2]}
            for r in rows(db, "SELECT id, name, description FROM on_notebooks")
        }
        expected_nb = {k: v for k, v in m.notebooks.items() if k not in m.deleted_notebooks}
        for nid, value in notebooks.items():
            options = [expected_nb.get(nid), *m.in_flight.get("notebook", {}).get(nid, [])]
            if value not in options and not (
                nid not in m.notebooks
                and any(
                    kind == "notebook" and body["name"] == value["name"]
                    for kind, body in m.in_flight_creates
                )
            ):
                problems.append(f"notebook {nid}: {value} not in {options}")
        for nid in expected_nb:
            if nid not in notebooks and None not in m.in_flight.get("notebook", {}).get(nid, []):
                problems.append(f"acknowledged notebook {nid} is missing")
        for what, nid in m.needs_deleted_notebook:
            if nid not in m.deleted_notebooks and nid in notebooks:
                problems.append(f"{what} answered 404 though notebook {nid} exists")

        # notes: acknowledged, not deleted, and their notebook still there
        notes = {
            r[0]: {"title": r[1], "content": r[2], "notebook_id": r[3]}
            for r in rows(db, "SELECT id, title, content, notebook_id FROM on_notes")
        }
        expected_notes = {
            k: v
            for k, v in m.notes.items()
            if v["notebook_id"] is None or v["notebook_id"] in notebooks
        }
        for nid, value in notes.items():
            options = [expected_notes.get(nid), *m.in_flight.get("note", {}).get(nid, [])]
            if value not in options and not (
                nid not in m.notes
                and any(
                    kind == "note" and body["title"] == value["title"]
                    for kind, body in m.in_flight_creates
                )
            ):
                problems.append(f"note {nid}: {value} not in {options}")
        for nid in expected_notes:
            if nid not in notes and None not in m.in_flight.get("note", {}).get(nid, []):
                problems.append(f"acknowledged note {nid} is missing")

        # sources: an acknowledged link into a notebook that still exists keeps the source
        # (unless it was deleted or unlinked itself)
        sources = {r[0] for r in rows(db, "SELECT id FROM on_sources")}
        links = set(rows(db, "SELECT notebook_id, source_id FROM on_notebook_sources"))
        for nb, sid in m.links:
            if (
                nb in notebooks
                and sid not in m.deleted_sources
                and (nb, sid) not in links
                and None not in m.in_flight.get("source", {}).get(sid, [])
            ):
                problems.append(f"acknowledged link {nb} -> {sid} is missing")
        for sid in sources - set(m.sources):
            if not any(kind == "source" for kind, _ in m.in_flight_creates):
                problems.append(f"source {sid} was never acknowledged")
        for sid in m.deleted_sources & sources:
            problems.append(f"deleted source {sid} is still there")
        for nb, sid in m.link_404s:
            if nb in notebooks and sid in sources:
                problems.append(f"linking {sid} to {nb} answered 404 though both exist")

        assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:30])
        return {
            "credentials": len(stored),
            "decrypted": decrypted,
            "notebooks": len(notebooks),
            "notes": len(notes),
            "sources": len(sources),
            "links": len(links),
        }


def start_servers(
    server_factory: Any, tmp_path: Path, count: int, db_url: str | None, key: str
) -> list[ServerProcess]:
    """``count`` servers, each with its own home and data directory, one key, one database."""
    env = {"OPEN_NOTEBOOK_ENCRYPTION_KEY": key}
    if db_url:
        env["OPEN_NOTEBOOK_DB_URL"] = db_url
    servers = [server_factory(home=tmp_path / f"home{i}", env=env) for i in range(count)]
    for server in servers:
        server.start(wait=False)
    for server in servers:
        server.wait_ready(120)
    return servers


def check_search_index(db: Any) -> None:
    """The full-text index was kept in step with every write (same transaction)."""
    notes, sources = (
        rows(db, f"SELECT count(*) FROM {t}")[0][0]  # noqa: S608
        for t in ("on_notes", "on_sources")
    )
    if str(db).startswith("postgresql"):
        for table, body in (("on_notes", "content"), ("on_sources", "full_text")):
            stale = rows(
                db,
                f"SELECT count(*) FROM {table} WHERE search_vector IS DISTINCT "  # noqa: S608
                f"FROM on_search_document(title, {body})",
            )
            assert stale == [(0,)], table
    else:
        assert rows(db, "SELECT count(*) FROM on_search_docs") == [(notes + sources,)]
        # FTS5's own check: raises if the index and its content disagree
        execute(db, "INSERT INTO on_search_fts(on_search_fts) VALUES('integrity-check')")
        assert rows(db, "SELECT count(*) FROM on_search_fts") == [(notes + sources,)]
