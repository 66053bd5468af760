"""Where a request comes from, and what the answer says about it: the origin policy's
verdict, the CORS headers on every response (errors included: Tornado calls
``set_default_headers`` again after ``send_error`` clears the headers), preflights,
and the client address (forwarded headers believed only from trusted proxies)."""

from __future__ import annotations

import functools

from jupyter_server.base.handlers import APIHandler
from tornado import web

from open_notebook_ext.http import compat
from open_notebook_ext.http.errors import ApiError
from open_notebook_ext.security.identity import TrustedProxies, client_address, transport_peer
from open_notebook_ext.security.origin import SAFE_METHODS, OriginPolicy, own_origin
from open_notebook_ext.services import SERVICES_SETTING, RequestPolicy

ORIGIN_NOT_ALLOWED = "Origin not allowed"
# Settings keys under which the extension app publishes its policy objects.
_NO_POLICY = RequestPolicy()  # a handler outside a started extension: the defaults
_HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


class OriginMixin(APIHandler):
    """The origin policy and the client address of a request."""

    # False on routes that must never be readable cross-origin (the secret endpoints)
    cors_enabled = True

    @property
    def request_policy(self) -> RequestPolicy:
        """The start-up's request policy (services.py), published with the services."""
        services = self.settings.get(SERVICES_SETTING)
        return services.requests if services is not None else _NO_POLICY

    @property
    def origin_policy(self) -> OriginPolicy:
        return self.request_policy.origins

    @property
    def trust_xheaders(self) -> bool:
        serverapp = self.settings.get("serverapp")
        return bool(getattr(serverapp, "trust_xheaders", False))

    @functools.cached_property
    def trusted_proxies(self) -> TrustedProxies | None:
        """Peers whose forwarded headers count: ``OpenNotebookApp.trusted_proxies``, and
        only while ``ServerApp.trust_xheaders`` is on (None otherwise)."""
        if not self.trust_xheaders:
            return None
        return self.request_policy.trusted_proxies

    @functools.cached_property
    def forwarded_headers_trusted(self) -> bool:
        """Whether X-Forwarded-* / X-Real-Ip of this request are believed: the connection
        comes from a trusted proxy (anyone else who reaches Jupyter, a kernel for one,
        could write anything there)."""
        trusted = self.trusted_proxies
        return trusted is not None and transport_peer(self.request)[0] in trusted

    def origin_verdict(self) -> str:
        """none | same | allowed | disallowed (computed once per request)."""
        verdict = getattr(self, "_origin_verdict", None)
        if verdict is None:
            own = own_origin(
                transport_peer(self.request)[1],
                self.request.headers.get("Host"),
                self.request.headers,
                self.forwarded_headers_trusted,
            )
            verdict = self.origin_policy.verdict(self.request.headers.get("Origin"), own)
            self._origin_verdict = verdict
        return verdict

    def set_default_headers(self) -> None:
        # Runs on construction and again after send_error() clears the headers,
        # so everything set here is on error responses too.
        super().set_default_headers()
        for name in compat.response_header_names(self):
            if name.lower().startswith("access-control-"):
                # e.g. from tornado_settings["headers"]: only our policy answers CORS here
                self.clear_header(name)
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("X-Content-Type-Options", "nosniff")
        origin = self.request.headers.get("Origin")
        if origin is None:
            return
        if not self.cors_enabled:
            self.set_header("Vary", "Origin")
            return
        policy = self.origin_policy
        if not policy.wildcard:
            self.set_header("Vary", "Origin")
        for name, value in policy.response_headers(origin, self.origin_verdict()).items():
            self.set_header(name, value)

    def set_cors_headers(self) -> None:
        # Jupyter echoes any Origin back to token-authenticated requests; our
        # routes answer CORS only through the origin policy.
        return None

    def check_origin(self, origin_to_satisfy_tornado: str = "") -> bool:
        # Disallowed-origin writes were refused in prepare(); reads go on to
        # auth as usual and simply carry no CORS headers, so the browser
        # withholds the response from the foreign page.
        return self.origin_verdict() != "disallowed" or self.request.method in SAFE_METHODS

    def allowed_methods(self) -> list[str]:
        cls = type(self)
        return [
            m
            for m in _HTTP_METHODS
            if getattr(cls, m.lower()) is not getattr(web.RequestHandler, m.lower())
        ]

    def _answer_options(self) -> None:
        """Preflight (and plain OPTIONS): no authentication needed."""
        methods = self.allowed_methods()
        is_preflight = (
            "Origin" in self.request.headers
            and "Access-Control-Request-Method" in self.request.headers
        )
        if is_preflight:
            verdict = self.origin_verdict()
            if verdict == "disallowed" or not self.cors_enabled:
                raise ApiError(403, ORIGIN_NOT_ALLOWED)
            if verdict == "allowed":
                preflight = self.origin_policy.preflight_headers([*methods, "OPTIONS"])
                for name, value in preflight.items():
                    self.set_header(name, value)
        self.set_header("Allow", ", ".join([*methods, "OPTIONS"]))
        self.set_status(204)
        self.finish()

    @functools.cached_property
    def client_address(self) -> str:
        """The client's address (forwarded headers believed only from trusted proxies)."""
        return client_address(
            transport_peer(self.request)[0], self.request.headers, self.trusted_proxies
        )
