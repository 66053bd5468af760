"""Reading credentials: one, a list, and the list as JSON bytes for ``GET credentials``.

Reads select exactly the columns of a credential's JSON (plain rows, no ORM
objects), the JSON column as text, decoded once per distinct value; statements
are built once, at import (constructing one per request costs more than running
it, and ``Database.fetch_all`` compiles each statement once).

``GET credentials`` is mostly the same list each time. :meth:`ListingStore.list_json`
keeps the JSON it answered with, under the version of ``on_credential_changes``
read before the rows (a trigger increments it on every write of a credential, by
any server or tool: migration 0007), and answers with it again while the version
stays. When it changed, it reads only each row's id and ``row_version`` (which a
trigger increments on every update of the row), in the list's order, from the
index ``ix_on_credentials_list`` alone, and reuses the JSON it made before for
every row still at the version that JSON was made from. A changed row is read
again; many changed rows, the whole list.

What is kept is the public shape (the key is never in it), so the caches hold
nothing secret. A row whose key still needs re-encrypting under the primary key
is never kept, nor a list holding one, so every read of it goes on queueing that
(lazy rotation).
"""

from __future__ import annotations

import builtins
import functools
import json
from typing import Any, cast

import orjson
from sqlalchemy import Table, Text, bindparam, select, type_coerce

from open_notebook_ext.db.common import isoformat
from open_notebook_ext.db.orm import Credential, CredentialChanges
from open_notebook_ext.errors import NotFound
from open_notebook_ext.vault.fields import OPTIONAL_COLUMNS
from open_notebook_ext.vault.rotation import RotatingStore, Rotation

_TABLE = cast(Table, Credential.__table__)  # the ORM types it as any FromClause
_CHANGES = cast(Table, CredentialChanges.__table__)

NOT_FOUND = "Credential not found"
# Rows whose JSON is kept between lists (about half a kilobyte each); past this,
# everything is forgotten and made again.
ROW_CACHE_SIZE = 100_000
# Changed rows read again one by one up to this many; past it, the whole list is.
REREAD_ONE_BY_ONE = 64
# Whole lists kept (one per owner, filter and page); past this, all are forgotten.
LISTS_KEPT = 64

# What a credential's JSON is made of, in the order of its keys.
JSON_COLUMNS = (
    "id",
    "name",
    "provider",
    "modalities",
    *OPTIONAL_COLUMNS,
    "key_access",
    "api_key_encrypted",
    "api_key_hint",
    "created",
    "updated",
)
_COLUMNS = [
    type_coerce(_TABLE.c[c], Text).label(c) if c == "modalities" else _TABLE.c[c]
    for c in JSON_COLUMNS
]
# a row as read for a list: its JSON's columns, then its version
_ROW = [*_COLUMNS, _TABLE.c.row_version]
# Which rows a list has, and whether a row's JSON is still the one made before.
_VERSION = [_TABLE.c.id, _TABLE.c.row_version]

_CHANGE_VERSION = select(_CHANGES.c.version).where(_CHANGES.c.id == 1)
_GET_ONE = select(*_ROW).where(
    _TABLE.c.owner == bindparam("owner"), _TABLE.c.id == bindparam("cid")
)
_NO_LIMIT = 2**62


def _list_statement(columns: builtins.list[Any], by_provider: bool, paged: bool) -> Any:
    query = select(*columns).where(_TABLE.c.owner == bindparam("owner"))
    if by_provider:
        query = query.where(_TABLE.c.provider == bindparam("provider"))
    # the order of ix_on_credentials_list: no sort, and a page reads only its rows
    query = query.order_by(_TABLE.c.provider, _TABLE.c.created, _TABLE.c.id)
    if paged:
        query = query.limit(bindparam("limit")).offset(bindparam("offset"))
    return query


_KEYS = ((False, False), (False, True), (True, False), (True, True))
_LIST = {k: _list_statement(_ROW, *k) for k in _KEYS}
_LIST_VERSIONS = {k: _list_statement(_VERSION, *k) for k in _KEYS}


@functools.lru_cache(maxsize=1024)
def _decode_modalities(raw: str) -> tuple[str, ...]:
    return tuple(json.loads(raw))


def _modalities(value: Any) -> builtins.list[str]:
    """A row's modalities as a new list: decoded JSON text, or a list the driver decoded."""
    if not value:
        return []
    if isinstance(value, str):
        return list(_decode_modalities(value))
    return list(value)


class ListingStore(RotatingStore):
    """The reads of :class:`~open_notebook_ext.vault.credentials.CredentialStore`."""

    def __init__(self) -> None:
        # id -> (row_version, JSON bytes)
        self._kept: dict[str, tuple[int, bytes]] = {}
        # (owner, provider, limit, offset) -> (change version, the list's JSON)
        self._lists: dict[tuple[Any, ...], tuple[int, bytes]] = {}

    def _json(
        self, values: dict[str, Any], rotations: builtins.list[Rotation] | None
    ) -> dict[str, Any]:
        """The API shape, from a dict of the ``JSON_COLUMNS`` values (consumed)."""
        token = values.pop("api_key_encrypted")
        values.update(
            modalities=_modalities(values["modalities"]),
            has_api_key=token is not None,
            created=isoformat(values["created"]),
            updated=isoformat(values["updated"]),
            model_count=0,
            decryption_error=self._check_token(values["id"], token, rotations),
        )
        return values

    def to_json(
        self, row: Credential, rotations: builtins.list[Rotation] | None = None
    ) -> dict[str, Any]:
        return self._json({c: getattr(row, c) for c in JSON_COLUMNS}, rotations)

    def _params(
        self, owner: str, provider: str | None, limit: int | None, offset: int
    ) -> tuple[tuple[bool, bool], dict[str, Any]]:
        params: dict[str, Any] = {"owner": owner}
        if provider is not None:
            params["provider"] = provider.strip().lower()
        paged = limit is not None or offset > 0
        if paged:
            params.update(limit=_NO_LIMIT if limit is None else limit, offset=offset)
        return (provider is not None, paged), params

    def list(
        self, owner: str, provider: str | None = None, limit: int | None = None, offset: int = 0
    ) -> builtins.list[dict[str, Any]]:
        """``owner``'s credentials, by provider, then creation time (then id)."""
        key, params = self._params(owner, provider, limit, offset)
        rotations: builtins.list[Rotation] = []
        result = [
            self._json(dict(zip(JSON_COLUMNS, row[:-1], strict=True)), rotations)
            for row in self.db.fetch_all(_LIST[key], params)
        ]
        self.rotate_lazily(rotations)
        return result

    def get(self, owner: str, credential_id: str) -> dict[str, Any]:
        rows = self.db.fetch_all(_GET_ONE, {"owner": owner, "cid": credential_id})
        if not rows:
            raise NotFound(NOT_FOUND)
        rotations: builtins.list[Rotation] = []
        result = self._json(dict(zip(JSON_COLUMNS, rows[0][:-1], strict=True)), rotations)
        self.rotate_lazily(rotations)
        return result

    def list_json(
        self, owner: str, provider: str | None = None, limit: int | None = None, offset: int = 0
    ) -> bytes:
        """What :meth:`list` returns, as JSON bytes: the list made before while no
        credential was written since, else made again from each unchanged row's JSON."""
        key, params = self._params(owner, provider, limit, offset)
        list_key = (owner, params.get("provider"), params.get("limit"), params.get("offset"))
        # read before the rows: a write in between makes the next list be made again
        found = self.db.fetch_all(_CHANGE_VERSION)
        version = found[0][0] if found else None
        kept = self._lists.get(list_key)
        if kept is not None and version is not None and kept[0] == version:
            return kept[1]
        body, complete = self._made_list(key, params)
        if complete and version is not None:
            if len(self._lists) >= LISTS_KEPT:
                self._lists.clear()
            self._lists[list_key] = (version, body)
        return body

    def _made_list(self, key: tuple[bool, bool], params: dict[str, Any]) -> tuple[bytes, bool]:
        """The list's JSON, and whether it may be kept (no key in it needs re-encrypting)."""
        kept = self._kept
        versions = self.db.fetch_all(_LIST_VERSIONS[key], params)
        parts: builtins.list[bytes | None] = []
        changed: builtins.list[int] = []
        for cid, row_version in versions:
            entry = kept.get(cid)
            if entry is not None and entry[0] == row_version:
                parts.append(entry[1])
            else:
                changed.append(len(parts))
                parts.append(None)
        rotations: builtins.list[Rotation] = []
        if len(changed) > REREAD_ONE_BY_ONE:
            # the whole list again, from one statement (its rows, not the versions read)
            rows = self.db.fetch_all(_LIST[key], params)
            parts = [self._keep(row, rotations) for row in rows]
        else:
            for i in changed:
                cid = versions[i][0]
                row = self.db.fetch_all(_GET_ONE, {"owner": params["owner"], "cid": cid})
                # gone since the versions were read: left out, as if deleted just before
                parts[i] = self._keep(row[0], rotations) if row else None
        self.rotate_lazily(rotations)
        body = b"[" + b",".join(p for p in parts if p is not None) + b"]"
        return body, not rotations

    def _keep(self, row: Any, rotations: builtins.list[Rotation]) -> bytes:
        """One row's JSON, kept under its version (unless its key needs re-encrypting:
        then it is made again, and queued again, at every read)."""
        queued = len(rotations)
        values = dict(zip(JSON_COLUMNS, row[:-1], strict=True))
        body = orjson.dumps(self._json(values, rotations))
        if len(rotations) == queued:
            if len(self._kept) >= ROW_CACHE_SIZE:
                self._kept.clear()
            self._kept[values["id"]] = (row[-1], body)
        return body
