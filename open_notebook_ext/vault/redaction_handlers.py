"""``GET redaction/keys``: a user's readable keys, for the output redaction of their server.

In client mode (``hub/client.py``) a user's server keeps no key, yet it must redact the
user's keys from notebook outputs before they are saved (``vault/redact.py``), as a
server with its own store does. Its pre-save hook asks the service for them with the
server's hub token (``hub/redaction.py``), sending the marker of the keys it has; the
answer is ``{"marker": ..., "unchanged": true}`` while nothing changed (one small query
per save), else ``{"marker": ..., "keys": [{"name": ..., "key": ...}]}``.

Only keys the user may read anyway are sent (``key_access: read``, their own; the same
token reads each of them at ``credentials/{id}/secret``): never a proxy-only key nor a
group's, which never reach the user's kernels and so cannot be in an output. The route
answers only in service mode, only to a hub token (never a browser: ``Origin`` or
``Sec-Fetch-*``, refused as on every secret route), never to a kernel's relayed read,
and a user's server never forwards it (``hub/forward.py``). Each answer that carries
keys is an audit event (``credential``, ``redaction_keys_read``) and a log line, with
their number, never a key.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from open_notebook_ext.http.base import ApiError, OpenNotebookHandler
from open_notebook_ext.hub.relay import KERNEL_HEADER, NOTEBOOKS_HEADER
from open_notebook_ext.vault.secret_handlers import FROM_A_BROWSER, from_a_browser

SERVICE_ONLY = "redaction/keys answers only in service mode (jupyter open-notebook hub-service)"
NOT_A_KERNEL = "A kernel's read is not relayed here: this route is for the user's server"


class RedactionKeysHandler(OpenNotebookHandler):
    """``GET redaction/keys[?marker=]``."""

    cors_enabled = False  # never readable cross-origin

    async def _prepare(self) -> None:
        # as on the secret routes: a browser is refused whatever the method or origin
        if self.request.method != "OPTIONS" and from_a_browser(self.request.headers):
            raise ApiError(403, FROM_A_BROWSER)
        await super()._prepare()

    @web.authenticated
    @authorized
    async def get(self) -> None:
        headers = self.request.headers
        if not getattr(self.identity_provider, "notebooks_elsewhere", False):
            raise ApiError(404, SERVICE_ONLY)
        if KERNEL_HEADER in headers or NOTEBOOKS_HEADER in headers:
            raise ApiError(403, NOT_A_KERNEL)
        owner = self.owner
        credentials = self.services.credentials
        marker = await self.call(credentials.change_marker, owner)
        if self.get_query_argument("marker", None) == marker:
            self.send_json({"marker": marker, "unchanged": True})
            return
        keys = await self.call(credentials.plaintext_keys, owner, readable_only=True)
        self.audit(
            "credential",
            action="redaction_keys_read",
            reason=f"{len(keys)} readable key(s), for the output redaction of the user's server",
        )
        self.log.info("Readable keys of %s (%d) sent for output redaction", owner, len(keys))
        self.send_json(
            {"marker": marker, "keys": [{"name": name, "key": key} for name, key in keys]}
        )
