"""Authentication for every route: 401 with ``WWW-Authenticate: Bearer`` for missing or
bad credentials (never a login redirect, and before Jupyter's XSRF check can turn it into
a 403), failed-authentication rate limiting (a wrong token from a blocked address is 429
with ``Retry-After``; a valid token always passes), and a ``?token=`` on a request
another site's page made ignored. The base handler (``base``) runs it in ``prepare``.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from open_notebook_ext.http import compat
from open_notebook_ext.http.cors import OriginMixin
from open_notebook_ext.http.errors import ApiError

TOO_MANY_FAILURES = "Too many failed authentication attempts"
WWW_AUTHENTICATE = {"WWW-Authenticate": "Bearer"}


class FailureLimiter(Protocol):
    """What a failed-authentication limiter offers: the per-process one
    (``security/identity.py``) or the database's (``security/dblimiter.py``)."""

    limit: int
    window: float
    blocking: bool  # judge() does I/O (the database's): run it off the event loop

    def judge(self, address: str) -> tuple[int | None, bool]: ...


class AuthMixin(OriginMixin):
    """Who is asking: Jupyter's identity provider, with our answers to a failure."""

    @property
    def auth_limiter(self) -> FailureLimiter | None:
        return self.request_policy.auth_limiter

    def _ignore_cross_site_query_token(self) -> None:
        """A ``?token=`` on a request another site's page made is not the user's.

        An ``<img src=".../providers?token=x">`` on any web page would otherwise be a
        failed guess from the user's own address, and ten of them a lock-out. Such a
        request cannot carry an Authorization header (that needs a CORS preflight, which
        other origins fail), so its only credential is the URL's: it is dropped, the
        request is unauthenticated and counts as nothing. Browsers name the requesting
        site in ``Sec-Fetch-Site`` and, for CORS and form requests, ``Origin``.
        """
        if "token" not in self.request.query_arguments:
            return
        verdict = self.origin_verdict()
        site = (self.request.headers.get("Sec-Fetch-Site") or "").strip().lower()
        if verdict == "disallowed" or (
            verdict != "allowed" and site not in ("", "same-origin", "none")
        ):
            self.request.query_arguments.pop("token", None)
            self.request.arguments.pop("token", None)

    def _refusal(self) -> str | None:
        # An identity provider may know why a valid credential identified nobody (hub
        # service mode: a token without the service's access scope): 403, not a guess.
        refusal = getattr(self.identity_provider, "refusal", None)
        reason = refusal(self) if callable(refusal) else None
        return reason or None

    def _unauthenticated(self) -> ApiError:
        reason = self._refusal()
        if reason:
            return ApiError(403, reason)
        if self.identity_provider.get_token(self):
            return self.wrong_token("Invalid authentication credentials")
        return ApiError(401, "Authentication required", headers=WWW_AUTHENTICATE)

    async def judge_failure(self) -> None:
        """With the database's limiter (service replicas), its verdict on this request's
        wrong token, found on a worker thread before ``wrong_token`` asks for it: the
        event loop never waits for the database here."""
        limiter = self.auth_limiter
        if limiter is None or not limiter.blocking or limiter.limit <= 0:
            return
        if self._refusal() or not self.identity_provider.get_token(self):
            return
        self._limiter_verdict = await asyncio.to_thread(limiter.judge, self.client_address)

    def wrong_token(self, detail: str) -> ApiError:
        """The answer to a token that did not match: a guess.

        401, counted against the client's address; while the address is blocked, 429
        with ``Retry-After`` and not counted again. Only guesses are ever refused this
        way: a valid token is accepted from a blocked address too, so no one (a web
        page, another process on the same host) can lock the user out. Computed once
        per request, however often it is asked.
        """
        answer: ApiError | None = getattr(self, "_wrong_token_answer", None)
        if answer is not None:
            return answer
        limiter, address = self.auth_limiter, self.client_address
        verdict: tuple[int | None, bool] | None = getattr(self, "_limiter_verdict", None)
        if verdict is None:
            verdict = limiter.judge(address) if limiter is not None else (None, False)
        retry_after, blocks = verdict
        if retry_after is not None:
            answer = ApiError(429, TOO_MANY_FAILURES, headers={"Retry-After": str(retry_after)})
        else:
            self.audit_auth("failure")
            if limiter is not None and blocks:
                # Logged once per block; never with the offered token.
                self.log.warning(
                    "Blocking %s for %ss after %s failed authentication attempts",
                    address,
                    int(limiter.window),
                    limiter.limit,
                )
                self.audit_auth("blocked", retry_after=int(limiter.window))
            answer = ApiError(401, detail, headers=WWW_AUTHENTICATE)
        self._wrong_token_answer = answer
        return answer

    def get_login_url(self) -> str:
        # tornado's @web.authenticated asks for the login page when nobody is
        # logged in; an API answers 401 instead of redirecting.
        raise self._unauthenticated()

    def check_xsrf_cookie(self) -> None:
        # Jupyter checks XSRF before authentication, which would answer a write
        # without credentials with 403; missing credentials are a 401.
        if compat.jupyter_found_no_user(self):
            if not self._method_allows_anonymous():
                raise self._unauthenticated()
            return None
        return super().check_xsrf_cookie()

    def _method_allows_anonymous(self) -> bool:
        method = getattr(self, (self.request.method or "get").lower(), None)
        return compat.allows_unauthenticated(method)

    def audit_auth(self, action: str, **data: Any) -> None:
        audit = getattr(getattr(self, "extensionapp", None), "audit", None)
        if audit is not None:
            audit.emit(
                "auth",
                action=action,
                client=self.client_address,
                method=self.request.method,
                path=self.request.path,
                **data,
            )
