"""``jupyter open-notebook import-env``: provider keys from the environment or a ``.env``
file into encrypted credentials (the command-line side of the panel's "Import from
environment")."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from traitlets import Bool, List, Unicode

from open_notebook_ext.audit.log import AuditLog
from open_notebook_ext.cli import EXIT_PROBLEM, _Command, _os_user
from open_notebook_ext.ecosystem import dotenv
from open_notebook_ext.ecosystem.env_import import (
    DOTENV_IMPORTED_NAME,
    MIGRATED_NAME,
    found,
    import_credentials,
)
from open_notebook_ext.errors import Conflict, InvalidInput
from open_notebook_ext.vault.keyring import EncryptionNotConfigured


class ImportEnvApp(_Command):
    name = "import-env"
    description = """Import provider keys from this command's environment (or a .env file).

    Lists the variables found by name (--list; values are never printed), or imports
    the chosen providers (--provider, repeatable; default: every configured one) as
    credentials of the owner (--owner; default OpenNotebookApp.owner), in one
    transaction, skipping providers that already have a credential. With --dotenv=PATH
    the values come from that file; --remove-imported then takes the imported variables
    out of it (deleting it when nothing else is left); without it the file is untouched.
    Exit code 1 when a value cannot be stored (the field is named, not the value)."""

    providers = List(Unicode(), config=True, help="Providers to import (default: all).")
    dotenv_path = Unicode("", config=True, help="Read this .env file instead of the environment.")
    list_only = Bool(False, config=True, help="Only list the variables found, by name.")
    remove_imported = Bool(
        False, config=True, help="With --dotenv: remove the imported variables from the file."
    )
    as_json = Bool(False, config=True, help="Print JSON.")

    aliases = {
        **_Command.aliases,
        "provider": "ImportEnvApp.providers",
        "dotenv": "ImportEnvApp.dotenv_path",
        "owner": "OpenNotebookApp.owner",
    }
    flags = {
        "list": ({"ImportEnvApp": {"list_only": True}}, "Only list the variables found."),
        "remove-imported": (
            {"ImportEnvApp": {"remove_imported": True}},
            "With --dotenv: remove the imported variables from the file.",
        ),
        "json": ({"ImportEnvApp": {"as_json": True}}, "Print JSON."),
    }

    def source(self) -> dict[str, str]:
        if not self.dotenv_path:
            return dict(os.environ)
        path = Path(self.dotenv_path)
        if not path.is_file():
            self.fail(f"there is no file at {path}")
        try:
            return dotenv.read(path)
        except dotenv.DotenvError as e:
            self.fail(str(e))
            raise  # unreachable

    def start(self) -> None:
        if self.remove_imported and not self.dotenv_path:
            self.fail("--remove-imported needs --dotenv (the environment is not edited)")
        settings = self.settings()
        owner = settings.owner
        values = self.source()
        backend = self.open()
        try:
            if self.list_only:
                self.print_found(found(backend.credentials, owner, values))
                return
            try:
                result = import_credentials(
                    backend.credentials,
                    owner,
                    values,
                    self.providers or None,
                    name=DOTENV_IMPORTED_NAME if self.dotenv_path else MIGRATED_NAME,
                )
            except InvalidInput as e:
                for err in e.errors:
                    print(f"{err['field']}: {err['message']}", file=sys.stderr)
                print("nothing was imported", file=sys.stderr)
                self.exit(EXIT_PROBLEM)
            except (EncryptionNotConfigured, Conflict) as e:
                self.fail(str(e), EXIT_PROBLEM)
        finally:
            backend.close()
        source = "dotenv" if self.dotenv_path else "environment"
        audit = AuditLog(
            settings.audit_log or None,
            max_bytes=settings.audit_log_max_bytes,
            backups=settings.audit_log_backups,
        )
        for c in result["credentials"]:
            audit.emit(
                "credential",
                action="created",
                owner=owner,
                user=_os_user(),
                credential_id=c["id"],
                credential_name=c["name"],
                provider=c["provider"],
                source=source,
            )
        audit.close()
        if self.remove_imported and result["migrated"]:
            from open_notebook_ext.ecosystem.env_import import variables_found

            names = {v for p in result["migrated"] for v in variables_found(values, p)}
            result["dotenv_removed"] = dotenv.remove_names(Path(self.dotenv_path), names)
            result["dotenv_variables_removed"] = sorted(names)
        if self.as_json:
            print(json.dumps(result, indent=2))
            return
        print(f"imported: {', '.join(result['migrated']) or '-'}")
        print(f"skipped (a credential exists): {', '.join(result['skipped']) or '-'}")
        if result.get("dotenv_variables_removed"):
            print(
                f"removed from {self.dotenv_path}: "
                f"{', '.join(result['dotenv_variables_removed'])}"
                + (
                    " (the file is deleted: nothing else was in it)"
                    if result["dotenv_removed"]
                    else ""
                )
            )

    def print_found(self, providers: list[dict]) -> None:
        if self.as_json:
            print(json.dumps(providers, indent=2))
            return
        if not providers:
            print("no provider variables found")
        for p in providers:
            state = "configured" if p["configured"] else "incomplete"
            print(
                f"{p['provider']}: {', '.join(p['variables'])} ({state}; "
                f"{p['credentials']} credential(s) stored)"
            )
