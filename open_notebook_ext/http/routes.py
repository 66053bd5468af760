"""HTTP handlers, one module per resource; all derive from ``base.OpenNotebookHandler``."""

from __future__ import annotations

from open_notebook_ext.audit.handlers import AuditHandler
from open_notebook_ext.ecosystem.handlers import ROUTES as IMPORT_ROUTES
from open_notebook_ext.http.base import NotFoundHandler
from open_notebook_ext.http.meta import OpenAPIHandler, ProvidersHandler
from open_notebook_ext.notebooks.handlers import (
    NOTE_ID,
    NOTEBOOK_ID,
    NotebookDeletePreviewHandler,
    NotebookHandler,
    NotebooksHandler,
    NotebookSourceHandler,
    NoteHandler,
    NotesHandler,
)
from open_notebook_ext.notebooks.search_handlers import SearchHandler
from open_notebook_ext.notebooks.source_handlers import (
    SOURCE_ID,
    SourceHandler,
    SourcesHandler,
    SourcesJsonHandler,
)
from open_notebook_ext.proxy.handlers import ProxyHandler
from open_notebook_ext.proxy.usage_handlers import BudgetHandler, BudgetsHandler, UsageHandler
from open_notebook_ext.vault.handlers import (
    CREDENTIAL_ID,
    CredentialHandler,
    CredentialsByProviderHandler,
    CredentialsHandler,
    CredentialStatusHandler,
    CredentialTestHandler,
)
from open_notebook_ext.vault.prompt_handlers import (
    GrantPromptHandler,
    GrantPromptsHandler,
    GrantPromptSocket,
)
from open_notebook_ext.vault.secret_handlers import (
    GrantHandler,
    GrantsHandler,
    SecretByNameHandler,
    SecretHandler,
    SecretsListHandler,
)

API = "open-notebook/api"

# (pattern relative to base_url, handler). Order matters: literal paths first.
ROUTES: list[tuple[str, type]] = [
    (rf"{API}/openapi\.json", OpenAPIHandler),
    (rf"{API}/providers", ProvidersHandler),
    (rf"{API}/credentials/status", CredentialStatusHandler),
    # env-status, migrate-from-env, env-import, import-dotenv (ecosystem/handlers.py)
    *((rf"{API}/{path}", handler) for path, handler in IMPORT_ROUTES),
    (rf"{API}/credentials/by-provider/(?P<provider>[^/]+)", CredentialsByProviderHandler),
    (rf"{API}/credentials", CredentialsHandler),
    (rf"{API}/credentials/{CREDENTIAL_ID}", CredentialHandler),
    (rf"{API}/notebooks", NotebooksHandler),
    (rf"{API}/notebooks/{NOTEBOOK_ID}/delete-preview", NotebookDeletePreviewHandler),
    (rf"{API}/notebooks/{NOTEBOOK_ID}/sources/{SOURCE_ID}", NotebookSourceHandler),
    (rf"{API}/notebooks/{NOTEBOOK_ID}", NotebookHandler),
    (rf"{API}/notes", NotesHandler),
    (rf"{API}/notes/{NOTE_ID}", NoteHandler),
    (rf"{API}/sources", SourcesHandler),
    (rf"{API}/sources/json", SourcesJsonHandler),
    (rf"{API}/sources/{SOURCE_ID}", SourceHandler),
    (rf"{API}/search", SearchHandler),
    (rf"{API}/credentials/{CREDENTIAL_ID}/secret", SecretHandler),
    (rf"{API}/credentials/{CREDENTIAL_ID}/test", CredentialTestHandler),
    (rf"{API}/secrets", SecretsListHandler),
    (rf"{API}/secrets/get", SecretByNameHandler),
    (rf"{API}/grants", GrantsHandler),
    (rf"{API}/grants/(?P<grant_id>[^/]+)", GrantHandler),
    (rf"{API}/grant-prompts", GrantPromptsHandler),
    (rf"{API}/grant-prompts/socket", GrantPromptSocket),
    (rf"{API}/grant-prompts/(?P<prompt_id>[^/]+)", GrantPromptHandler),
    (rf"{API}/audit", AuditHandler),
    (rf"{API}/proxy/{CREDENTIAL_ID}/(?P<path>.*)", ProxyHandler),
    (rf"{API}/usage", UsageHandler),
    (rf"{API}/budgets", BudgetsHandler),
    (rf"{API}/budgets/(?P<budget_id>[^/]+)", BudgetHandler),
    # Last: anything else under the API prefix is a JSON 404, not Jupyter's HTML page.
    (rf"{API}(?:/.*)?", NotFoundHandler),
]
