"""HTTP handlers, one module per resource; all derive from ``base.OpenNotebookHandler``."""

from __future__ import annotations

from .audit import AuditHandler
from .base import NotFoundHandler
from .credentials import (
    CREDENTIAL_ID,
    CredentialHandler,
    CredentialsByProviderHandler,
    CredentialsHandler,
    CredentialStatusHandler,
)
from .meta import OpenAPIHandler, ProvidersHandler
from .secrets import (
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
    (rf"{API}/credentials/by-provider/(?P<provider>[^/]+)", CredentialsByProviderHandler),
    (rf"{API}/credentials", CredentialsHandler),
    (rf"{API}/credentials/{CREDENTIAL_ID}", CredentialHandler),
    (rf"{API}/credentials/{CREDENTIAL_ID}/secret", SecretHandler),
    (rf"{API}/secrets", SecretsListHandler),
    (rf"{API}/secrets/get", SecretByNameHandler),
    (rf"{API}/grants", GrantsHandler),
    (rf"{API}/grants/(?P<grant_id>[^/]+)", GrantHandler),
    (rf"{API}/audit", AuditHandler),
    # Last: anything else under the API prefix is a JSON 404, not Jupyter's HTML page.
    (rf"{API}(?:/.*)?", NotFoundHandler),
]
