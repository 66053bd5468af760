"""Origin allowlist configuration, wildcard mode, proxies, and Jupyter's own CORS settings."""

from __future__ import annotations

import pytest

from open_notebook_ext.errors import ConfigError
from open_notebook_ext.origin import OriginPolicy, normalise_origin, parse_origin_list

# SQLite only: origin policy; the database plays no part.
pytestmark = pytest.mark.sqlite_only


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("https://Lab.Example.org", "https://lab.example.org"),
        ("https://lab.example.org/", "https://lab.example.org"),
        ("https://lab.example.org:443", "https://lab.example.org"),
        ("http://lab.example.org:80/", "http://lab.example.org"),
        ("http://lab.example.org:8080", "http://lab.example.org:8080"),
        ("http://[::1]:8888", "http://[::1]:8888"),
        ("  http://127.0.0.1:9000 ", "http://127.0.0.1:9000"),
    ],
)
def test_normalise(raw, normal):
    assert normalise_origin(raw) == normal


@pytest.mark.parametrize(
    "bad",
    [
        "lab.example.org",
        "ftp://lab.example.org",
        "https://",
        "https://lab.example.org/path",
        "https://user:pw@lab.example.org",
        "https://lab.example.org:99999",
        "null",
        "https://lab.example.org?x=1",
    ],
)
def test_invalid_entries_name_themselves(bad):
    with pytest.raises(ConfigError) as info:
        parse_origin_list(["https://ok.example.org", bad], "allowed_origins")
    assert repr(bad.strip()) in str(info.value)


def test_duplicates_collapse():
    assert parse_origin_list(["https://a.example", "https://A.example/", ""], "x") == (
        "https://a.example",
    )


def test_verdicts():
    policy = OriginPolicy(("https://a.example",))
    own = "http://127.0.0.1:8888"
    assert policy.verdict(None, own) == "none"
    assert policy.verdict(own, own) == "same"
    assert policy.verdict("https://a.example", own) == "allowed"
    for other in (
        "https://a.example/",
        "HTTPS://A.EXAMPLE",
        "https://a.example:444",
        "http://a.example",
        "null",
        "https://b.example",
        "",
    ):
        assert policy.verdict(other, own) == "disallowed", other
    wildcard = OriginPolicy(("*",))
    assert wildcard.verdict("https://b.example", own) == "allowed"
    assert wildcard.verdict("null", own) == "disallowed"
    assert wildcard.response_headers("null", wildcard.verdict("null", own)) == {}


def test_invalid_origin_stops_start_up(server_factory):
    server = server_factory(env={"OPEN_NOTEBOOK_CORS_ORIGINS": "https://ok.example, not-an-origin"})
    server.start(wait=False)
    assert server.wait_exit(60) != 0
    assert "'not-an-origin' is not a valid origin" in server.log
    assert "open_notebook_ext cannot start" in server.log


class TestEnvAlias:
    @pytest.fixture
    def extension_config(self, monkeypatch):
        monkeypatch.setenv("CORS_ORIGINS", "https://alias.example, https://two.example")
        return {}

    async def test_open_notebook_name_is_accepted(self, api, ext):
        assert ext.origin_policy.allowed == ("https://alias.example", "https://two.example")
        r = await api.get("credentials", headers={"Origin": "https://two.example"})
        assert r.headers["Access-Control-Allow-Origin"] == "https://two.example"


class TestWildcard:
    @pytest.fixture
    def extension_config(self):
        return {"allowed_origins": ["*"]}

    async def test_star_without_credentials(self, logs, api):
        for path, status in (("credentials", 200), ("credentials/credential:x", 404)):
            r = await api.get(path, headers={"Origin": "https://anywhere.example"})
            assert r.status == status
            assert r.headers["Access-Control-Allow-Origin"] == "*"
            assert "Access-Control-Allow-Credentials" not in r.headers
        r = await api.request(
            "OPTIONS",
            "credentials",
            auth=None,
            headers={"Origin": "https://anywhere.example", "Access-Control-Request-Method": "POST"},
        )
        assert r.status == 204
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in r.headers
        warnings = [ln for ln in logs.lines if "allowed_origins is '*'" in ln]
        assert len(warnings) == 1
        assert "without" in warnings[0] or "not sent" in warnings[0]

    async def test_null_is_never_allowed(self, api):
        """Issue 15, finding 15: ``Origin: null`` (a sandboxed iframe, a data: or file:
        page: anyone) got ``Access-Control-Allow-Origin: *`` when the list was ``*``."""
        null = {"Origin": "null"}
        r = await api.get("credentials", headers=null)
        assert r.status == 200
        assert not [h for h in r.headers if h.lower().startswith("access-control")]
        pre = await api.request(
            "OPTIONS",
            "credentials",
            auth=None,
            headers={**null, "Access-Control-Request-Method": "POST"},
        )
        assert pre.status == 403 and "Access-Control-Allow-Origin" not in pre.headers
        w = await api.post("notebooks", {"name": "n"}, headers=null)
        assert w.status == 403 and w.json == {"detail": "Origin not allowed"}


class TestJupyterCorsSettingsDoNotApply:
    """ServerApp.allow_origin / allow_origin_pat / allow_credentials and CORS headers in
    tornado_settings change Jupyter's routes, never ours."""

    @pytest.fixture
    def jp_server_config(self):
        return {
            "ServerApp": {
                "jpserver_extensions": {"open_notebook_ext": True},
                "allow_origin": "*",
                "allow_credentials": True,
                "tornado_settings": {
                    "headers": {
                        "Access-Control-Allow-Origin": "*",
                        "Access-Control-Allow-Credentials": "true",
                    }
                },
            }
        }

    async def test_our_routes_ignore_them(self, api, ext):
        evil = {"Origin": "https://evil.example"}
        jupyter = await api.request("GET", "status", headers=evil, prefix="api")
        assert jupyter.headers["Access-Control-Allow-Origin"] == "*"  # Jupyter's own route
        for path in ("credentials", "credentials/credential:x", "nowhere"):
            r = await api.get(path, headers=evil)
            assert not [k for k in r.headers if k.lower().startswith("access-control")], path
        r = await api.post(
            "credentials",
            {"name": "x", "provider": "openai", "api_key": "sk-" + "y" * 20},
            headers=evil,
        )
        assert r.status == 403
        assert r.json == {"detail": "Origin not allowed"}
        assert (await api.get("credentials")).json == []

    class TestPattern:
        @pytest.fixture
        def jp_server_config(self):
            return {
                "ServerApp": {
                    "jpserver_extensions": {"open_notebook_ext": True},
                    "allow_origin_pat": r"https://.*\.example",
                }
            }

        async def test_pattern_does_not_allow_our_writes(self, api):
            r = await api.post(
                "credentials", {"name": "x"}, headers={"Origin": "https://evil.example"}
            )
            assert r.status == 403
            assert "Access-Control-Allow-Origin" not in r.headers


class TestBehindProxy:
    """Same-origin detection and client addresses honour X-Forwarded-* only from a
    trusted proxy: ServerApp.trust_xheaders on and the peer in trusted_proxies."""

    PROXIED = {
        "Origin": "https://lab.proxy.example",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "lab.proxy.example",
    }

    @pytest.fixture(params=["trusted", "xheaders-only", "off"])
    def trust(self, request):
        return request.param

    @pytest.fixture
    def jp_server_config(self, trust):
        proxies = ["127.0.0.1"] if trust == "trusted" else []
        return {
            "ServerApp": {
                "jpserver_extensions": {"open_notebook_ext": True},
                "trust_xheaders": trust != "off",
            },
            "OpenNotebookApp": {"auth_failure_limit": 3, "trusted_proxies": proxies},
        }

    async def test_same_origin_through_proxy(self, api, trust):
        r = await api.post(
            "credentials",
            {"name": "x", "provider": "openai", "api_key": "sk-" + "z" * 20},
            headers=self.PROXIED,
        )
        assert r.status == (201 if trust == "trusted" else 403), r
        assert "Access-Control-Allow-Origin" not in r.headers  # same-origin needs no CORS

    async def test_rate_limit_uses_forwarded_address_only_when_trusted(self, api, trust):
        guess = {"Authorization": "token nope"}
        for _ in range(3):
            r = await api.get(
                "credentials", auth=None, headers={**guess, "X-Forwarded-For": "203.0.113.7"}
            )
            assert r.status == 401
        blocked = await api.get(
            "credentials", auth=None, headers={**guess, "X-Forwarded-For": "203.0.113.7"}
        )
        assert blocked.status == 429
        other = await api.get(
            "credentials", auth=None, headers={**guess, "X-Forwarded-For": "203.0.113.8"}
        )
        # trusted: another client is unaffected; otherwise the header is ignored, and
        # every request is the peer's (loopback) address, which is now blocked.
        assert other.status == (401 if trust == "trusted" else 429)
