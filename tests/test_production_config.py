"""The production configuration and the identity provider fail closed on a bad secret.

Attack (issue 15, finding 1): `printf '\\n' > token; JUPYTER_TOKEN_FILE=token jupyter
server --config=jupyter-config/production/jupyter_server_config.py` used to log "All
authentication is disabled" and serve credential writes and code execution to anyone:
the newline was stripped to the empty token, which Jupyter reads as "no auth". A
missing file stopped the server with a FileNotFoundError traceback.

Each case here starts a real ``jupyter server`` subprocess and checks that it exits
non-zero with one clear line, no traceback, and never disables authentication; a
good token file still works.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helpers import AUTH_DISABLED, ServerProcess, refused

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = ROOT / "jupyter-config" / "production" / "jupyter_server_config.py"
PROVIDER = "open_notebook_ext.auth.ConstantTimeIdentityProvider"
GOOD_KEY = "production passphrase " + "k" * 20
# Root reads every file whatever its mode: drop the capabilities that let it.
NO_DAC = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]


class Server(ServerProcess):
    prefix: list[str] = []

    def command(self) -> list[str]:
        return [*self.prefix, *super().command()]


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def make(
        env: dict[str, str],
        args: list[str] | None = None,
        *,
        prefix: list[str] | None = None,
        token: str | None = None,
    ) -> Server:
        server = Server(tmp_path / f"home{len(started)}", env=env, args=args, token=token)
        server.prefix = prefix or []
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def production(tmp_path: Path, **env: str | None) -> dict[str, str]:
    """The environment of a production start: token and key files unless overridden."""
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir(exist_ok=True)
    token_file, key_file = secrets_dir / "jupyter_token", secrets_dir / "encryption_key"
    if not token_file.exists():
        token_file.write_text(secrets.token_hex(32) + "\n")
        key_file.write_text(GOOD_KEY + "\n")
    base = {
        "JUPYTER_TOKEN_FILE": str(token_file),
        "OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE": str(key_file),
    }
    base.update(env)
    return {k: v for k, v in base.items() if v is not None}


def secret_file(tmp_path: Path, case: str) -> tuple[str, str]:
    """A bad secret file for ``case``: (its path, the words the refusal must contain)."""
    path = tmp_path / f"bad-{case}"
    if case == "missing":
        return str(path), "which cannot be read: No such file or directory"
    if case == "directory":
        path.mkdir()
        return str(path), "which cannot be read: Is a directory"
    if case == "unreadable":
        path.write_text(secrets.token_hex(32) + "\n")
        path.chmod(0)
        return str(path), "which cannot be read: Permission denied"
    contents = {
        "empty": b"",
        "newline": b"\n",
        "whitespace": b" \t \r\n \n",
        "short": ("x" * 31 + "\n").encode(),
        "not-utf-8": b"\xff\xfe" * 20,
    }[case]
    path.write_bytes(contents)
    words = {
        "empty": "which is empty",
        "newline": "which holds only whitespace",
        "whitespace": "which holds only whitespace",
        "short": "which is shorter than 32 characters",
        "not-utf-8": "which is not UTF-8 text",
    }[case]
    return str(path), words


CASES = [
    "missing",
    "directory",
    "unreadable",
    "empty",
    "newline",
    "whitespace",
    "short",
    "not-utf-8",
]


def prefix_for(case: str) -> list[str]:
    return NO_DAC if case == "unreadable" and os.geteuid() == 0 else []


@pytest.mark.parametrize("case", CASES)
def test_production_refuses_a_bad_token_file(tmp_path, launch, case):
    path, words = secret_file(tmp_path, case)
    server = launch(
        production(tmp_path, JUPYTER_TOKEN_FILE=path),
        [f"--config={PRODUCTION}"],
        prefix=prefix_for(case),
    )
    log = refused(server)
    lines = [ln for ln in log.splitlines() if "refusing to start" in ln]
    assert len(lines) == 1, log
    assert f"production config: JUPYTER_TOKEN_FILE names {path!r}, {words}" in lines[0]


@pytest.mark.parametrize(
    "variable", ["OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE", "OPEN_NOTEBOOK_ENCRYPTION_KEYS_FILE"]
)
@pytest.mark.parametrize("case", CASES)
def test_production_refuses_a_bad_key_file(tmp_path, launch, variable, case):
    path, words = secret_file(tmp_path, case)
    server = launch(
        production(tmp_path, **{variable: path}),
        [f"--config={PRODUCTION}"],
        prefix=prefix_for(case),
    )
    log = refused(server)
    lines = [ln for ln in log.splitlines() if "refusing to start" in ln]
    assert len(lines) == 1, log
    if variable.endswith("KEYS_FILE") and case == "short":
        words = "is shorter than 32 characters"
        assert f"production config: a key in {variable} {words}" in lines[0], log
    else:
        assert f"production config: {variable} names {path!r}, {words}" in lines[0], log


def test_production_refuses_one_short_key_among_several(tmp_path, launch):
    keys = tmp_path / "keys"
    keys.write_text(f"{GOOD_KEY}\nshort-old-key\n")
    server = launch(
        production(tmp_path, OPEN_NOTEBOOK_ENCRYPTION_KEYS_FILE=str(keys)),
        [f"--config={PRODUCTION}"],
    )
    log = refused(server)
    assert "a key in OPEN_NOTEBOOK_ENCRYPTION_KEYS_FILE is shorter than 32 characters" in log, log


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"JUPYTER_TOKEN_FILE": None, "JUPYTER_TOKEN": ""}, "set JUPYTER_TOKEN_FILE"),
        (
            {"JUPYTER_TOKEN_FILE": None, "JUPYTER_TOKEN": "   "},
            "JUPYTER_TOKEN holds only whitespace",
        ),
        ({"JUPYTER_TOKEN": "short-env-token"}, "JUPYTER_TOKEN is shorter than 32 characters"),
        ({"OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE": None}, "set OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE"),
        (
            {"OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE": None, "OPEN_NOTEBOOK_ENCRYPTION_KEY": "short"},
            "OPEN_NOTEBOOK_ENCRYPTION_KEY is shorter than 32 characters",
        ),
    ],
)
def test_production_refuses_missing_or_weak_secrets_from_the_environment(
    tmp_path, launch, env, words
):
    log = refused(launch(production(tmp_path, **env), [f"--config={PRODUCTION}"]))
    assert f"production config: {words}" in log, log


def test_production_starts_with_a_good_token_file(tmp_path, launch):
    token = secrets.token_hex(32)
    env = production(tmp_path)
    Path(env["JUPYTER_TOKEN_FILE"]).write_text(token + "\n")
    server = launch(env, [f"--config={PRODUCTION}"], token=token).start()
    assert server.api("GET", "credentials/status").status == 200
    assert server.api("GET", "credentials/status", auth=False).status == 401
    assert server.request("GET", "api/contents", auth=False).status == 403
    assert server.request("GET", "api/contents").status == 200
    wrong = server.api(
        "GET", "credentials", auth=False, headers={"Authorization": "token " + "0" * 64}
    )
    assert wrong.status == 401
    assert AUTH_DISABLED not in server.log
    assert token not in server.log


# -- the identity provider on its own (any configuration that names it) -------------------


@pytest.mark.parametrize(
    "case", ["missing", "directory", "empty", "newline", "whitespace", "not-utf-8"]
)
def test_provider_never_turns_a_token_file_into_no_auth(tmp_path, launch, case):
    path, words = secret_file(tmp_path, case)
    server = launch(
        {"JUPYTER_TOKEN_FILE": path}, [f"--ServerApp.identity_provider_class={PROVIDER}"]
    )
    log = refused(server)
    lines = [ln for ln in log.splitlines() if "Refusing to start" in ln]
    assert len(lines) == 1, log
    assert f"JUPYTER_TOKEN_FILE names {path!r}, {words}" in lines[0], log


def test_provider_refuses_a_short_token_when_asked(tmp_path, launch):
    path, words = secret_file(tmp_path, "short")
    log = refused(
        launch(
            {"JUPYTER_TOKEN_FILE": path},
            [
                f"--ServerApp.identity_provider_class={PROVIDER}",
                "--ConstantTimeIdentityProvider.min_token_length=32",
            ],
        )
    )
    assert f"JUPYTER_TOKEN_FILE names {path!r}, {words}" in log, log


def test_provider_refuses_a_short_configured_token_when_asked(tmp_path, launch):
    config = tmp_path / "short_token_config.py"
    config.write_text("c.IdentityProvider.token = 'configured-but-short'\n")
    log = refused(
        launch(
            {"JUPYTER_TOKEN": ""},
            [
                f"--config={config}",
                f"--ServerApp.identity_provider_class={PROVIDER}",
                "--ConstantTimeIdentityProvider.min_token_length=32",
            ],
        )
    )
    assert "Refusing to start: the token is shorter than 32 characters" in log, log


def test_provider_reads_a_token_file_without_its_newline(tmp_path, launch):
    token = secrets.token_hex(16)
    (tmp_path / "token").write_text(token + "\n")
    server = launch(
        {"JUPYTER_TOKEN_FILE": str(tmp_path / "token")},
        [f"--ServerApp.identity_provider_class={PROVIDER}"],
        token=token,
    ).start()
    assert server.api("GET", "credentials/status").status == 200
    assert server.api("GET", "credentials/status", auth=False).status == 401
    assert AUTH_DISABLED not in server.log


def test_setpriv_really_takes_away_roots_file_access(tmp_path):
    """The "unreadable" cases run root without DAC override: prove that this denies."""
    if os.geteuid() != 0:
        pytest.skip("not root: a mode-000 file is unreadable anyway")
    path, _ = secret_file(tmp_path, "unreadable")
    out = subprocess.run([*NO_DAC, "cat", path], capture_output=True, text=True)
    assert out.returncode != 0 and "Permission denied" in out.stderr
