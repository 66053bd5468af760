"""Imports of provider keys: Open Notebook's ``credentials/env-status`` and
``credentials/migrate-from-env``, and the panel's "Import from environment" (which
variables are there, by name; import the chosen providers; the same for a ``.env``)."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from open_notebook_ext.ecosystem import dotenv
from open_notebook_ext.ecosystem.env_import import (
    DOTENV_IMPORTED_NAME,
    env_status,
    found,
    import_credentials,
)
from open_notebook_ext.ecosystem.setup import ENVIRON_SETTING
from open_notebook_ext.http.base import OpenNotebookHandler
from open_notebook_ext.http.errors import field_error


class _ImportHandler(OpenNotebookHandler):
    @property
    def environ(self) -> dict[str, str]:
        return self.settings.get(ENVIRON_SETTING) or {}

    def body_or_empty(self) -> dict[str, Any]:
        if not self.body.strip():
            return {}
        body = self.read_json()
        if not isinstance(body, dict):
            raise field_error("", "request body must be a JSON object")
        return body

    def read_dotenv(self) -> dict[str, str]:
        try:
            return dotenv.read(dotenv.contents_root(self.ext) / dotenv.DOTENV_NAME)
        except dotenv.DotenvError as e:
            raise field_error("", str(e)) from None

    def audit_imported(self, result: dict[str, Any], source: str) -> None:
        for c in result["credentials"]:
            self.audit(
                "credential",
                action="created",
                credential_id=c["id"],
                credential_name=c["name"],
                provider=c["provider"],
                source=source,
            )
        if result["migrated"]:
            self.log.info(
                "Imported credentials for %s from the %s", ", ".join(result["migrated"]), source
            )


class EnvStatusHandler(_ImportHandler):
    """``GET credentials/env-status``: provider -> configured by the server's environment."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.send_json(env_status(self.environ))


class MigrateFromEnvHandler(_ImportHandler):
    """``POST credentials/migrate-from-env``: Open Notebook's import, in one transaction;
    ``{"providers": [...]}`` imports those only."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body_or_empty()
        result = await self.call(
            import_credentials,
            self.services.credentials,
            self.owner,
            self.environ,
            body.get("providers"),
        )
        self.audit_imported(result, "environment")
        self.send_json(result)


class EnvImportHandler(_ImportHandler):
    """``GET credentials/env-import``: the variable names found, per provider, in the
    server's environment and in the ``.env`` file at the root of the contents."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        from_dotenv = self.read_dotenv()
        path = dotenv.contents_root(self.ext) / dotenv.DOTENV_NAME
        self.send_json(
            {
                "environment": await self.read(
                    found, self.services.credentials, self.owner, self.environ
                ),
                "dotenv": {
                    "path": dotenv.DOTENV_NAME,
                    "exists": path.is_file(),
                    "providers": await self.read(
                        found, self.services.credentials, self.owner, from_dotenv
                    ),
                },
            }
        )


class DotenvImportHandler(_ImportHandler):
    """``POST credentials/import-dotenv``: the chosen providers' keys from ``.env``;
    ``"remove_imported": true`` then takes the imported variables out of the file
    (deleting it when nothing else is left). Without it the file is left alone."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body_or_empty()
        remove = body.get("remove_imported", False)
        if not isinstance(remove, bool):
            raise field_error("remove_imported", "must be a boolean")
        values = self.read_dotenv()
        result = await self.call(
            import_credentials,
            self.services.credentials,
            self.owner,
            values,
            body.get("providers"),
            name=DOTENV_IMPORTED_NAME,
        )
        self.audit_imported(result, "dotenv")
        result["dotenv_removed"] = False
        result["dotenv_variables_removed"] = []
        if remove:
            # only what was imported now: a skipped provider's credential may hold
            # another key than the file
            names = _imported_names(values, result["migrated"])
            path = dotenv.contents_root(self.ext) / dotenv.DOTENV_NAME
            if names and path.is_file():
                result["dotenv_removed"] = dotenv.remove_names(path, names)
                result["dotenv_variables_removed"] = sorted(names)
        self.send_json(result)


def _imported_names(values: dict[str, str], providers: list[str]) -> set[str]:
    """The variables of ``providers`` present in ``values``."""
    from open_notebook_ext.ecosystem.env_import import variables_found

    return {v for p in providers for v in variables_found(values, p)}
