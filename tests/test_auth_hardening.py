"""401 vs 403, cookie + XSRF, password login, rate limiting, constant-time tokens."""

from __future__ import annotations

import json
import re

import pytest
import requests

import open_notebook_ext.auth as auth_module
from helpers import random_api_key
from open_notebook_ext.auth import (
    AuthFailureLimiter,
    ConstantTimeIdentityProvider,
    TrustedProxies,
    client_address,
    transport_peer,
)
from open_notebook_ext.errors import ConfigError

# SQLite only: authentication and rate limiting are decided before any database call.
pytestmark = pytest.mark.sqlite_only

NEW = {"name": "x", "provider": "openai", "api_key": "sk-" + "q" * 24}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestAuthorizerRefusal:
    @pytest.fixture
    def jp_server_config(self):
        return {
            "ServerApp": {
                "jpserver_extensions": {"open_notebook_ext": True},
                "authorizer_class": "helpers.HeaderDenyAuthorizer",
            }
        }

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "credentials"),
            ("POST", "credentials"),
            ("GET", "providers"),
            ("DELETE", "credentials/credential:x"),
        ],
    )
    async def test_refused_is_403_not_401(self, api, method, path):
        r = await api.request(
            method, path, NEW if method == "POST" else None, headers={"X-Test-Deny": "1"}
        )
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
    ok = await api.post(
        "credentials", NEW, headers={"Cookie": cookie, "X-XSRFToken": xsrf}, auth=None
    )
    assert ok.status == 201, ok


def test_password_login_then_api_with_cookie_and_xsrf(server_factory, tmp_path):
    from jupyter_server.auth import passwd

    password = "correct horse " + random_api_key("pw")
    home = tmp_path / "home"
    (home / ".jupyter").mkdir(parents=True)
    (home / ".jupyter" / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "ServerApp": {
                    "identity_provider_class": "open_notebook_ext.auth.ConstantTimeIdentityProvider"
                },
                "PasswordIdentityProvider": {"hashed_password": passwd(password)},
            }
        )
    )
    server = server_factory(home=home, token="").start()
    s = requests.Session()
    s.get(server.url + "login", timeout=10)
    xsrf = s.cookies["_xsrf"]

    bad = s.post(
        server.url + "login",
        data={"password": "wrong", "_xsrf": xsrf},
        allow_redirects=False,
        timeout=10,
    )
    assert bad.status_code == 401
    assert s.get(server.url + "open-notebook/api/credentials", timeout=10).status_code == 401

    good = s.post(
        server.url + "login",
        data={"password": password, "_xsrf": xsrf},
        allow_redirects=False,
        timeout=10,
    )
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
        # The in-process client connects from 127.0.0.1, which plays the proxy here.
        return {
            "ServerApp": {
                "jpserver_extensions": {"open_notebook_ext": True},
                "trust_xheaders": True,
            },
            "OpenNotebookApp": {"trusted_proxies": ["127.0.0.1"]},
        }

    async def block(self, api, ext, address="198.51.100.9"):
        clock = FakeClock()
        ext.auth_limiter.clock = clock
        attacker = {"X-Forwarded-For": address}
        for i in range(10):
            clock.now += 1
            r = await api.get(
                "credentials", auth=None, headers={**attacker, "Authorization": f"Bearer guess-{i}"}
            )
            assert r.status == 401
        return clock, attacker

    async def test_trip_and_recover(self, logs, api, ext):
        attacker = {"X-Forwarded-For": "198.51.100.9"}
        # successes are not counted
        for _ in range(20):
            assert (await api.get("credentials", headers=attacker)).status == 200
        clock, attacker = await self.block(api, ext)
        guess = {**attacker, "Authorization": "Bearer one-more-guess"}
        blocked = await api.get("credentials", auth=None, headers=guess)
        assert blocked.status == 429
        assert blocked.json == {"detail": "Too many failed authentication attempts"}
        assert blocked.headers["Retry-After"] == "60"
        assert (
            await api.get(
                "credentials",
                auth=None,
                headers={"X-Forwarded-For": "198.51.100.10", "Authorization": "Bearer guess"},
            )
        ).status == 401
        clock.now += 30
        r = await api.get("credentials", auth=None, headers=guess)
        assert r.status == 429 and r.headers["Retry-After"] == "30"
        block_lines = [ln for ln in logs.lines if "Blocking 198.51.100.9" in ln]
        assert len(block_lines) == 1
        assert "guess-" not in logs.text and "one-more-guess" not in logs.text
        clock.now += 31
        assert (await api.get("credentials", auth=None, headers=guess)).status == 401

    async def test_a_valid_token_passes_while_the_address_is_blocked(self, api, ext):
        """Issue 15, finding 6: the block refuses guesses, never the user. Before, the valid
        token got 429 for a minute after ten bad guesses from the same address (any web
        page's <img> tags, or another kernel on 127.0.0.1), renewable."""
        _, attacker = await self.block(api, ext)
        assert (
            await api.get(
                "credentials",
                auth=None,
                headers={**attacker, "Authorization": "Bearer another-guess"},
            )
        ).status == 429
        ok = await api.get("credentials", headers=attacker)
        assert ok.status == 200, ok
        assert (
            await api.post("notebooks", {"name": "still working"}, headers=attacker)
        ).status == 200
        # no credentials at all is not a guess either: the usual 401
        r = await api.get("credentials", auth=None, headers=attacker)
        assert r.status == 401 and r.json == {"detail": "Authentication required"}
        # the block is still there for guesses
        assert (
            await api.get(
                "credentials",
                auth=None,
                headers={**attacker, "Authorization": "Bearer and-another"},
            )
        ).status == 429

    async def test_openapi_json_answers_while_the_address_is_blocked(self, api, ext):
        """Issue 15, finding 15: the public description answered 429 to a blocked address."""
        _, attacker = await self.block(api, ext)
        r = await api.get("openapi.json", auth=None, headers=attacker)
        assert r.status == 200, r
        assert r.json["openapi"].startswith("3.")

    async def test_failures_outside_the_window_do_not_add_up(self, api, ext):
        clock = FakeClock()
        ext.auth_limiter.clock = clock
        for _ in range(30):
            clock.now += 7  # 9 failures at most in any 60 s window
            r = await api.get("credentials", auth=None, headers={"Authorization": "token no"})
            assert r.status == 401
        assert (
            await api.get("credentials", auth=None, headers={"Authorization": "token no"})
        ).status == 401

    async def test_requests_without_credentials_are_not_attempts(self, api, ext):
        for _ in range(15):
            assert (await api.get("credentials", auth=None)).status == 401
        r = await api.get("credentials", auth=None, headers={"Authorization": "token no"})
        assert r.status == 401

    async def test_a_token_in_the_url_of_a_cross_site_request_is_no_guess(self, api, ext):
        """Issue 15, finding 6: ``<img src=".../providers?token=x">`` on any page. Such a
        request (Sec-Fetch-Site: cross-site, or a disallowed Origin, and its token in the
        URL only) is not authenticated by that token and counts as nothing."""
        marks = [
            {
                "Sec-Fetch-Site": "cross-site",
                "Sec-Fetch-Mode": "no-cors",
                "Sec-Fetch-Dest": "image",
            },
            {"Sec-Fetch-Site": "same-site"},
            {"Origin": "https://evil.example"},
        ]
        for i in range(30):
            r = await api.get(f"providers?token=x{i}", auth=None, headers=marks[i % 3])
            assert r.status == 401, r
            assert r.json == {"detail": "Authentication required"}
        # the real token in such a URL does not authenticate either (no cross-site use)
        r = await api.get(f"providers?token={api.token}", auth=None, headers=marks[0])
        assert r.status == 401
        events = ext.audit.read(owner=None, limit=1000)
        assert not [e for e in events if e.get("action") in ("failure", "blocked")]
        # ...while a same-origin or direct request with that URL token works
        for headers in ({"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}, {}):
            r = await api.get(f"providers?token={api.token}", auth=None, headers=headers)
            assert r.status == 200, (headers, r)
        # and a wrong URL token sent directly is still a guess
        r = await api.get("providers?token=direct-guess", auth=None)
        assert r.status == 401 and r.json["detail"] == "Invalid authentication credentials"


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
        return {
            "ServerApp": {
                "jpserver_extensions": {"open_notebook_ext": True},
                "identity_provider_class": "open_notebook_ext.auth.ConstantTimeIdentityProvider",
            }
        }

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
        for wrong in (
            token[:-1],
            token + "x",
            token.upper() if token != token.upper() else "x",
            "",
            token + " x",
        ):
            r = await api.get("credentials", auth=None, headers={"Authorization": f"token {wrong}"})
            assert r.status == 401, wrong

    async def test_login_form_accepts_the_token(self, api, jp_base_url):
        login = await api.http.fetch(f"{jp_base_url}login", raise_error=False)
        cookie = next(h for h in login.headers.get_list("Set-Cookie") if h.startswith("_xsrf"))
        xsrf = cookie.split("=", 1)[1].split(";")[0]
        for password, ok in ((api.token, True), ("nope", False)):
            r = await api.http.fetch(
                f"{jp_base_url}login",
                method="POST",
                raise_error=False,
                follow_redirects=False,
                headers={"Cookie": f"_xsrf={xsrf}"},
                body=f"password={password}&_xsrf={xsrf}",
            )
            assert (r.code == 302) is ok, (password, r.code)
            assert (
                bool([h for h in r.headers.get_list("Set-Cookie") if re.match(r"username-", h)])
                is ok
            )


# -- forwarded addresses (issue 15, finding 7) -----------------------------------------

PROXY = TrustedProxies(["10.0.0.2", "192.168.7.0/24"])


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        # an untrusted peer is the client, whatever it says
        ("127.0.0.1", {"X-Forwarded-For": "203.0.113.1"}, "127.0.0.1"),
        ("10.0.0.3", {"X-Real-Ip": "203.0.113.1"}, "10.0.0.3"),
        # the proxy's word for it
        ("10.0.0.2", {"X-Forwarded-For": "203.0.113.1"}, "203.0.113.1"),
        ("10.0.0.2", {"X-Real-Ip": "203.0.113.1"}, "203.0.113.1"),
        ("10.0.0.2", {}, "10.0.0.2"),
        # right to left past trusted proxies: what the client wrote first is not believed
        ("10.0.0.2", {"X-Forwarded-For": "198.51.100.7, 203.0.113.1"}, "203.0.113.1"),
        ("10.0.0.2", {"X-Forwarded-For": "198.51.100.7, 203.0.113.1, 192.168.7.9"}, "203.0.113.1"),
        ("10.0.0.2", {"X-Forwarded-For": "192.168.7.8, 192.168.7.9"}, "192.168.7.8"),
        # garbage stops the walk at the last address that was one
        ("10.0.0.2", {"X-Forwarded-For": "203.0.113.1, not-an-ip"}, "10.0.0.2"),
        ("10.0.0.2", {"X-Forwarded-For": "not-an-ip, 203.0.113.1"}, "203.0.113.1"),
        ("10.0.0.2", {"X-Forwarded-For": "not-an-ip", "X-Real-Ip": "203.0.113.1"}, "10.0.0.2"),
        # X-Forwarded-For wins over X-Real-Ip (which a chain of proxies overwrites)
        ("10.0.0.2", {"X-Forwarded-For": "203.0.113.1", "X-Real-Ip": "192.168.7.9"}, "203.0.113.1"),
        # IPv4-mapped peers, IPv6 clients
        ("::ffff:10.0.0.2", {"X-Forwarded-For": "2001:db8::1"}, "2001:db8::1"),
        (None, {"X-Forwarded-For": "203.0.113.1"}, "unknown"),
    ],
)
def test_client_address(peer, headers, expected):
    assert client_address(peer, headers, PROXY) == expected


def test_no_trusted_proxies_means_no_forwarded_header_counts():
    for trusted in (None, TrustedProxies()):
        assert (
            client_address(
                "127.0.0.1", {"X-Forwarded-For": "203.0.113.1", "X-Real-Ip": "203.0.113.2"}, trusted
            )
            == "127.0.0.1"
        )


def test_trusted_proxies_entries():
    proxies = TrustedProxies(["172.31.240.2", " 10.1.0.0/16 ", "", "fd00::/8", "unix:"])
    assert "172.31.240.2" in proxies and "10.1.200.3" in proxies and "fd00::5" in proxies
    assert "unix:" in proxies and "172.31.240.3" not in proxies and "junk" not in proxies
    with pytest.raises(ConfigError, match="'proxy' is not an IP address or network"):
        TrustedProxies(["10.0.0.1", "proxy"], "OpenNotebookApp.trusted_proxies")


async def test_transport_peer_sees_through_tornado_xheaders():
    """Tornado's xheaders=True (ServerApp.trust_xheaders) rewrites request.remote_ip and
    request.protocol from any client's headers; transport_peer reads the connection's own
    (private attributes of tornado's connection context: this pins them)."""
    from tornado.httpclient import AsyncHTTPClient
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets
    from tornado.web import Application, RequestHandler

    class Echo(RequestHandler):
        def get(self) -> None:
            self.write(
                {
                    "remote_ip": self.request.remote_ip,
                    "protocol": self.request.protocol,
                    "peer": list(transport_peer(self.request)),
                }
            )

    sockets = bind_sockets(0, "127.0.0.1")
    server = HTTPServer(Application([("/", Echo)]), xheaders=True)
    server.add_sockets(sockets)
    try:
        port = sockets[0].getsockname()[1]
        r = await AsyncHTTPClient().fetch(
            f"http://127.0.0.1:{port}/",
            headers={"X-Real-Ip": "203.0.113.9", "X-Forwarded-Proto": "https"},
        )
        seen = json.loads(r.body)
        assert seen["remote_ip"] == "203.0.113.9" and seen["protocol"] == "https"  # rewritten
        assert seen["peer"] == ["127.0.0.1", "http"]  # what the socket says
    finally:
        server.stop()


@pytest.mark.subprocess
def test_forged_forwarded_headers_from_an_unlisted_peer_count_for_the_peer(
    server_factory, tmp_path
):
    """A kernel (or anything else on the host) reaches Jupyter directly. With
    trust_xheaders on, it used to pick its address per request: a fresh X-Forwarded-For
    per guess meant unlimited guessing (and false addresses in the audit trail).
    Jupyter's Tornado rewrites remote_ip from X-Real-Ip before any handler runs."""
    server = server_factory(args=["--ServerApp.trust_xheaders=True"]).start()
    for i in range(10):
        r = server.api(
            "GET",
            "credentials",
            auth=False,
            headers={
                "Authorization": f"token guess-{i}",
                "X-Forwarded-For": f"203.0.113.{i}",
                "X-Real-Ip": f"198.51.100.{i}",
            },
        )
        assert r.status == 401, r.text
    r = server.api(
        "GET",
        "credentials",
        auth=False,
        headers={
            "Authorization": "token guess-x",
            "X-Forwarded-For": "203.0.113.99",
            "X-Real-Ip": "198.51.100.99",
        },
    )
    assert r.status == 429, r.text  # all ten were counted for 127.0.0.1
    events = [
        json.loads(line) for line in (server.data_dir / "audit.jsonl").read_text().splitlines()
    ]
    clients = {e["client"] for e in events if e.get("action") in ("failure", "blocked")}
    assert clients == {"127.0.0.1"}
    assert "trusted_proxies is empty" in server.log  # the start-up warning says why

    # listed as a proxy, the same peer is believed (right to left past itself)
    server.stop()
    trusting = server_factory(
        home=tmp_path / "trusting",
        env={"OPEN_NOTEBOOK_TRUSTED_PROXIES": "127.0.0.1"},
        args=["--ServerApp.trust_xheaders=True"],
    ).start()
    for i in range(12):
        r = trusting.api(
            "GET",
            "credentials",
            auth=False,
            headers={"Authorization": f"token guess-{i}", "X-Forwarded-For": f"203.0.113.{i}"},
        )
        assert r.status == 401, r.text
    events = [
        json.loads(line) for line in (trusting.data_dir / "audit.jsonl").read_text().splitlines()
    ]
    assert {e["client"] for e in events if e.get("action") == "failure"} == {
        f"203.0.113.{i}" for i in range(12)
    }


def test_an_invalid_trusted_proxy_stops_start_up(server_factory):
    server = server_factory(env={"OPEN_NOTEBOOK_TRUSTED_PROXIES": "10.0.0.2,proxy.internal"})
    server.start(wait=False)
    assert server.wait_exit(60) != 0
    assert "'proxy.internal' is not an IP address or network" in server.log
    assert "Traceback" not in server.log


# -- the authorizer on every route (issue 15, finding 5) ---------------------------------


def _spec_operations() -> list[tuple[str, str]]:
    from open_notebook_ext.handlers.meta import openapi_spec

    return [
        (method.upper(), path)
        for path, item in openapi_spec()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "delete", "patch")
    ]


@pytest.mark.subprocess
def test_an_authorizer_that_denies_open_notebook_is_asked_on_every_route(server_factory, tmp_path):
    """With an authorizer refusing resource ``open_notebook``, every route of the OpenAPI
    description is 403 (openapi.json, public, excepted) — the secret routes included,
    which used to hand out keys (GET secrets, POST secrets/get, POST
    credentials/{id}/secret): they authenticate kernel tokens themselves and skipped the
    authorizer. A kernel is asked about as the kernel's owner."""
    from helpers import Kernel, pythonpath_env

    deny = tmp_path / "deny"
    server = server_factory(
        env={**pythonpath_env(), "OPEN_NOTEBOOK_OWNER": "kernel-owner"},
        args=[
            "--ServerApp.authorizer_class=helpers.DenyOpenNotebookAuthorizer",
            f"--DenyOpenNotebookAuthorizer.deny_file={deny}",
        ],
    ).start()
    (server.root / "work").mkdir()
    (server.root / "work" / "x.ipynb").write_text("{}")  # a grant needs the notebook file
    key = random_api_key()
    cred = server.api(
        "POST", "credentials", {"name": "Work", "provider": "openai", "api_key": key}
    ).json
    ids = {
        "credential_id": cred["id"],
        "provider": "openai",
        "notebook_id": server.api("POST", "notebooks", {"name": "n"}).json["id"],
        "note_id": server.api("POST", "notes", {"content": "c"}).json["id"],
        "source_id": server.api("POST", "sources", {"type": "text", "content": "t"}).json["id"],
        "grant_id": server.api(
            "PUT", "grants", {"credential_id": cred["id"], "notebook_path": "work/x.ipynb"}
        ).json["id"],
        "prompt_id": "prompt:x",
        "path": "chat/completions",
        "budget_id": server.api(
            "PUT", "budgets", {"credential_id": cred["id"], "requests_per_day": 5}
        ).json["id"],
    }
    kernel = Kernel(server, "work/x.ipynb")
    read = (
        "from open_notebook_ext import secrets\n"
        "try:\n    print('KEY', secrets.get('Work'))\n"
        "except secrets.SecretError as e:\n    print('REFUSED', type(e).__name__, e)\n"
    )
    try:
        assert kernel.run(read).strip() == f"KEY {key}"  # allowed: the kernel reads it
        deny.touch()
        answers = {}
        for method, path in _spec_operations():
            url = path.lstrip("/").format(**ids)
            body = {} if method in ("POST", "PUT", "PATCH") else None
            r = server.api(method, url, body)
            answers[(method, path)] = r.status
            assert key not in r.text, (method, path)
            if path == "/openapi.json":
                assert r.status == 200
                continue
            assert r.status == 403, (method, path, r.status, r.text)
            assert r.json["detail"].startswith("User is not authorized to "), (method, path)
        assert len(answers) >= 30
        # a multipart upload is refused before anything is written
        r = requests.post(
            server.url + "open-notebook/api/sources",
            headers={"Authorization": f"token {server.token}"},
            data={"type": "upload"},
            files={"file": ("a.txt", b"text")},
            timeout=30,
        )
        assert r.status_code == 403, r.text
        refused = kernel.run(read)
        assert refused.startswith("REFUSED") and key not in refused, refused
        assert (
            "authorizer asked: user=kernel-owner action=write resource=open_notebook -> denied"
        ) in server.log
        deny.unlink()
        assert kernel.run(read).strip() == f"KEY {key}"  # the authorizer said no, not us
    finally:
        kernel.shutdown()
