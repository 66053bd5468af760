"""What the server extension sets up for this package at start-up (``OpenNotebookApp``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from open_notebook_ext.vault.provider_env import PROVIDER_ENV

ENVIRON_SETTING = "open_notebook_import_environ"


def provider_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """The provider variables of ``environ`` (PROVIDER_ENV's names only)."""
    names = {v for spec in PROVIDER_ENV.values() for v in spec.variables}
    return {k: v for k, v in environ.items() if k in names}


def setup(ext: Any) -> None:
    """Keep the provider variables the server started with, for ``env-status`` and the
    imports: later changes to ``os.environ`` (jupyter-ai loading a ``.env``, the keys this
    package sets for jupyter-ai) are not "the server's environment"."""
    ext.settings[ENVIRON_SETTING] = provider_variables(os.environ)
    from open_notebook_ext.ecosystem.jupyter_ai_bridge import install

    install(ext)  # before kernels are set up: it extends kernel_env_strip
