"""The API's routes: patterns and the handler each leads to, named by module and class.

All handlers derive from ``base.OpenNotebookHandler``, one module per resource. The
server registers a stand-in per route (``http/deferred.py``) and imports the handler
modules after it is listening; ``ROUTES`` (the classes themselves) imports them.
"""

from __future__ import annotations

import functools
from importlib import import_module
from typing import Any

API = "open-notebook/api"

CREDENTIAL_ID = r"(?P<credential_id>[^/]+)"
NOTEBOOK_ID = r"(?P<notebook_id>[^/]+)"
NOTE_ID = r"(?P<note_id>[^/]+)"
SOURCE_ID = r"(?P<source_id>[^/]+)"

# (pattern relative to base_url, "module:HandlerClass"). Order matters: literal paths first.
TARGETS: list[tuple[str, str]] = [
    (rf"{API}/openapi\.json", "open_notebook_ext.http.meta:OpenAPIHandler"),
    (rf"{API}/providers", "open_notebook_ext.http.meta:ProvidersHandler"),
    (rf"{API}/credentials/status", "open_notebook_ext.vault.handlers:CredentialStatusHandler"),
    # imports from the environment and .env files (ecosystem/handlers.py)
    (rf"{API}/credentials/env-status", "open_notebook_ext.ecosystem.handlers:EnvStatusHandler"),
    (
        rf"{API}/credentials/migrate-from-env",
        "open_notebook_ext.ecosystem.handlers:MigrateFromEnvHandler",
    ),
    (rf"{API}/credentials/env-import", "open_notebook_ext.ecosystem.handlers:EnvImportHandler"),
    (
        rf"{API}/credentials/import-dotenv",
        "open_notebook_ext.ecosystem.handlers:DotenvImportHandler",
    ),
    (
        rf"{API}/credentials/by-provider/(?P<provider>[^/]+)",
        "open_notebook_ext.vault.handlers:CredentialsByProviderHandler",
    ),
    (rf"{API}/credentials", "open_notebook_ext.vault.handlers:CredentialsHandler"),
    (rf"{API}/credentials/{CREDENTIAL_ID}", "open_notebook_ext.vault.handlers:CredentialHandler"),
    (rf"{API}/notebooks", "open_notebook_ext.notebooks.handlers:NotebooksHandler"),
    (
        rf"{API}/notebooks/{NOTEBOOK_ID}/delete-preview",
        "open_notebook_ext.notebooks.handlers:NotebookDeletePreviewHandler",
    ),
    (
        rf"{API}/notebooks/{NOTEBOOK_ID}/sources/{SOURCE_ID}",
        "open_notebook_ext.notebooks.handlers:NotebookSourceHandler",
    ),
    (rf"{API}/notebooks/{NOTEBOOK_ID}", "open_notebook_ext.notebooks.handlers:NotebookHandler"),
    (rf"{API}/notes", "open_notebook_ext.notebooks.handlers:NotesHandler"),
    (rf"{API}/notes/{NOTE_ID}", "open_notebook_ext.notebooks.handlers:NoteHandler"),
    (rf"{API}/sources", "open_notebook_ext.notebooks.source_handlers:SourcesHandler"),
    (rf"{API}/sources/json", "open_notebook_ext.notebooks.source_handlers:SourcesJsonHandler"),
    (rf"{API}/sources/{SOURCE_ID}", "open_notebook_ext.notebooks.source_handlers:SourceHandler"),
    (rf"{API}/search", "open_notebook_ext.notebooks.search_handlers:SearchHandler"),
    (
        rf"{API}/credentials/{CREDENTIAL_ID}/secret",
        "open_notebook_ext.vault.secret_handlers:SecretHandler",
    ),
    (
        rf"{API}/credentials/{CREDENTIAL_ID}/test",
        "open_notebook_ext.vault.handlers:CredentialTestHandler",
    ),
    (rf"{API}/secrets", "open_notebook_ext.vault.secret_handlers:SecretsListHandler"),
    (rf"{API}/secrets/get", "open_notebook_ext.vault.secret_handlers:SecretByNameHandler"),
    (rf"{API}/grants", "open_notebook_ext.vault.secret_handlers:GrantsHandler"),
    (rf"{API}/grants/(?P<grant_id>[^/]+)", "open_notebook_ext.vault.secret_handlers:GrantHandler"),
    (rf"{API}/grant-prompts", "open_notebook_ext.vault.prompt_handlers:GrantPromptsHandler"),
    (rf"{API}/grant-prompts/socket", "open_notebook_ext.vault.prompt_handlers:GrantPromptSocket"),
    (
        rf"{API}/grant-prompts/(?P<prompt_id>[^/]+)",
        "open_notebook_ext.vault.prompt_handlers:GrantPromptHandler",
    ),
    (rf"{API}/audit", "open_notebook_ext.audit.handlers:AuditHandler"),
    (rf"{API}/redaction/keys", "open_notebook_ext.vault.redaction_handlers:RedactionKeysHandler"),
    (rf"{API}/proxy/{CREDENTIAL_ID}/(?P<path>.*)", "open_notebook_ext.proxy.handlers:ProxyHandler"),
    (rf"{API}/usage", "open_notebook_ext.proxy.usage_handlers:UsageHandler"),
    (rf"{API}/budgets", "open_notebook_ext.proxy.usage_handlers:BudgetsHandler"),
    (
        rf"{API}/budgets/(?P<budget_id>[^/]+)",
        "open_notebook_ext.proxy.usage_handlers:BudgetHandler",
    ),
    # What admins of the service do with the credentials hub groups share (service mode)
    (rf"{API}/admin/credentials", "open_notebook_ext.vault.admin_handlers:AdminCredentialsHandler"),
    (
        rf"{API}/admin/credentials/{CREDENTIAL_ID}",
        "open_notebook_ext.vault.admin_handlers:AdminCredentialHandler",
    ),
    (rf"{API}/admin/budgets", "open_notebook_ext.vault.admin_handlers:AdminBudgetsHandler"),
    (
        rf"{API}/admin/budgets/(?P<budget_id>[^/]+)",
        "open_notebook_ext.vault.admin_handlers:AdminBudgetHandler",
    ),
    (rf"{API}/admin/usage", "open_notebook_ext.vault.admin_handlers:AdminUsageHandler"),
    # Last: anything else under the API prefix is a JSON 404, not Jupyter's HTML page.
    (rf"{API}(?:/.*)?", "open_notebook_ext.http.base:NotFoundHandler"),
]


def resolve(target: str) -> type:
    """The handler class a ``"module:Class"`` target names (importing its module)."""
    module, _, name = target.partition(":")
    handler: type = getattr(import_module(module), name)
    return handler


@functools.cache
def _routes() -> list[tuple[str, type]]:
    return [(pattern, resolve(target)) for pattern, target in TARGETS]


def __getattr__(name: str) -> Any:
    # ROUTES: (pattern, handler class), importing every handler module on first use
    if name == "ROUTES":
        return _routes()
    raise AttributeError(name)
