"""``pip install`` of the wheel alone enables the extension, in a fresh virtualenv."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
        cwd=ROOT,
    )
    (built,) = out.glob("open_notebook_ext-*.whl")
    return built


def test_wheel_contents(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    data = next(n.split("/")[0] for n in names if ".data/" in n)
    assert f"{data}/data/etc/jupyter/jupyter_server_config.d/open_notebook_ext.json" in names
    assert "open_notebook_ext/openapi.yaml" in names
    assert "open_notebook_ext/migrations/env.py" in names
    assert any(n.startswith("open_notebook_ext/migrations/versions/0001") for n in names)
    assert not any("tests/" in n or n.endswith(".db") or n.endswith(".key") for n in names)


def test_fresh_venv_lists_the_extension_enabled(wheel: Path, tmp_path: Path):
    env_dir = tmp_path / "fresh"
    venv.create(env_dir, with_pip=True)
    pip = env_dir / "bin" / "pip"
    subprocess.run([str(pip), "install", "--quiet", str(wheel)], check=True)
    out = subprocess.run(
        [str(env_dir / "bin" / "jupyter"), "server", "extension", "list"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    text = out.stdout + out.stderr
    assert "open_notebook_ext" in text
    line = next(ln for ln in text.splitlines() if "open_notebook_ext" in ln and "enabled" in ln)
    assert "disabled" not in line
    assert "open_notebook_ext 0.1.0" in text and "OK" in text
