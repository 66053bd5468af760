"""Client mode's one route: ``{base_url}open-notebook/api/<path>`` forwarded to the service.

A user's server in client mode (``hub/client.py``) answers every API path with
:class:`ForwardHandler`, which checks the request here first, as the local routes would:

* the origin policy, the body limits (413), preflights and JSON errors of the base
  handler (``http/base.py``);
* who is asking: Jupyter's authentication of this server (the hub's OAuth cookie, or a
  hub token for this server) and its authorizer, for every path; on the kernels' paths
  (``secrets``, ``secrets/get``, ``credentials/{id}/secret``, ``proxy/...``) a kernel
  token instead, checked against this server's kernels, and never a browser nor the
  login cookie (as ``vault/secret_handlers.py`` decides locally).

Then it sends the request to the service with this server's hub token in
``Authorization: token ...``: never the caller's cookie, token, ``Origin`` or forwarded
headers. A kernel's request also names the kernel and its notebooks
(:data:`NOTEBOOKS_HEADER`, :data:`KERNEL_HEADER`), so the service applies that notebook's
grants (``hub/relay.py``). The answer's status, body and headers come back (CORS and
security headers are this server's; cookies and hop-by-hop headers are dropped), the body
as it arrives (the proxy's streamed answers). The request body is read whole first,
within this server's limits (``max_body_bytes``, ``max_upload_mb`` for uploads, the
proxy's ``max_request_bytes``): it is not streamed to the service. Connections to the
service are kept alive for the next request (``ClientServices.pool``, 30 s idle; the
proxy's own HTTP/1.1 client, ``proxy/forward.py``): a new connection per request cost
about 2 ms of each call through a user's server.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.auth.identity import User
from jupyter_server.auth.utils import HTTP_METHOD_TO_AUTH_ACTION
from tornado import httputil

from open_notebook_ext.http import compat
from open_notebook_ext.http.base import ApiError, OpenNotebookHandler
from open_notebook_ext.hub.relay import KERNEL_HEADER, NOTEBOOKS_HEADER
from open_notebook_ext.kernels.tokens import TOKEN_PREFIX
from open_notebook_ext.proxy.forward import (
    HOP_BY_HOP,
    Upstream,
    UpstreamFailed,
    host_header,
    split_target,
)
from open_notebook_ext.proxy.table import CALLER_KEY_HEADERS
from open_notebook_ext.security import netguard
from open_notebook_ext.services import SERVICES_SETTING
from open_notebook_ext.vault.secret_handlers import (
    FROM_A_BROWSER,
    NEEDS_A_TOKEN,
    from_a_browser,
    kernel_sessions,
)

if TYPE_CHECKING:
    from open_notebook_ext.hub.client import ClientServices

API_PREFIX = "open-notebook/api/"
# The paths a kernel reaches with its token (what open_notebook_ext.secrets calls).
KERNEL_PATHS = re.compile(r"secrets|secrets/get|credentials/[^/]+/secret|proxy/.+")
SERVICE_UNREACHABLE = "The Open Notebook service cannot be reached; try again shortly"
SERVICE_REFUSED_SERVER = (
    "The Open Notebook service did not accept this server's hub token "
    "(JUPYTERHUB_API_TOKEN): see c.Spawner.server_token_scopes in the operators' guide"
)
RETRY_AFTER = "5"
# The panel's grant-prompt socket (a websocket) is not relayed: kernels' reads of a key
# their notebook was not granted are refused at once in client mode.
PROMPT_SOCKET = "grant-prompts/socket"
# What the service answers this server's own redaction hook alone (hub/redaction.py):
# never forwarded for a caller, whoever it is.
NOT_FORWARDED = ("redaction",)
NO_PROMPT_SOCKET = "Grant prompts are not available in client mode yet"
_DROP_REQUEST = HOP_BY_HOP | {
    h.lower()
    for h in (
        *CALLER_KEY_HEADERS,
        "Host",
        "Cookie",
        "Content-Length",
        "Accept-Encoding",
        "Origin",
        "Referer",
        "Forwarded",
        "X-Real-Ip",
        "X-XSRFToken",
        NOTEBOOKS_HEADER,
        KERNEL_HEADER,
    )
}
_DROP_RESPONSE = HOP_BY_HOP | {
    h.lower()
    for h in (
        "Set-Cookie",
        "Content-Length",
        "Content-Encoding",
        "Server",
        "Date",
        "Vary",
        "Server-Timing",
    )
}


def bearer(value: str) -> str:
    scheme, _, rest = value.strip().partition(" ")
    return rest.strip() if scheme.lower() in ("bearer", "token") and rest else value.strip()


def upstream_headers(incoming: httputil.HTTPHeaders, hub_token: str) -> httputil.HTTPHeaders:
    """The caller's headers minus credentials, cookies, browser and forwarding marks,
    plus this server's hub token."""
    out = httputil.HTTPHeaders()
    for name, value in incoming.get_all():
        low = name.lower()
        if low in _DROP_REQUEST or low.startswith(("sec-", "x-forwarded-", "access-control-")):
            continue
        out.add(name, value)
    out["Authorization"] = f"token {hub_token}"
    return out


def passed_back(headers: httputil.HTTPHeaders) -> list[tuple[str, str]]:
    """The service's response headers this server passes on."""
    return [
        (n, v)
        for n, v in headers.get_all()
        if n.lower() not in _DROP_RESPONSE and not n.lower().startswith("access-control-")
    ]


def without_token(query: str) -> str:
    """The query string minus ``token`` (a Jupyter or hub token in the URL stays here)."""
    if "token" not in query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, v) for k, v in pairs if k != "token"])


async def _service_target(url: str) -> netguard.Target:
    """The service's URL, checked once per call like a provider's (the operator's own
    address: private ones allowed; never a link-local or metadata one), its host
    resolved off the loop unless it is an address."""
    host = netguard.parse_url(url)[1]
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return await netguard.acheck_url(url, allow_private=True, timeout=10.0)
    return netguard.check_url(url, allow_private=True)


class ForwardHandler(OpenNotebookHandler):
    """Every API path of a client-mode server (see the module docstring)."""

    _kernel: tuple[str, list[str]] | None = None  # (kernel id, notebook paths)
    _answered = False
    _streams = False  # pass each part of the answer on as it arrives

    @property
    def client(self) -> ClientServices:
        client: ClientServices = self.settings[SERVICES_SETTING]
        return client

    @property
    def api_path(self) -> str:
        """The path after ``open-notebook/api/``, still percent-encoded."""
        raw = self.request.path
        at = raw.find("/" + API_PREFIX)
        return raw[at + len(API_PREFIX) + 1 :] if at >= 0 else ""

    @property
    def kernel_path(self) -> bool:
        return KERNEL_PATHS.fullmatch(self.api_path) is not None

    def request_body_limit(self) -> int:
        path = self.api_path
        if path.startswith("proxy/"):
            return self.client.proxy_body_limit
        if path == "sources" and self.request.method == "POST":
            content_type = self.request.headers.get("Content-Type", "")
            if content_type.startswith("multipart/form-data"):
                return self.ext.max_upload_bytes
        return super().request_body_limit()

    def offered_token(self) -> str:
        """A kernel token, wherever an SDK or ``secrets`` put it."""
        for name in CALLER_KEY_HEADERS:
            for value in self.request.headers.get_list(name):
                token = bearer(value) if name == "Authorization" else value.strip()
                if token.startswith(TOKEN_PREFIX):
                    return token
        return ""

    async def _prepare(self) -> None:
        kernel_path = self.kernel_path and self.request.method != "OPTIONS"
        if kernel_path and from_a_browser(self.request.headers):
            raise ApiError(403, FROM_A_BROWSER)
        await super()._prepare()
        if compat.finished(self) or self.request.method == "OPTIONS":
            return
        token = self.offered_token() if kernel_path else ""
        if token:
            await self._kernel_reader(token)
            return
        if self.current_user is None:
            raise self._unauthenticated()
        if kernel_path and not self.token_authenticated:
            raise ApiError(403, NEEDS_A_TOKEN)
        await self._authorize(self.current_user)

    async def _kernel_reader(self, token: str) -> None:
        grant = self.client.kernel_tokens.check(token)
        if grant is None or grant.kernel_id not in self.kernel_manager:
            raise self.wrong_token("Invalid or revoked kernel token (the kernel was shut down?)")
        await self._authorize(User(username=grant.owner))
        paths = sorted(await kernel_sessions(self.session_manager, grant.kernel_id))
        self._kernel = (grant.kernel_id, paths)

    async def _authorize(self, user: User) -> None:
        action = HTTP_METHOD_TO_AUTH_ACTION[self.request.method or "GET"]
        if not await ensure_async(
            self.authorizer.is_authorized(self, user, action, self.auth_resource)
        ):
            raise ApiError(
                403, f"User is not authorized to {action} on resource: {self.auth_resource}."
            )

    # -- forwarding ------------------------------------------------------------------

    async def _forward(self, *args: Any) -> None:
        if self.api_path == PROMPT_SOCKET:
            raise ApiError(501, NO_PROMPT_SOCKET)
        if self.api_path.lstrip("/").lower().startswith(NOT_FORWARDED):
            raise ApiError(404, "Not found")
        client = self.client
        headers = upstream_headers(self.request.headers, client.hub_token)
        if self._kernel is not None:
            kernel_id, paths = self._kernel
            headers[KERNEL_HEADER] = kernel_id
            headers[NOTEBOOKS_HEADER] = json.dumps(paths)
        query = without_token(self.request.query)
        url = client.api_url + self.api_path + (f"?{query}" if query else "")
        method = self.request.method or "GET"
        body: bytes | None = self.body
        if not body and method not in ("POST", "PUT", "PATCH"):
            body = None
        self._upstream_status: int | None = None
        self._upstream_headers = httputil.HTTPHeaders()
        failure: BaseException | None = None
        try:
            target = await _service_target(url)
            headers["Host"] = host_header(target)
            headers["Connection"] = "keep-alive"
            await Upstream(
                target,
                connect_timeout=min(10.0, client.request_timeout),
                timeout=client.request_timeout,
                pool=client.pool,
            ).send(
                method,
                split_target(target.url),
                headers,
                body or b"",
                self._on_headers,
                self._on_chunk,
            )
        except (UpstreamFailed, netguard.URLRefused, netguard.FetchError) as e:
            failure = e  # refused, reset, timed out, not valid HTTP
        if self._answered:
            self.finish()  # (a failure mid-answer: what came is all there is)
            return
        if failure is not None or self._upstream_status is None:
            self.log.warning(
                "Open Notebook service unreachable (%s %s): %s",
                method,
                self.api_path.partition("/")[0],
                type(failure).__name__ if failure else "no answer",
            )
            raise ApiError(503, SERVICE_UNREACHABLE, headers={"Retry-After": RETRY_AFTER})
        self._start_answer()
        self.finish()

    def _on_headers(self, code: int, reason: str, headers: httputil.HTTPHeaders) -> None:
        self._upstream_status = code
        self._upstream_headers = headers

    @property
    def _refused_server(self) -> bool:
        """The service answered 401: it refused this server's hub token (on the proxy's
        paths a 401 may be the provider's answer to the key, which the SDK should see)."""
        return self._upstream_status == 401 and not self.api_path.startswith("proxy/")

    def _start_answer(self) -> None:
        status = self._upstream_status or 502
        if self._refused_server:
            # The service refused this server's hub token: an operator's problem, not the
            # user's login (a 401 would send the panel to log in again).
            raise ApiError(502, SERVICE_REFUSED_SERVER)
        self._answered = True
        content_type = self._upstream_headers.get("Content-Type", "")
        self._streams = self.api_path.startswith("proxy/") or content_type.startswith(
            "text/event-stream"
        )
        self.set_status(status)
        seen: set[str] = set()
        for name, value in passed_back(self._upstream_headers):
            if name.lower() in seen:
                self.add_header(name, value)
            else:
                seen.add(name.lower())
                self.set_header(name, value)

    async def _on_chunk(self, chunk: bytes) -> None:
        if compat.finished(self):
            return
        if not self._answered:
            if self._refused_server:
                return  # answered as a 502 once the fetch is done
            self._start_answer()
        self.write(chunk)
        if self._streams:
            await self.flush()  # each part as it comes (a provider's events); else one write

    get = allow_unauthenticated(_forward)
    post = allow_unauthenticated(_forward)
    put = allow_unauthenticated(_forward)
    delete = allow_unauthenticated(_forward)
    patch = allow_unauthenticated(_forward)
