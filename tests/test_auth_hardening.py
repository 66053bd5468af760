"""401 vs 403, cookie + XSRF, password login, rate limiting, constant-time tokens."""

from __future__ import annotations

import json
import re

import pytest
import requests

import open_notebook_ext.auth as auth_module
from helpers import random_api_key
from open_notebook_ext.auth import AuthFailureLimiter, ConstantTimeIdentityProvider

NEW = {"name": "x", "provider": "openai", "api_key": "sk-" + "q" * 24}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestAuthorizerRefusal:
    @pytest.fixture
    def jp_server_config(self):
        return {"ServerApp": {"jpserver_extensions": {"open_notebook_ext": True},
                              "authorizer_class": "helpers.HeaderDenyAuthorizer"}}

    @pytest.mark.parametrize(("method", "path"), [("GET", "credentials"),
                                                   ("POST", "credentials"),
                                                   ("GET", "providers"),
                                                   ("DELETE", "credentials/credential:x")])
    async def test_refused_is_403_not_401(self, api, method, path):
        r = await api.request(method, path, NEW if method == "POST" else None,
                              headers={"X-Test-Deny": "1"})
        assert r.status == 403, r
        assert "not authorized" in r.json["detail"]
        assert "WWW-Authenticate" not in r.headers


async def login_cookie_and_xsrf(api, jp_base_url):
    """A token request sets Jupyter's login cookie; GET /login sets the _xsrf cookie."""
    r = await api.get("credentials")
    cookies = {}
    for header in r.headers.get_list("Set-Cookie"):
        name, _, rest = header.partition("=")
        cookies[name] = rest.split(";")[0]
    login = await api.http.fetch(f"{jp_base_url}login", raise_error=False)
    for header in login.headers.get_list("Set-Cookie"):
        name, _, rest = header.partition("=")
        cookies[name] = rest.split(";")[0]
    assert "_xsrf" in cookies and any(n.startswith("username-") for n in cookies)
    return "; ".join(f"{k}={v}" for k, v in cookies.items()), cookies["_xsrf"]


async def test_cookie_auth_needs_xsrf_for_writes(api, ext, jp_base_url):
    cookie, xsrf = await login_cookie_and_xsrf(api, jp_base_url)
    read = await api.get("credentials", headers={"Cookie": cookie}, auth=None)
    assert read.status == 200
    no_xsrf = await api.post("credentials", NEW, headers={"Cookie": cookie}, auth=None)
    assert no_xsrf.status == 403, no_xsrf
    assert "xsrf" in no_xsrf.json["detail"].lower()
    assert (await api.get("credentials")).json == []
    ok = await api.post("credentials", NEW, headers={"Cookie": cookie, "X-XSRFToken": xsrf},
                        auth=None)
    assert ok.status == 201, ok


def test_password_login_then_api_with_cookie_and_xsrf(server_factory, tmp_path):
    from jupyter_server.auth import passwd

    password = "correct horse " + random_api_key("pw")
    home = tmp_path / "home"
    (home / ".jupyter").mkdir(parents=True)
    (home / ".jupyter" / "jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"identity_provider_class":
                      "open_notebook_ext.auth.ConstantTimeIdentityProvider"},
        "PasswordIdentityProvider": {"hashed_password": passwd(password)},
    }))
    server = server_factory(home=home, token="").start()
    s = requests.Session()
    s.get(server.url + "login", timeout=10)
    xsrf = s.cookies["_xsrf"]

    bad = s.post(server.url + "login", data={"password": "wrong", "_xsrf": xsrf},
                 allow_redirects=False, timeout=10)
    assert bad.status_code == 401
    assert s.get(server.url + "open-notebook/api/credentials", timeout=10).status_code == 401

    good = s.post(server.url + "login", data={"password": password, "_xsrf": xsrf},
                  allow_redirects=False, timeout=10)
    assert good.status_code == 302
    api = server.url + "open-notebook/api/credentials"
    assert s.get(api, timeout=10).status_code == 200
    denied = s.post(api, json=NEW, timeout=10)
    assert denied.status_code == 403
    assert denied.headers["Content-Type"].startswith("application/json")
    created = s.post(api, json=NEW, headers={"X-XSRFToken": xsrf}, timeout=10)
    assert created.status_code == 201, created.text
    assert password not in server.log


class TestRateLimit:
    @pytest.fixture
    def jp_server_config(self):
        return {"ServerApp": {"jpserver_extensions": {"open_notebook_ext": True},
                              "trust_xheaders": True}}

    async def test_trip_and_recover(self, logs, api, ext):
        clock = FakeClock()
        ext.auth_limiter.clock = clock
        attacker = {"X-Forwarded-For": "198.51.100.9"}
        # successes are not counted
        for _ in range(20):
            assert (await api.get("credentials", headers=attacker)).status == 200
        for i in range(10):
            clock.now += 1
            r = await api.get("credentials", auth=None,
                              headers={**attacker, "Authorization": f"Bearer guess-{i}"})
            assert r.status == 401
        blocked = await api.get("credentials", headers=attacker)  # even the right token
        assert blocked.status == 429
        assert blocked.json == {"detail": "Too many failed authentication attempts"}
        assert blocked.headers["Retry-After"] == "60"
        assert (await api.get("credentials", headers={"X-Forwarded-For": "198.51.100.10"})
                ).status == 200
        clock.now += 30
        r = await api.get("credentials", headers=attacker)
        assert r.status == 429 and r.headers["Retry-After"] == "30"
        block_lines = [ln for ln in logs.lines if "Blocking 198.51.100.9" in ln]
        assert len(block_lines) == 1
        assert "guess-" not in logs.text
        clock.now += 31
        assert (await api.get("credentials", headers=attacker)).status == 200

    async def test_failures_outside_the_window_do_not_add_up(self, api, ext):
        clock = FakeClock()
        ext.auth_limiter.clock = clock
        for _ in range(30):
            clock.now += 7  # 9 failures at most in any 60 s window
            r = await api.get("credentials", auth=None, headers={"Authorization": "token no"})
            assert r.status == 401
        assert (await api.get("credentials")).status == 200

    async def test_requests_without_credentials_are_not_attempts(self, api, ext):
        for _ in range(15):
            assert (await api.get("credentials", auth=None)).status == 401
        assert (await api.get("credentials")).status == 200


def test_limiter_memory_is_bounded():
    limiter = AuthFailureLimiter(limit=2, window=60, max_tracked=50, clock=FakeClock())
    for i in range(10_000):
        limiter.record_failure(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter) == 50


def test_limiter_off():
    limiter = AuthFailureLimiter(limit=0)
    for _ in range(100):
        assert limiter.record_failure("1.2.3.4") is False
    assert limiter.retry_after("1.2.3.4") is None


class TestConstantTimeIdentityProvider:
    @pytest.fixture
    def jp_server_config(self):
        return {"ServerApp": {
            "jpserver_extensions": {"open_notebook_ext": True},
            "identity_provider_class": "open_notebook_ext.auth.ConstantTimeIdentityProvider"}}

    async def test_tokens_compared_with_compare_digest(self, api, jp_serverapp, monkeypatch):
        assert isinstance(jp_serverapp.identity_provider, ConstantTimeIdentityProvider)
        calls = []
        real = auth_module.hmac.compare_digest

        def spy(a, b):
            calls.append((len(a), len(b)))
            return real(a, b)

        monkeypatch.setattr(auth_module.hmac, "compare_digest", spy)
        token = api.token
        assert (await api.get("credentials")).status == 200
        assert calls
        for wrong in (token[:-1], token + "x", token.upper() if token != token.upper() else "x",
                      "", token + " x"):
            r = await api.get("credentials", auth=None,
                              headers={"Authorization": f"token {wrong}"})
            assert r.status == 401, wrong

    async def test_login_form_accepts_the_token(self, api, jp_base_url):
        login = await api.http.fetch(f"{jp_base_url}login", raise_error=False)
        cookie = next(h for h in login.headers.get_list("Set-Cookie") if h.startswith("_xsrf"))
        xsrf = cookie.split("=", 1)[1].split(";")[0]
        for password, ok in ((api.token, True), ("nope", False)):
            r = await api.http.fetch(
                f"{jp_base_url}login", method="POST", raise_error=False, follow_redirects=False,
                headers={"Cookie": f"_xsrf={xsrf}"},
                body=f"password={password}&_xsrf={xsrf}")
            assert (r.code == 302) is ok, (password, r.code)
            assert bool([h for h in r.headers.get_list("Set-Cookie")
                         if re.match(r"username-", h)]) is ok
