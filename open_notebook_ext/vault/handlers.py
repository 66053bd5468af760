"""Credential CRUD: Open Notebook's ``/credentials`` paths and JSON shapes."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from open_notebook_ext.http.base import ApiError, OpenNotebookHandler
from open_notebook_ext.http.errors import field_error
from open_notebook_ext.vault.probe import probe_connection

READ_ONLY = (
    "This credential belongs to group {group!r}: members use it through the proxy, and "
    "only an admin of the service may change or delete it"
)
ADMINS_ONLY = "only an admin creates a group's credential, at admin/credentials"


class CredentialHandlerBase(OpenNotebookHandler):
    async def shared_or_none(self, credential_id: str) -> dict[str, Any] | None:
        """The group's credential ``credential_id`` as this member sees it, if it is one."""
        if not self.groups:
            return None
        try:
            return await self.read(self.services.shared.get_visible, self.groups, credential_id)
        except ApiError as e:
            if e.status_code == 404:
                return None
            raise

    async def refuse_if_shared(self, credential_id: str, error: ApiError) -> ApiError:
        """A member's change to a group's credential is a 403; anything else ``error``."""
        if error.status_code == 404:
            shared = await self.shared_or_none(credential_id)
            if shared is not None:
                return ApiError(403, READ_ONLY.format(group=shared["group"]))
        return error

    def audit_credential(self, action: str, credential: dict, **data: object) -> None:
        self.audit(
            "credential",
            action=action,
            credential_id=credential["id"],
            credential_name=credential["name"],
            provider=credential["provider"],
            **data,
        )


class CredentialStatusHandler(OpenNotebookHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        # Both read the database (the key check is re-read: another server may change it).
        key_status = await self.read(self.ext.key_status)
        summary = await self.read(self.services.credentials.summary, self.owner)
        self.send_json({**key_status, **summary, **self.ext.isolation_status()})


class CredentialsHandler(CredentialHandlerBase):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        provider = self.get_query_argument("provider", None) or None
        limit = self.query_int("limit")
        offset = self.query_int("offset", default=0) or 0
        shared = self.services.shared
        body = await self.read(shared.list_json, self.owner, self.groups, provider, limit, offset)
        self.send_json_bytes(body)

    @web.authenticated
    @authorized
    async def post(self) -> None:
        payload = self.read_json()
        if isinstance(payload, dict) and payload.get("group") is not None:
            raise field_error("group", ADMINS_ONLY)
        created = await self.call(self.services.credentials.create, self.owner, payload)
        self.log.info("Created credential %s (%s)", created["id"], created["provider"])
        self.audit_credential("created", created)
        self.send_json(created, status=201)


class CredentialsByProviderHandler(OpenNotebookHandler):
    @web.authenticated
    @authorized
    async def get(self, provider: str) -> None:
        shared = self.services.shared
        self.send_json_bytes(await self.read(shared.list_json, self.owner, self.groups, provider))


class CredentialHandler(CredentialHandlerBase):
    @web.authenticated
    @authorized
    async def get(self, credential_id: str) -> None:
        try:
            found = await self.read(self.services.credentials.get, self.owner, credential_id)
        except ApiError as e:
            shared = await self.shared_or_none(credential_id) if e.status_code == 404 else None
            if shared is None:
                raise
            found = shared
        self.send_json(found)

    @web.authenticated
    @authorized
    async def put(self, credential_id: str) -> None:
        payload = self.read_json()
        try:
            updated = await self.call(
                self.services.credentials.update, self.owner, credential_id, payload
            )
        except ApiError as e:
            raise await self.refuse_if_shared(credential_id, e) from None
        self.log.info("Updated credential %s", credential_id)
        self.audit_credential("updated", updated)
        self.send_json(updated)

    @web.authenticated
    @authorized
    async def delete(self, credential_id: str) -> None:
        try:
            deleted = await self.call(self.services.credentials.delete, self.owner, credential_id)
        except ApiError as e:
            raise await self.refuse_if_shared(credential_id, e) from None
        self.log.info("Deleted credential %s", credential_id)
        self.audit_credential("deleted", deleted)
        # Open Notebook's answer (it also deletes the models linked to a credential)
        self.send_json({"message": "Credential deleted successfully", "deleted_models": 0})


class CredentialTestHandler(CredentialHandlerBase):
    """``POST credentials/{id}/test``: does the provider accept this key? (Open Notebook's shape)"""

    @web.authenticated
    @authorized
    async def post(self, credential_id: str) -> None:
        meta, secret = await self.read(
            self.services.secret_access.read,
            self.owner,
            credential_id=credential_id,
            require_key=False,
        )
        assert secret is not None  # no grant is needed for the credential's owner
        result = await probe_connection(
            secret,
            allow_private=self.ext.allow_private_targets,
            timeout=self.ext.connection_test_timeout,
        )
        self.audit_credential("tested", meta, success=result["success"])
        self.send_json(result)
