"""Providers and the OpenAPI description."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from tornado import web

from open_notebook_ext.http.base import OpenNotebookHandler
from open_notebook_ext.vault.probe import has_probe
from open_notebook_ext.vault.providers import PROVIDERS

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi.yaml"


@cache
def openapi_spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


@cache
def _openapi_json() -> str:
    return json.dumps(openapi_spec())


class ProvidersHandler(OpenNotebookHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.send_json(
            [
                {**spec.to_json(), "connection_test": has_probe(spec.name)}
                for spec in PROVIDERS.values()
            ]
        )


class OpenAPIHandler(OpenNotebookHandler):
    """The API description is public, like Open Notebook's ``/openapi.json``."""

    @allow_unauthenticated
    def get(self) -> None:
        self.set_header("Cache-Control", "no-cache")
        self.finish(_openapi_json())
