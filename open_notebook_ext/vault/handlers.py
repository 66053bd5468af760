"""Credential CRUD: Open Notebook's ``/credentials`` paths and JSON shapes."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from open_notebook_ext.http.base import OpenNotebookHandler
from open_notebook_ext.vault.probe import probe_connection


class CredentialHandlerBase(OpenNotebookHandler):
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
        credentials = self.services.credentials
        body = await self.read(credentials.list_json, self.owner, provider, limit, offset)
        self.send_json_bytes(body)

    @web.authenticated
    @authorized
    async def post(self) -> None:
        payload = self.read_json()
        created = await self.call(self.services.credentials.create, self.owner, payload)
        self.log.info("Created credential %s (%s)", created["id"], created["provider"])
        self.audit_credential("created", created)
        self.send_json(created, status=201)


class CredentialsByProviderHandler(OpenNotebookHandler):
    @web.authenticated
    @authorized
    async def get(self, provider: str) -> None:
        credentials = self.services.credentials
        self.send_json_bytes(await self.read(credentials.list_json, self.owner, provider))


class CredentialHandler(CredentialHandlerBase):
    @web.authenticated
    @authorized
    async def get(self, credential_id: str) -> None:
        self.send_json(await self.read(self.services.credentials.get, self.owner, credential_id))

    @web.authenticated
    @authorized
    async def put(self, credential_id: str) -> None:
        payload = self.read_json()
        updated = await self.call(
            self.services.credentials.update, self.owner, credential_id, payload
        )
        self.log.info("Updated credential %s", credential_id)
        self.audit_credential("updated", updated)
        self.send_json(updated)

    @web.authenticated
    @authorized
    async def delete(self, credential_id: str) -> None:
        deleted = await self.call(self.services.credentials.delete, self.owner, credential_id)
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
