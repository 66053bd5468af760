"""Notebook files for the browser and kernel tests: Python notebooks of given cells."""

from __future__ import annotations

import json
from pathlib import Path

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def notebook_json(*sources: str) -> str:
    """An nbformat 4.5 Python notebook whose code cells hold ``sources`` (not run)."""
    cells = [
        {
            "id": f"cell-{i}",  # nbformat 4.5 wants one
            "cell_type": "code",
            "source": source,
            "metadata": {},
            "outputs": [],
            "execution_count": None,
        }
        for i, source in enumerate(sources)
    ]
    return json.dumps(
        {
            "cells": cells,
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {"kernelspec": dict(KERNELSPEC)},
        }
    )


def write_notebook(root: Path, path: str, *sources: str) -> str:
    """Write the notebook of ``sources`` at ``path`` under ``root``; returns ``path``."""
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(notebook_json(*sources), encoding="utf-8")
    return path


def reading_cell(name: str) -> str:
    """A cell that reads the key of credential ``name`` and prints GOT <length> or DENIED."""
    return (
        "from open_notebook_ext import secrets\n"
        f"try:\n    print('GOT', len(secrets.get({name!r})))\n"
        "except secrets.AccessDenied as e:\n    print('DENIED', e)\n"
    )
