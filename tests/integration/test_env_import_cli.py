"""``jupyter open-notebook import-env``: the environment and ``.env`` imports from the CLI
(the API side is tests/api/test_env_import.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from open_notebook_ext.vault.provider_env import PROVIDER_ENV
from support.leaks import bytes_contain, files_under, random_api_key
from support.servers import BIN, clean_env

OPENAI = random_api_key("sk-envopenai")
ANTHROPIC = random_api_key("sk-ant-env")


def _cli(home: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    e = clean_env(home)
    for name in {v for spec in PROVIDER_ENV.values() for v in spec.variables}:
        e.pop(name, None)
    e.update(env)
    return subprocess.run(
        [str(BIN / "jupyter-open-notebook"), *args],
        env=e,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.sqlite_only
def test_cli_lists_names_and_imports_the_chosen(tmp_path):
    home = tmp_path / "home"
    key = {"OPEN_NOTEBOOK_ENCRYPTION_KEY": "cli import passphrase"}
    assert _cli(home, "migrate", env=key).returncode == 0
    env = {**key, "OPENAI_API_KEY": OPENAI, "ANTHROPIC_API_KEY": ANTHROPIC}
    listed = _cli(home, "import-env", "--list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "openai: OPENAI_API_KEY (configured; 0 credential(s) stored)" in listed.stdout
    done = _cli(home, "import-env", "--provider=anthropic", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["migrated"] == ["anthropic"]
    again = _cli(home, "import-env", env=env)
    assert "imported: openai" in again.stdout
    assert "skipped (a credential exists): anthropic" in again.stdout
    bad = _cli(
        home, "import-env", env={**env, "MISTRAL_API_KEY": OPENAI, "MISTRAL_BASE_URL": f"x{OPENAI}"}
    )
    assert bad.returncode == 1 and "mistral.base_url" in bad.stderr

    dotenv_key = random_api_key("sk-ant-file")
    path = tmp_path / "project.env"
    path.write_text(f"GROQ_API_KEY={dotenv_key}\n")
    fromfile = _cli(home, "import-env", f"--dotenv={path}", "--remove-imported", env=key)
    assert fromfile.returncode == 0, fromfile.stderr
    assert "imported: groq" in fromfile.stdout and not path.exists()

    data = Path(clean_env(home)["JUPYTER_DATA_DIR"]) / "open_notebook"
    audit = (data / "audit.jsonl").read_text()
    assert audit.count('"source": "environment"') == 2 and '"source": "dotenv"' in audit
    for value in (OPENAI, ANTHROPIC, dotenv_key):
        for out in (listed, done, again, bad, fromfile):
            assert value not in out.stdout + out.stderr
        for f in files_under(data):
            assert not bytes_contain(f, value), f
