"""Reading keys from notebook code, and the grants that allow it.

The secret endpoints answer the kernel client (``open_notebook_ext.secrets``),
which is not a browser. They authenticate a per-kernel token (``kernels/tokens.py``)
or a Jupyter *token* — never the login cookie — and refuse any request that
carries a browser's marks (an ``Origin`` header, ``Sec-Fetch-*`` headers), so
script in a web page cannot read a key even with the server's token, which
JupyterLab's own page holds. They carry no CORS headers whatever
``allowed_origins`` says. Every reader is put to Jupyter's authorizer (a kernel
as its owner). A kernel token only works for notebooks granted the credential
(``require_grants``); each read is audited and logged, without the value. All of
this is decided when the headers arrive, before any body is read.
"""

from __future__ import annotations

from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from jupyter_server.auth.identity import User
from jupyter_server.auth.utils import HTTP_METHOD_TO_AUTH_ACTION
from jupyter_server.services.sessions.sessionmanager import SessionManager
from tornado import web
from tornado.httputil import HTTPHeaders

from open_notebook_ext.http import compat
from open_notebook_ext.http.base import ApiError, OpenNotebookHandler
from open_notebook_ext.http.errors import field_error
from open_notebook_ext.hub.relay import relayed_kernel
from open_notebook_ext.kernels.tokens import TOKEN_PREFIX, KernelGrant
from open_notebook_ext.vault.access import ProxyOnly
from open_notebook_ext.vault.names import not_found_detail
from open_notebook_ext.vault.prompt_handlers import ask_the_page, denial_message, prompt_reason

FROM_A_BROWSER = (
    "Secrets cannot be read from a browser page: this request carries a "
    "browser's Origin or Sec-Fetch headers. Read keys from notebook code "
    "(open_notebook_ext.secrets) or another non-browser client."
)
BROWSER_HEADERS = ("Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode")
NEEDS_A_TOKEN = (
    "Reading a secret needs a token (the kernel's or the server's), "  # noqa: S105 - a message
    "not the login cookie"
)


def from_a_browser(headers: HTTPHeaders) -> bool:
    """Browsers send ``Origin`` on every POST (same-origin included) and ``Sec-Fetch-*``
    on every request to a secure or local origin; kernels, curl and the standard-library
    client in ``open_notebook_ext.secrets`` send neither."""
    return any(name in headers for name in BROWSER_HEADERS)


class Reader:
    """Who is asking for a secret: a kernel (with its notebooks) or a token holder.

    ``sessions`` gives the session type (notebook, console, file) of each path;
    ``groups`` the owner's hub groups, whose shared credentials they may use."""

    def __init__(
        self,
        owner: str,
        kernel: KernelGrant | None,
        paths: list[str],
        sessions: dict[str, str] | None = None,
        groups: tuple[str, ...] = (),
    ) -> None:
        self.owner = owner
        self.kernel = kernel
        self.paths = paths
        self.sessions = sessions or {}
        self.groups = groups

    @property
    def notebook(self) -> str | None:
        return ", ".join(self.paths) if self.paths else None


class SecretHandlerBase(OpenNotebookHandler):
    cors_enabled = False  # never readable cross-origin
    reader: Reader

    async def _prepare(self) -> None:
        if self.request.method != "OPTIONS" and from_a_browser(self.request.headers):
            raise ApiError(403, FROM_A_BROWSER)
        await super()._prepare()
        if not compat.finished(self):
            self.reader = await self._authenticate()

    def offered_token(self) -> str:
        """The token this request offers (the proxy also looks where SDKs put keys)."""
        return self.identity_provider.get_token(self) or ""

    async def _authenticate(self) -> Reader:
        """The kernel token or Jupyter token of this request, authorized."""
        offered = self.offered_token()
        if offered.startswith(TOKEN_PREFIX):
            grant = self.services.kernel_tokens.check(offered)
            if grant is None or grant.kernel_id not in self.kernel_manager:
                await self.judge_failure()  # the database's limiter: off the event loop
                raise self.wrong_token(
                    "Invalid or revoked kernel token (the kernel was shut down?)"
                )
            # A kernel acts for the user who started it: the authorizer is asked about them.
            await self._authorize(User(username=grant.owner))
            mine = await kernel_sessions(self.session_manager, grant.kernel_id)
            return Reader(grant.owner, grant, sorted(mine), mine)
        if self.current_user is None:
            raise self._unauthenticated()
        if not self.token_authenticated:
            raise ApiError(403, NEEDS_A_TOKEN)
        await self._authorize(self.current_user)
        relayed = relayed_kernel(self)  # a kernel in a client-mode server (hub service)
        if relayed is not None:
            kernel_id, paths = relayed
            return Reader(
                self.owner,
                KernelGrant(kernel_id, self.owner),
                paths,
                dict.fromkeys(paths, "notebook"),
                self.groups,
            )
        return Reader(self.owner, None, [], groups=self.groups)

    async def _authorize(self, user: User) -> None:
        """What @authorized does, for a user this handler found itself (a kernel's owner)."""
        action = HTTP_METHOD_TO_AUTH_ACTION[self.request.method or "GET"]
        resource = self.auth_resource
        if not await ensure_async(self.authorizer.is_authorized(self, user, action, resource)):
            raise ApiError(403, f"User is not authorized to {action} on resource: {resource}.")

    def audit_secret(
        self, action: str, reader: Reader, credential: dict[str, Any], **data: Any
    ) -> None:
        self.services.audit.emit(
            "credential",
            action=action,
            owner=reader.owner,
            client=self.client_address,
            user=getattr(self.current_user, "username", None),
            credential_id=credential["id"],
            credential_name=credential["name"],
            provider=credential["provider"],
            notebook_path=reader.notebook,
            kernel_id=reader.kernel.kernel_id if reader.kernel else None,
            **data,
        )

    async def granted_secret(
        self, reader: Reader, *, reveal: bool, **which: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Find the credential, check the kernel's grant, decrypt: for ``secrets.get``
        (``reveal``: a proxy-only key is refused) and for the proxy alike."""
        check = reader.kernel is not None and self.ext.require_grants
        kernel_id = reader.kernel.kernel_id if reader.kernel else None
        try:
            credential, secret = await self.read(
                self.services.secret_access.read,
                reader.owner,
                notebook_paths=reader.paths if check else None,
                kernel_id=kernel_id,
                reveal=reveal,
                groups=reader.groups,
                **which,
            )
            if secret is None:
                # Ask the JupyterLab page, if one is open (vault/prompts.py); else deny now.
                outcome = await ask_the_page(self, reader, credential)
                if outcome == "allow":
                    credential, secret = await self.read(
                        self.services.secret_access.read,
                        reader.owner,
                        notebook_paths=reader.paths,
                        kernel_id=kernel_id,
                        reveal=reveal,
                        **which,
                    )
                if secret is None:
                    self.audit_secret(
                        "secret_denied",
                        reader,
                        credential,
                        reason="no grant"
                        if outcome in ("no_page", "allow")
                        else f"no grant ({prompt_reason(outcome)})",
                    )
                    raise ApiError(
                        403,
                        denial_message(
                            reader, credential, outcome, self.services.grant_prompts.timeout
                        ),
                    )
        except ProxyOnly as e:
            self.audit_secret("secret_denied", reader, e.credential, reason="proxy only")
            raise ApiError(403, e.detail, extra={"key_access": "proxy"}) from None
        return credential, secret

    async def reveal(self, reader: Reader, **which: Any) -> None:
        """Find the credential, check the kernel's grant, decrypt, answer."""
        credential, secret = await self.granted_secret(reader, reveal=True, **which)
        self.audit_secret("secret_read", reader, credential)
        self.log.info(
            "Secret of credential %s read by %s",
            credential["id"],
            f"kernel {reader.kernel.kernel_id} ({reader.notebook or 'no notebook'})"
            if reader.kernel
            else "a token holder",
        )
        self.send_json(secret)


class SecretHandler(SecretHandlerBase):
    """``POST credentials/{id}/secret``: the decrypted key of one credential."""

    # Authenticated and authorized in _prepare(): a kernel token or a Jupyter token.
    @allow_unauthenticated
    async def post(self, credential_id: str) -> None:
        await self.reveal(self.reader, credential_id=credential_id)


class SecretByNameHandler(SecretHandlerBase):
    """``POST secrets/get`` with ``{"name": ..., "provider": ...}`` (names stay out of URLs)."""

    @allow_unauthenticated
    async def post(self) -> None:
        reader = self.reader
        body = self.read_json()
        name = body.get("name") if isinstance(body, dict) else None
        provider = body.get("provider") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise field_error("name", "must be a non-blank string")
        if provider is not None and not isinstance(provider, str):
            raise field_error("provider", "must be a string")
        # false: a credential without a key (Ollama's base URL) answers too (secrets.env)
        require_key = body.get("require_key", True)
        if not isinstance(require_key, bool):
            raise field_error("require_key", "must be a boolean")
        try:
            await self.reveal(reader, name=name, provider=provider, require_key=require_key)
        except ApiError as e:
            if e.status_code != 404:
                raise
            names = [
                c["name"] for c in await self.read(self.services.credentials.list, reader.owner)
            ] + [c["name"] for c in await self.read(self.services.shared.visible, reader.groups)]
            raise ApiError(404, not_found_detail(name, names)) from None


class SecretsListHandler(SecretHandlerBase):
    """``GET secrets``: metadata of the credentials, and whether this notebook may read each."""

    @allow_unauthenticated
    async def get(self) -> None:
        reader = self.reader
        credentials = await self.read(self.services.credentials.list, reader.owner)
        if reader.groups:  # then the credentials of the owner's groups (service mode)
            credentials += await self.read(self.services.shared.visible, reader.groups)
        granted: set[str] | None = None
        if reader.kernel is not None and self.ext.require_grants:
            granted = await self.read(
                self.services.grants.granted_credentials, reader.owner, reader.paths
            )
        self.send_json(
            [
                {
                    "id": c["id"],
                    "name": c["name"],
                    "provider": c["provider"],
                    "has_api_key": c["has_api_key"],
                    "api_key_hint": c["api_key_hint"],
                    "key_access": c["key_access"],
                    "decryption_error": c["decryption_error"],
                    "granted": True if granted is None else c["id"] in granted,
                    **({"shared": True, "group": c["group"]} if c.get("shared") else {}),
                }
                for c in credentials
            ]
        )


class _GrantHandlerBase(OpenNotebookHandler):
    def audit_grant(self, action: str, grant: dict[str, Any]) -> None:
        self.audit(
            "grant",
            action=action,
            credential_id=grant["credential_id"],
            credential_name=grant["credential_name"],
            notebook_path=grant["notebook_path"],
        )


class GrantsHandler(_GrantHandlerBase):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.send_json(
            await self.read(
                self.services.grants.list,
                self.owner,
                self.get_query_argument("credential_id", None),
                # not stripped: " a.ipynb " and "a.ipynb" are different notebooks to Jupyter
                self.get_query_argument("notebook_path", None, strip=False),
                groups=self.groups,
            )
        )

    @web.authenticated
    @authorized
    async def put(self) -> None:
        body = self.read_json()
        # a console's path names no file: its grant is bound to the console's kernel
        binding = await self.ext.console_binding(
            self.owner, body.get("notebook_path") if isinstance(body, dict) else None
        )
        grant, created = await self.call(
            self.services.grants.grant, self.owner, body, groups=self.groups, **binding
        )
        if created:
            self.audit_grant("granted", grant)
        self.send_json(grant, status=201 if created else 200)


class GrantHandler(_GrantHandlerBase):
    @web.authenticated
    @authorized
    async def delete(self, grant_id: str) -> None:
        grant = await self.call(self.services.grants.revoke, self.owner, grant_id)
        self.audit_grant("revoked", grant)
        self.send_json({"message": "Grant revoked", **grant})


_BY_KERNEL = "SELECT path, type FROM session WHERE kernel_id = ?"


async def kernel_sessions(manager: Any, kernel_id: str) -> dict[str, str]:
    """{path: type} of the sessions (notebooks, consoles) using kernel ``kernel_id``.

    Jupyter's own session manager keeps them in a table, read here by kernel id: one
    indexed-size query instead of ``list_sessions``, which builds a model of every
    session and its kernel on every secret read. A manager that lists its sessions its
    own way is asked through ``list_sessions``."""
    if (
        isinstance(manager, SessionManager)
        and type(manager).list_sessions is SessionManager.list_sessions
    ):
        rows = manager.cursor.execute(_BY_KERNEL, (kernel_id,)).fetchall()
        return {str(r[0]): str(r[1] or "notebook") for r in rows if r[0]}
    sessions = await manager.list_sessions()
    return {
        s["path"]: s.get("type") or "notebook"
        for s in sessions
        if (s.get("kernel") or {}).get("id") == kernel_id and s.get("path")
    }
