"""Render the repo's nginx configuration for a test: loopback ports, temp paths.

The same substitution the nginx image's envsubst does at start-up (only the
named variables), and the container paths of nginx.conf moved into a temp dir.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def render_template(values: dict[str, str]) -> str:
    """Substitute ${VAR} for the given variables only, as the nginx image's envsubst does."""
    text = (ROOT / "deploy/nginx/templates/open-notebook.conf.template").read_text()
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    assert not re.search(r"\$\{[A-Z_]+\}", text), "an unset template variable"
    return text


def render_main(tmp: Path) -> str:
    """The repo's nginx.conf with its container paths moved under ``tmp``."""
    text = (ROOT / "deploy/nginx/nginx.conf").read_text()
    text = re.sub(r"(?<![\w/])/tmp/", str(tmp) + "/", text)
    return text.replace("/dev/stdout", str(tmp / "access.log")).replace(
        "/dev/stderr", str(tmp / "error.log")
    )
