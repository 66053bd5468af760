"""The objects handlers use, built once at start-up and handed over in one typed place.

``app.py`` builds a :class:`Services` after its checks pass and publishes it in the
Tornado settings under :data:`SERVICES_SETTING`, as jupyter_server publishes its
managers (``settings["kernel_manager"]``); handlers read ``self.services.<name>``
(``http/base.py``). The request-side policy objects the base handler's mixins need
before any handler runs (origins, rate limit, body limits) are
:class:`RequestPolicy`. Configuration values (traits) stay on the app (``self.ext``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from open_notebook_ext.security.identity import TrustedProxies
from open_notebook_ext.security.origin import OriginPolicy

if TYPE_CHECKING:
    from open_notebook_ext.audit.log import AuditLog
    from open_notebook_ext.db.engine import Database
    from open_notebook_ext.http.auth import FailureLimiter
    from open_notebook_ext.kernels.tokens import KernelTokens
    from open_notebook_ext.notebooks.notebooks import NotebookStore
    from open_notebook_ext.notebooks.notes import NoteStore
    from open_notebook_ext.notebooks.sources import SourceStore
    from open_notebook_ext.notebooks.uploads import UploadArea
    from open_notebook_ext.proxy.config import ProviderProxy
    from open_notebook_ext.vault.access import SecretAccess
    from open_notebook_ext.vault.credentials import CredentialStore
    from open_notebook_ext.vault.grants import GrantStore
    from open_notebook_ext.vault.prompts import GrantPrompts
    from open_notebook_ext.vault.shared import SharedCredentials

SERVICES_SETTING = "open_notebook_services"
DEFAULT_BODY_LIMIT = 1024 * 1024
DEFAULT_BODY_TIMEOUT = 60.0


@dataclass(frozen=True)
class RequestPolicy:
    """What every request of ours is checked against before its handler runs."""

    origins: OriginPolicy = field(default_factory=OriginPolicy)
    trusted_proxies: TrustedProxies = field(default_factory=TrustedProxies)
    auth_limiter: FailureLimiter | None = None
    body_limit: int = DEFAULT_BODY_LIMIT
    body_timeout: float = DEFAULT_BODY_TIMEOUT


@dataclass(frozen=True)
class Services:
    """The stores and long-lived objects of one server (see the module docstring)."""

    requests: RequestPolicy
    db: Database
    executor: ThreadPoolExecutor
    inline_reads: bool  # SQLite reads run on the event loop (they take microseconds)
    credentials: CredentialStore
    grants: GrantStore
    secret_access: SecretAccess
    grant_prompts: GrantPrompts
    kernel_tokens: KernelTokens
    notebooks: NotebookStore
    notes: NoteStore
    sources: SourceStore
    uploads: UploadArea
    audit: AuditLog
    provider_proxy: ProviderProxy
    shared: SharedCredentials  # the credentials of hub groups (service mode)
