"""Reading a key on behalf of notebook code: find it, check the grant, decrypt — in one call.

One call (two small pre-compiled queries, on the event loop on SQLite) keeps
``secrets.get`` fast; the grant — and that its notebook is still the file it
was given for — is checked before the key is decrypted.

A reader's own credentials come first; only when none matches are the credentials of
the reader's hub groups looked at (``groups``, service mode: ``vault/membership.py``).
A group's credential is used by the proxy only: its grants are the reader's own (a
kernel needs its notebook granted, as for the reader's proxy-only keys), and handing
its key out is refused whatever its ``key_access`` says.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select

from open_notebook_ext.db.orm import Credential, Grant
from open_notebook_ext.errors import Conflict, NotFound, Unprocessable
from open_notebook_ext.vault.credentials import (
    NOT_FOUND,
    CredentialStore,
    Rotation,
)
from open_notebook_ext.vault.fields import OPTIONAL_COLUMNS as _OPTIONAL_COLUMNS
from open_notebook_ext.vault.grants import GrantStore
from open_notebook_ext.vault.keyring import DecryptionError
from open_notebook_ext.vault.membership import group_of, group_owners

_COLUMNS = [
    Credential.id,
    Credential.name,
    Credential.provider,
    Credential.api_key_encrypted,
    Credential.key_access,
    *(getattr(Credential, c) for c in _OPTIONAL_COLUMNS),
]
# Built once: constructing SQLAlchemy statements per call costs more than running them.
_BY_ID = (
    select(*_COLUMNS)
    .where(Credential.owner == bindparam("owner"), Credential.id == bindparam("cid"))
    .limit(2)
)
_BY_NAME = (
    select(*_COLUMNS)
    .where(Credential.owner == bindparam("owner"), Credential.name == bindparam("name"))
    .limit(2)
)
_BY_NAME_AND_PROVIDER = _BY_NAME.where(Credential.provider == bindparam("provider"))
_NAMES = tuple(c.key for c in _COLUMNS)
_GRANTS: dict[int, Any] = {}  # the grants query for n notebook paths (one or two, mostly)


def _grants(n: int) -> Any:
    """``SELECT`` the grants of a credential for ``n`` paths (``p0`` ... ``pn-1``): a
    statement per count, built once, so the database layer compiles it once."""
    found = _GRANTS.get(n)
    if found is None:
        found = select(Grant.id, Grant.notebook_path, Grant.file_id).where(
            Grant.owner == bindparam("owner"),
            Grant.credential_id == bindparam("cid"),
            Grant.notebook_path.in_([bindparam(f"p{i}") for i in range(n)]),
        )
        if len(_GRANTS) < 16:
            _GRANTS[n] = found
    return found


class ProxyOnly(Exception):
    """The credential's key is used only by the proxy (``key_access: proxy``)."""

    def __init__(self, credential: dict[str, Any]) -> None:
        super().__init__(credential["id"])
        self.credential = credential
        self.detail = (
            f"Credential {credential['name']!r} is proxy-only (key_access: proxy): its key "
            "is never handed out. Use it through the provider proxy: "
            f"p = secrets.proxy({credential['name']!r}), then, for example, "
            "OpenAI(base_url=p.base_url, api_key=p.api_key)."
        )


def _shared_rows(
    db: Any, groups: Sequence[str], credential_id: str | None, name: str, provider: str | None
) -> list[dict[str, Any]]:
    """Rows (as dicts, with ``owner``) of the groups' credentials matching the lookup."""
    query = select(*_COLUMNS, Credential.owner).where(Credential.owner.in_(group_owners(groups)))
    if credential_id is not None:
        query = query.where(Credential.id == credential_id)
    else:
        query = query.where(Credential.name == name)
        if provider:
            query = query.where(Credential.provider == provider)
    with db.session() as s:
        return [
            dict(zip((*_NAMES, "owner"), r, strict=True)) for r in s.execute(query.limit(2)).all()
        ]


class SecretAccess:
    def __init__(self, credentials: CredentialStore, grants: GrantStore) -> None:
        self.credentials = credentials
        self.grants = grants

    def read(
        self,
        owner: str,
        *,
        credential_id: str | None = None,
        name: str | None = None,
        provider: str | None = None,
        notebook_paths: list[str] | None = None,
        kernel_id: str | None = None,
        require_key: bool = True,
        reveal: bool = False,
        groups: Sequence[str] = (),
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """(id/name/provider/key_access, the secret or None when not granted).

        ``notebook_paths`` None means no grant is needed (a token holder, or
        ``require_grants`` off); ``kernel_id`` is the reading kernel (a console's grant
        is bound to it). ``reveal``: the key is to be handed to the caller
        (``secrets.get``), which a proxy-only credential refuses (:class:`ProxyOnly`,
        after the grant check, before decrypting). ``groups``: the reader's hub groups,
        whose credentials are found when none of the reader's own is (their meta has
        ``group``; always proxy-only). Raises NotFound, Conflict
        (ambiguous name), Unprocessable (no key, or undecryptable).
        """
        if credential_id is not None:
            query, params = _BY_ID, {"owner": owner, "cid": credential_id}
        elif provider:
            query, params = (
                _BY_NAME_AND_PROVIDER,
                {
                    "owner": owner,
                    "name": (name or "").strip(),
                    "provider": provider.strip().lower(),
                },
            )
        else:
            query, params = _BY_NAME, {"owner": owner, "name": (name or "").strip()}
        # Two small single-statement reads (Database.fetch_all: on SQLite the driver's
        # own connection, a statement compiled once): every secrets.get and proxied
        # call makes them, on the event loop.
        db = self.credentials.db
        rows = [dict(zip(_NAMES, r, strict=True)) for r in db.fetch_all(query, params)]
        if not rows and groups:
            rows = _shared_rows(
                db, groups, credential_id, params.get("name", ""), params.get("provider")
            )
        if not rows:
            raise NotFound(NOT_FOUND)
        if len(rows) > 1:
            providers = ", ".join(sorted(r["provider"] for r in rows))
            raise Conflict(f"Several credentials have this name ({providers}); give a provider")
        row = rows[0]
        meta = {
            "id": row["id"],
            "name": row["name"],
            "provider": row["provider"],
            "key_access": row["key_access"],
        }
        group = group_of(row.get("owner", ""))
        if group is not None:
            meta.update(key_access="proxy", group=group)
        grants: list[Any] = []
        if notebook_paths:
            values = {f"p{i}": p for i, p in enumerate(notebook_paths)}
            grants = db.fetch_all(
                _grants(len(notebook_paths)), {"owner": owner, "cid": row["id"], **values}
            )
        # a grant counts only while its notebook is the file it was given for
        if notebook_paths is not None and not self.grants.check_files(grants, kernel_id):
            return meta, None
        if reveal and meta["key_access"] == "proxy":
            raise ProxyOnly(meta)
        secret = {**meta, **{c: row[c] for c in _OPTIONAL_COLUMNS}, "api_key": None}
        if row["api_key_encrypted"] is None:
            if require_key:
                raise Unprocessable("This credential has no API key")
            return meta, secret
        keyring = self.credentials.keyring
        try:
            api_key, index = keyring.decrypt_with_index(row["api_key_encrypted"])
        except DecryptionError as e:
            raise Unprocessable(f"The API key {e}") from None
        if index:  # lazy rotation, as for every other read
            token, kid = keyring.encrypt(api_key)
            self.credentials.rotate_lazily(
                [Rotation(row["id"], row["api_key_encrypted"], token, kid)]
            )
        secret["api_key"] = api_key
        return meta, secret
