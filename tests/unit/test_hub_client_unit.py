"""Client mode's pure parts (hub/client.py, hub/forward.py, hub/relay.py): what a
user's server refuses to start with, which headers go to the service and come back, and
what the service makes of a relayed kernel's names."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from tornado.httputil import HTTPHeaders

from open_notebook_ext.errors import ConfigError
from open_notebook_ext.http.errors import ApiError
from open_notebook_ext.hub.client import KERNEL_STRIP, api_url, check
from open_notebook_ext.hub.forward import KERNEL_PATHS, passed_back, upstream_headers
from open_notebook_ext.hub.relay import KERNEL_HEADER, NOTEBOOKS_HEADER, relayed_kernel
from open_notebook_ext.proxy.forward import request_headers

HUB_TOKEN = {"JUPYTERHUB_API_TOKEN": "h" * 32}


def test_api_url_is_under_the_services_base():
    base = "http://127.0.0.1:10101/services/open-notebook"
    assert api_url(base) == base + "/open-notebook/api/"
    assert api_url(base + "/") == base + "/open-notebook/api/"
    for bad in ("127.0.0.1:10101", "ftp://h/x", "http://h/x?a=1", ""):
        with pytest.raises(ConfigError, match="hub_service_url"):
            api_url(bad)


@pytest.mark.parametrize(
    "name",
    [
        "OPEN_NOTEBOOK_DB_URL",
        "OPEN_NOTEBOOK_DB_URL_FILE",
        "OPEN_NOTEBOOK_ENCRYPTION_KEY",
        "OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE",
        "OPEN_NOTEBOOK_ENCRYPTION_KEYS",
        "OPEN_NOTEBOOK_ENCRYPTION_KEYS_FILE",
    ],
)
def test_a_store_or_key_in_the_environment_stops_client_mode(name):
    with pytest.raises(ConfigError, match=name) as e:
        check({}, {**HUB_TOKEN, name: "the secret value"})
    assert "the secret value" not in str(e.value)


@pytest.mark.parametrize("setting", ["db_url", "encryption_key", "encryption_keys"])
def test_a_store_or_key_setting_stops_client_mode(setting):
    with pytest.raises(ConfigError, match=f"OpenNotebookApp.{setting}"):
        check({setting: "x"}, HUB_TOKEN)


def test_client_mode_needs_the_hub_token():
    with pytest.raises(ConfigError, match="JUPYTERHUB_API_TOKEN"):
        check({}, {})
    assert check({"data_dir": "/x"}, HUB_TOKEN) == HUB_TOKEN["JUPYTERHUB_API_TOKEN"]
    assert "JUPYTERHUB_API_TOKEN" in KERNEL_STRIP and "JPY_API_TOKEN" in KERNEL_STRIP


def test_only_the_hub_token_and_plain_headers_go_to_the_service():
    incoming = HTTPHeaders()
    for name, value in [
        ("Authorization", "Bearer onk_kernel"),
        ("X-Api-Key", "onk_kernel"),
        ("Cookie", "jupyterhub-user-alice=..."),
        ("Origin", "https://lab.example"),
        ("Sec-Fetch-Site", "same-origin"),
        ("X-Forwarded-For", "10.0.0.1"),
        ("X-XSRFToken", "x"),
        (KERNEL_HEADER, "forged"),
        (NOTEBOOKS_HEADER, '["forged.ipynb"]'),
        ("Connection", "keep-alive"),
        ("Content-Type", "application/json"),
        ("Anthropic-Version", "2023-06-01"),
    ]:
        incoming.add(name, value)
    out = upstream_headers(incoming, "hubtoken")
    assert dict(out.get_all()) == {
        "Authorization": "token hubtoken",
        "Content-Type": "application/json",
        "Anthropic-Version": "2023-06-01",
    }


def test_the_services_answer_keeps_its_own_headers_not_cookies_nor_cors():
    upstream = HTTPHeaders()
    for name, value in [
        ("Content-Type", "text/event-stream"),
        ("Retry-After", "5"),
        ("Set-Cookie", "a=b"),
        ("Access-Control-Allow-Origin", "*"),
        ("Content-Length", "10"),
        ("Transfer-Encoding", "chunked"),
        ("Server-Timing", "app;dur=1"),
    ]:
        upstream.add(name, value)
    assert passed_back(upstream) == [("Content-Type", "text/event-stream"), ("Retry-After", "5")]


def test_the_kernel_paths():
    for path in ("secrets", "secrets/get", "credentials/c1/secret", "proxy/c1/v1/chat/completions"):
        assert KERNEL_PATHS.fullmatch(path), path
    for path in ("credentials", "credentials/c1", "grants", "proxy/", "secretsx", "usage"):
        assert not KERNEL_PATHS.fullmatch(path), path


def _handler(headers: dict[str, str], *, service: bool = True) -> SimpleNamespace:
    provider = SimpleNamespace(notebooks_elsewhere=True) if service else SimpleNamespace()
    return SimpleNamespace(
        identity_provider=provider, request=SimpleNamespace(headers=HTTPHeaders(headers))
    )


def test_the_service_reads_a_relayed_kernel_and_its_notebooks():
    h = _handler({KERNEL_HEADER: "k1", NOTEBOOKS_HEADER: '["b.ipynb", "a.ipynb"]'})
    assert relayed_kernel(h) == ("k1", ["a.ipynb", "b.ipynb"])
    assert relayed_kernel(_handler({})) is None
    # a server that is not the hub service ignores the headers (nothing to narrow there)
    assert relayed_kernel(_handler({KERNEL_HEADER: "k1"}, service=False)) is None


@pytest.mark.parametrize(
    "headers",
    [
        {KERNEL_HEADER: "k1", NOTEBOOKS_HEADER: "not json"},
        {KERNEL_HEADER: "k1", NOTEBOOKS_HEADER: '"a.ipynb"'},
        {KERNEL_HEADER: "k1", NOTEBOOKS_HEADER: "[1]"},
        {KERNEL_HEADER: "k1", NOTEBOOKS_HEADER: '[""]'},
        {KERNEL_HEADER: " ", NOTEBOOKS_HEADER: "[]"},
        {NOTEBOOKS_HEADER: '["a.ipynb"]'},
    ],
)
def test_malformed_relay_headers_are_a_400(headers):
    with pytest.raises(ApiError) as e:
        relayed_kernel(_handler(headers))
    assert e.value.status_code == 400


def test_the_provider_never_gets_the_relay_headers():
    incoming = HTTPHeaders({KERNEL_HEADER: "k1", NOTEBOOKS_HEADER: '["a.ipynb"]'})
    out = request_headers(incoming, "Authorization", "Bearer sk-x", "api.example")
    assert KERNEL_HEADER not in out and NOTEBOOKS_HEADER not in out
