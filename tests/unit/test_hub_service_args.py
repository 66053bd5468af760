"""The service's server command line (hub/service.py): what JupyterHub must give it, and
what it fixes so no configuration file can undo it."""

from __future__ import annotations

from pathlib import Path

import pytest

from open_notebook_ext.hub.service import (
    AUTHORIZER,
    IDENTITY_PROVIDER,
    ServiceSetupError,
    prepare_root,
    server_argv,
)

HUB_ENV = {
    "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:10101",
    "JUPYTERHUB_SERVICE_PREFIX": "/services/open-notebook/",
    "JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api",
    "JUPYTERHUB_API_TOKEN": "t" * 32,
    "JUPYTERHUB_SERVICE_NAME": "open-notebook",
}


def test_the_argv_listens_where_the_hub_says_and_fixes_identity_and_authorizer(tmp_path):
    argv = server_argv(HUB_ENV, tmp_path, allow_root=False)
    assert "--ServerApp.ip=127.0.0.1" in argv
    assert "--ServerApp.port=10101" in argv
    assert "--ServerApp.port_retries=0" in argv
    assert "--ServerApp.base_url=/services/open-notebook/" in argv
    assert f"--ServerApp.identity_provider_class={IDENTITY_PROVIDER}" in argv
    assert f"--ServerApp.authorizer_class={AUTHORIZER}" in argv
    assert "--ServerApp.terminals_enabled=False" in argv
    assert f"--ServerApp.root_dir={tmp_path}" in argv
    assert not any("allow_root" in a for a in argv)
    assert "--ServerApp.allow_root=True" in server_argv(HUB_ENV, tmp_path, allow_root=True)


@pytest.mark.parametrize("missing", sorted(HUB_ENV))
def test_without_the_hubs_environment_it_refuses(tmp_path, missing):
    env = {k: v for k, v in HUB_ENV.items() if k != missing}
    with pytest.raises(ServiceSetupError, match=missing):
        server_argv(env, tmp_path, allow_root=False)


@pytest.mark.parametrize(
    "url", ["127.0.0.1:10101", "http://127.0.0.1", "https://127.0.0.1:10101", "http://:10101"]
)
def test_a_service_url_it_cannot_listen_on_is_refused(tmp_path, url):
    with pytest.raises(ServiceSetupError, match="JUPYTERHUB_SERVICE_URL"):
        server_argv({**HUB_ENV, "JUPYTERHUB_SERVICE_URL": url}, tmp_path, allow_root=False)


def test_the_contents_root_is_private_and_empty(tmp_path):
    root = prepare_root(str(tmp_path / "data"))
    assert root == Path(tmp_path / "data" / "service-root")
    assert root.stat().st_mode & 0o777 == 0o700
    assert list(root.iterdir()) == []
