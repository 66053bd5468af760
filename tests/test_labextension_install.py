"""The wheel carries the prebuilt panel: ``pip install`` alone gives a working JupyterLab panel.

No ``jupyter lab build``, no Node.js at install time: the wheel's data files put
the built extension in ``share/jupyter/labextensions/open-notebook-ext``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
import requests

from helpers import ServerProcess
from open_notebook_ext import __version__

ROOT = Path(__file__).resolve().parent.parent
LABEXT = "share/jupyter/labextensions/open-notebook-ext"


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


def test_wheel_ships_the_built_panel(wheel: Path):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        data = next(n.split("/")[0] for n in names if ".data/" in n)
        prefix = f"{data}/data/{LABEXT}/"
        package = json.loads(z.read(prefix + "package.json"))
        install = json.loads(z.read(prefix + "install.json"))
    assert package["name"] == "open-notebook-ext"
    # The panel's version follows the Python package's.
    assert package["version"] == __version__
    load = package["jupyterlab"]["_build"]["load"]
    assert re.fullmatch(r"static/remoteEntry\.[0-9a-f]+\.js", load)
    assert prefix + load in names
    assert prefix + "static/style.js" in names
    assert install["packageManager"] == "python"
    assert install["packageName"] == "open_notebook_ext"
    # Built output only: no sources, dependencies or source maps.
    assert not any(
        "node_modules" in n
        or n.endswith((".ts", ".tsx", ".map", "yarn.lock"))
        or n.startswith("labextension/")
        for n in names
    )


@pytest.mark.subprocess
def test_fresh_venv_serves_the_panel(wheel: Path, tmp_path: Path):
    env_dir = tmp_path / "fresh"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    # The wheel and JupyterLab (the ``lab`` extra): nothing is built here.
    subprocess.run([str(bin_dir / "pip"), "install", "--quiet", f"{wheel}[lab]"], check=True)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run(
        [str(bin_dir / "jupyter"), "labextension", "list"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    text = out.stdout + out.stderr
    line = next(ln for ln in text.splitlines() if "open-notebook-ext" in ln)
    assert f"open-notebook-ext v{__version__}" in line
    assert "enabled" in line and "disabled" not in line and "OK" in line
    assert "(python, open_notebook_ext)" in line
    assert (env_dir / LABEXT / "install.json").is_file()

    with ServerProcess(tmp_path / "home", app="lab", bin_dir=bin_dir) as lab:
        page = requests.get(
            f"{lab.url}lab", headers={"Authorization": f"token {lab.token}"}, timeout=30
        )
        assert page.status_code == 200
        match = re.search(
            r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
            page.text,
            re.S,
        )
        assert match, page.text[:500]
        config = json.loads(match.group(1))
        (ext,) = [e for e in config["federated_extensions"] if e["name"] == "open-notebook-ext"]
        assert "open-notebook-ext" not in config.get("disabledExtensions", [])
        entry = requests.get(f"{lab.url}lab/extensions/open-notebook-ext/{ext['load']}", timeout=30)
        assert entry.status_code == 200 and "open-notebook-ext" in entry.text
