"""Credentials a hub group owns: what members see of them, and what an admin does with them.

A group's credential is a credential row owned by ``group/<name>``
(``vault/membership.py``), so every owner-scoped route leaves it out. Members see it in
their list with a ``shared: true`` and ``group`` marker (the public shape: name, provider,
hint; never the key) and use it through the proxy (``vault/access.py``); only an admin
(the service's admin scope) creates, changes or deletes it, here, through
``admin/credentials``. It is always proxy-only (``key_access: proxy``): asking for
``read`` is refused, and no route hands its key out.

No HTTP here; every write is one transaction (``CredentialStore``'s).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import func, select

from open_notebook_ext.db.orm import Credential
from open_notebook_ext.errors import InvalidInput, NotFound
from open_notebook_ext.validation import text
from open_notebook_ext.vault.credentials import NOT_FOUND, CredentialStore
from open_notebook_ext.vault.membership import (
    GROUP_OWNER_PREFIX,
    MAX_GROUP_NAME,
    group_of,
    group_owner,
    group_owners,
)

PROXY_ONLY = (
    "a group's credential is always proxy-only (key_access: proxy): its key is never "
    "handed out, to members or anyone"
)
GROUP_FIXED = "a credential's group cannot be changed: create one for the other group"


def marked(item: dict[str, Any], group: str) -> dict[str, Any]:
    """A credential's JSON as members and admins see a group's: with its group."""
    return {**item, "key_access": "proxy", "shared": True, "group": group}


def _group_name(payload: Any) -> str:
    value = payload.get("group") if isinstance(payload, dict) else None
    if not isinstance(value, str):
        raise InvalidInput([{"field": "group", "message": "must be the hub group's name"}])
    try:
        name = text(value, max_len=MAX_GROUP_NAME, blank_ok=False)
    except ValueError as e:
        raise InvalidInput([{"field": "group", "message": str(e)}]) from None
    assert name is not None  # blank_ok=False
    return name


def _proxy_only(payload: Any, *, creating: bool) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidInput([{"field": "", "message": "request body must be a JSON object"}])
    if payload.get("key_access", "proxy") != "proxy":
        raise InvalidInput([{"field": "key_access", "message": PROXY_ONLY}])
    body = {k: v for k, v in payload.items() if k != "group"}
    if creating:
        body["key_access"] = "proxy"
    return body


class SharedCredentials:
    """The credentials of hub groups, over :class:`CredentialStore` with a group's owner."""

    def __init__(self, credentials: CredentialStore) -> None:
        self.credentials = credentials
        self.db = credentials.db

    # -- members ---------------------------------------------------------------

    def _owners_with_rows(self, owners: Sequence[str]) -> builtins.list[str]:
        if not owners:
            return []
        with self.db.session() as s:
            return sorted(
                s.scalars(select(Credential.owner).where(Credential.owner.in_(owners)).distinct())
            )

    def visible(
        self, groups: Sequence[str], provider: str | None = None
    ) -> builtins.list[dict[str, Any]]:
        """The credentials of ``groups``, marked, by group, then as a list is ordered."""
        out: builtins.list[dict[str, Any]] = []
        for owner in self._owners_with_rows(group_owners(groups)):
            group = group_of(owner)
            assert group is not None
            out.extend(marked(c, group) for c in self.credentials.list(owner, provider))
        return out

    def get_visible(self, groups: Sequence[str], credential_id: str) -> dict[str, Any]:
        owner = self._owner_of(credential_id, group_owners(groups))
        group = group_of(owner)
        assert group is not None
        return marked(self.credentials.get(owner, credential_id), group)

    def list_json(
        self,
        owner: str,
        groups: Sequence[str],
        provider: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> bytes:
        """``GET credentials``: the user's own list (``CredentialStore.list_json``, as
        before), then their groups' credentials; a page counts both, own first."""
        own = self.credentials.list_json(owner, provider, limit, offset)
        shared = self.visible(groups, provider) if groups else []
        if not shared:
            return own
        if limit is None and offset == 0:
            tail = orjson.dumps(shared)[1:]
            return (b"[" + tail) if own == b"[]" else own[:-1] + b"," + tail
        page = orjson.loads(own)
        room = None if limit is None else limit - len(page)
        if room is not None and room <= 0:
            return own
        query = select(func.count()).where(Credential.owner == owner)
        if provider is not None:
            query = query.where(Credential.provider == provider.strip().lower())
        with self.db.session() as s:
            mine = int(s.scalar(query) or 0)
        start = max(0, offset - mine)
        more = shared[start:] if room is None else shared[start : start + room]
        return orjson.dumps([*page, *more])

    # -- admins ----------------------------------------------------------------

    def _owner_of(self, credential_id: str, owners: Sequence[str] | None = None) -> str:
        """The group owner of a group's credential (among ``owners``), or NotFound."""
        query = select(Credential.owner).where(
            Credential.id == credential_id, Credential.owner.startswith(GROUP_OWNER_PREFIX)
        )
        if owners is not None:
            if not owners:
                raise NotFound(NOT_FOUND)
            query = query.where(Credential.owner.in_(owners))
        with self.db.session() as s:
            owner = s.scalar(query)
        if owner is None:
            raise NotFound(NOT_FOUND)
        return str(owner)

    def owner_of(self, credential_id: str) -> str:
        return self._owner_of(credential_id)

    def admin_list(self, group: str | None = None) -> builtins.list[dict[str, Any]]:
        if group is not None:
            owners = [group_owner(group)]
        else:
            with self.db.session() as s:
                owners = list(
                    s.scalars(
                        select(Credential.owner)
                        .where(Credential.owner.startswith(GROUP_OWNER_PREFIX))
                        .distinct()
                    )
                )
        return self.visible([g for g in (group_of(o) for o in owners) if g is not None])

    def admin_get(self, credential_id: str) -> dict[str, Any]:
        owner = self._owner_of(credential_id)
        return marked(self.credentials.get(owner, credential_id), group_of(owner) or "")

    def admin_create(self, payload: Any) -> dict[str, Any]:
        group = _group_name(payload)
        created = self.credentials.create(group_owner(group), _proxy_only(payload, creating=True))
        return marked(created, group)

    def admin_update(self, credential_id: str, payload: Any) -> dict[str, Any]:
        owner = self._owner_of(credential_id)
        group = group_of(owner) or ""
        if isinstance(payload, dict) and "group" in payload and payload["group"] != group:
            raise InvalidInput([{"field": "group", "message": GROUP_FIXED}])
        body = _proxy_only(payload, creating=False)
        return marked(self.credentials.update(owner, credential_id, body), group)

    def admin_delete(self, credential_id: str) -> dict[str, Any]:
        owner = self._owner_of(credential_id)
        return {**self.credentials.delete(owner, credential_id), "group": group_of(owner)}
