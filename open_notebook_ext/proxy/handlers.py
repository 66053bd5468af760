"""``{base_url}open-notebook/api/proxy/{credential_id}/{path}``: a provider call with the key added.

Authenticated and authorized exactly like ``secrets.get`` (it is a
``SecretHandlerBase``): browsers are refused (any ``Origin`` or ``Sec-Fetch-*``
header), no CORS headers, the caller is a kernel (its token, where the SDK sends
its key: ``Authorization: Bearer``, ``x-api-key``, ``x-goog-api-key`` or
``api-key``) or a Jupyter token holder, the kernel's notebook must be granted the
credential (``granted_secret``, the code path ``secrets.get`` uses). Then the
path must be one the provider's table entry allows, the outbound request goes
through the SSRF guard with the key in the provider's header, and the answer
streams back. Errors the proxy itself answers carry ``{"detail": ...}`` and the
providers' own error shape (``error.message``, ``error.type``), so the SDKs raise
their usual classes with our message, and ``x-should-retry: false``.
"""

from __future__ import annotations

import ipaddress
import json
import time
from typing import TYPE_CHECKING, Any, cast

from jupyter_server.auth.decorator import allow_unauthenticated
from tornado import httputil

if TYPE_CHECKING:
    from tornado.http1connection import HTTP1Connection

    from open_notebook_ext.proxy.pool import ConnectionPool

from open_notebook_ext.http import compat
from open_notebook_ext.http.base import ApiError
from open_notebook_ext.kernels.tokens import TOKEN_PREFIX
from open_notebook_ext.proxy.errors import provider_error
from open_notebook_ext.proxy.forward import (
    Upstream,
    UpstreamFailed,
    check_path,
    forwarded_query,
    host_header,
    request_headers,
    response_headers,
)
from open_notebook_ext.proxy.metering import MeteredHandler
from open_notebook_ext.proxy.scrub import scrub
from open_notebook_ext.proxy.table import CALLER_KEY_HEADERS, ProxySpec, proxy_spec
from open_notebook_ext.proxy.usage import UsageReader, request_model
from open_notebook_ext.security import netguard
from open_notebook_ext.vault.providers import PROVIDERS
from open_notebook_ext.vault.secret_handlers import from_a_browser

PROXY_PREFIX = "open-notebook/api/proxy/"
MAX_ERROR_BODY = 1024 * 1024
FLUSH_BYTES = 64 * 1024


def bearer(value: str) -> str:
    scheme, _, rest = value.strip().partition(" ")
    return rest.strip() if scheme.lower() in ("bearer", "token") and rest else value.strip()


class ProxyHandler(MeteredHandler):
    """Forward one provider API call; the key never reaches the caller."""

    _upstream: Upstream | None = None
    _error_shape = False
    _client_gone = False

    def request_body_limit(self) -> int:
        return self.services.provider_proxy.max_request_bytes

    def request_body_timeout(self) -> float:
        return self.services.provider_proxy.timeout

    def offered_token(self) -> str:
        """The kernel token from whichever header the SDK put its key in."""
        offered = [
            bearer(v) if name == "Authorization" else v.strip()
            for name in CALLER_KEY_HEADERS
            for v in self.request.headers.get_list(name)
            if v.strip()
        ]
        kernel = [t for t in offered if t.startswith(TOKEN_PREFIX)]
        if kernel:
            return kernel[0]
        return super().offered_token()

    # -- errors in the providers' shape ------------------------------------------------

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # (a browser, refused, gets the secret routes' plain answer: no SDK reads it)
        self._error_shape = not from_a_browser(self.request.headers)
        self.set_header("x-should-retry", "false")
        super().write_error(status_code, **kwargs)

    def finish(self, chunk: Any = None, **kwargs: Any) -> Any:
        if self._error_shape and isinstance(chunk, str):
            self._error_shape = False
            try:
                body = json.loads(chunk)
            except ValueError:
                body = None
            if isinstance(body, dict) and isinstance(body.get("detail"), str):
                extra = {k: v for k, v in body.items() if k != "detail"}
                chunk = json.dumps({**provider_error(self.get_status(), body["detail"]), **extra})
        return super().finish(chunk, **kwargs)

    # -- the call ------------------------------------------------------------------------

    def _raw_api_path(self) -> str:
        """The API path after the credential id, from the raw (still percent-encoded)
        request path: Tornado's decoded one would turn ``%2F`` into a separator."""
        raw = self.request.path
        at = raw.find("/" + PROXY_PREFIX)
        rest = raw[at + len(PROXY_PREFIX) + 1 :] if at >= 0 else ""
        return rest.partition("/")[2]

    def on_connection_close(self) -> None:
        self._client_gone = True
        if self._upstream is not None:
            self._upstream.close()  # the client went away: so does the provider call
        super().on_connection_close()

    async def _forward(self, credential_id: str) -> None:
        started = time.monotonic()
        # Authorized first: a caller without the grant learns nothing from this route,
        # not even which paths it would forward.
        credential, secret = await self.granted_secret(
            self.reader, reveal=False, credential_id=credential_id
        )
        path = self._raw_api_path()
        problem = check_path(path)
        if problem:
            raise ApiError(400, f"Not forwarded: {problem}")
        provider = credential["provider"]
        spec = proxy_spec(provider)
        if spec is None:
            raise ApiError(400, f"The proxy does not support provider {provider}")
        if not spec.allows(path):
            raise ApiError(
                404,
                f"Not forwarded: the proxy forwards only the model API paths "
                f"of provider {provider} ({', '.join(spec.paths)})",
            )
        await self._check_budget(credential)
        key = secret.get("api_key") or ""
        base = self._base(spec, secret)
        url = f"{spec.upstream_base(base)}/{path}"
        query = forwarded_query(self.request.query)
        if query:
            url += f"?{query}"
        try:
            target = await _checked(
                url, self.ext.allow_private_targets, self.services.provider_proxy.connect_timeout
            )
        except (netguard.URLRefused, netguard.FetchError) as e:
            raise ApiError(502, f"The provider's URL was refused: {e}") from None
        pool = self.services.provider_proxy.connections()
        headers = request_headers(
            self.request.headers,
            spec.key_header,
            f"{spec.key_prefix}{key}",
            host_header(target),
            keep_alive=pool is not None,
        )
        model = request_model(spec.style, path, self.body)
        status, usage = await self._exchange(spec, target, headers, [key], pool)
        await self._record(credential, model or usage.model, status, usage, started)

    def _base(self, spec: ProxySpec, secret: dict[str, Any]) -> str:
        configured = secret.get(spec.base_field)
        if configured:
            return str(configured)
        provider = PROVIDERS.get(secret["provider"])
        default = provider.default_base_url if provider else None
        if not default:
            raise ApiError(400, f"Credential {secret['name']!r} has no {spec.base_field}")
        return default

    async def _exchange(
        self,
        spec: ProxySpec,
        target: netguard.Target,
        headers: httputil.HTTPHeaders,
        secrets: list[str],
        pool: ConnectionPool | None,
    ) -> tuple[int, UsageReader]:
        """Send the call, stream the answer back; (the status answered, its usage)."""
        settings = self.services.provider_proxy
        usage = UsageReader()
        state: dict[str, Any] = {"status": 0, "error": None, "content_type": ""}

        def on_headers(status: int, reason: str, upstream: httputil.HTTPHeaders) -> None:
            state["status"] = status
            state["content_type"] = upstream.get("Content-Type", "")
            self.set_status(status, reason=reason or None)
            for name, value in response_headers(upstream):
                self.add_header(name, value)
            if status >= 400:
                state["error"] = bytearray()
            else:
                usage.start(state["content_type"])
            # A stream (server-sent events, or a body of unknown length) goes on chunk by
            # chunk, each sent at once (no Nagle delay); a body of known length is sent
            # in one piece once complete, unless it is large.
            state["stream"] = (
                state["content_type"].lower().startswith("text/event-stream")
                or "Content-Length" not in upstream
            )
            if state["stream"]:
                stream = getattr(self.request.connection, "stream", None)
                if stream is not None:
                    stream.set_nodelay(True)

        async def on_chunk(chunk: bytes) -> None:
            error = state["error"]
            if error is not None:
                if len(error) + len(chunk) <= MAX_ERROR_BODY:
                    error.extend(chunk)
                return
            usage.feed(chunk)
            self.write(chunk)
            state["pending"] = state.get("pending", 0) + len(chunk)
            if state["stream"] or state["pending"] >= FLUSH_BYTES:
                state["pending"] = 0
                await self.flush()

        upstream = self._upstream = Upstream(
            target, connect_timeout=settings.connect_timeout, timeout=settings.timeout, pool=pool
        )
        try:
            await upstream.send(
                self.request.method or "GET",
                _request_line(target),
                headers,
                self.body,
                on_headers,
                on_chunk,
            )
        except UpstreamFailed as e:
            status = 504 if "time" in str(e) else 502
            if compat.headers_written(self):
                connection = cast("HTTP1Connection | None", self.request.connection)
                if connection is not None:
                    connection.close()  # mid-stream: nothing left to say
                return state["status"] or status, usage
            self.clear()
            self.send_error(
                status, exc_info=(ApiError, ApiError(status, f"Upstream error: {e}"), None)
            )
            return status, usage
        if compat.finished(self) or self._client_gone:
            return state["status"], usage
        ctype = state["content_type"] or "application/json"
        if state["error"] is not None:
            self.finish(scrub(bytes(state["error"]), secrets), set_content_type=ctype)
        else:
            usage.finish()
            self.finish(set_content_type=ctype)
        return state["status"], usage

    # Authenticated and authorized in _prepare() (SecretHandlerBase): a kernel or Jupyter token.
    @allow_unauthenticated
    async def get(self, credential_id: str, path: str) -> None:
        await self._forward(credential_id)

    @allow_unauthenticated
    async def post(self, credential_id: str, path: str) -> None:
        await self._forward(credential_id)

    @allow_unauthenticated
    async def delete(self, credential_id: str, path: str) -> None:
        await self._forward(credential_id)


async def _checked(url: str, allow_private: bool, timeout: float) -> netguard.Target:
    """The SSRF guard's verdict: inline for an address (nothing to resolve), in a thread
    with a time limit for a host name (DNS)."""
    host = netguard.parse_url(url)[1]
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return await netguard.acheck_url(url, allow_private=allow_private, timeout=timeout)
    return netguard.check_url(url, allow_private=allow_private)


def _request_line(target: netguard.Target) -> str:
    from open_notebook_ext.proxy.forward import split_target

    return split_target(target.url)
