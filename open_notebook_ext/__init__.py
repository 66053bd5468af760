"""Open Notebook's encrypted credential store and notebook API as a Jupyter server extension."""

from __future__ import annotations

from open_notebook_ext._version import __version__


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    # Jupyter calls this while it imports extensions, before any of them is linked:
    # the first moment our code runs, and before traitlets logs the configuration
    # (with our key in it) at debug level.
    from open_notebook_ext.app import OpenNotebookApp
    from open_notebook_ext.security.logscrub import install_config_masking

    install_config_masking()

    return [{"module": "open_notebook_ext", "app": OpenNotebookApp}]


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext open_notebook_ext``: the ``%secrets`` magic (magics.py)."""
    from .magics import load_ipython_extension as load

    load(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "open-notebook-ext"}]


__all__ = ["__version__"]
