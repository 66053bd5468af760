"""The vault's request models: credentials and grants, checked before anything is written.

Error messages name the field and say what is wrong; they never repeat the
value that was sent (it might be a key pasted into the wrong box).
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, field_validator

from open_notebook_ext.validation import normalise_path, parse, text, validation_errors
from open_notebook_ext.vault.providers import MODALITIES, PROVIDERS, TEXT_FIELDS, URL_FIELDS

# Vertex AI builds its host from the location ("<location>-aiplatform.googleapis.com")
# and its paths from the project: letters, digits and hyphens (a project may also be
# "domain.com:name") keep either from naming another host or path.
_LOCATION = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
_PROJECT = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:_-]*")
MAX_NAME = 200
MAX_KEY = 8192
MAX_URL = 2048
MAX_TEXT = 200


def _url(value: str | None) -> str | None:
    value = text(value, max_len=MAX_URL, blank_ok=True)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


class _CredentialFields(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: StrictStr | None = None
    modalities: list[StrictStr] | None = None
    api_key: StrictStr | None = None
    base_url: StrictStr | None = None
    endpoint: StrictStr | None = None
    api_version: StrictStr | None = None
    endpoint_llm: StrictStr | None = None
    endpoint_embedding: StrictStr | None = None
    endpoint_stt: StrictStr | None = None
    endpoint_tts: StrictStr | None = None
    project: StrictStr | None = None
    location: StrictStr | None = None
    credentials_path: StrictStr | None = None
    num_ctx: StrictInt | None = None
    # who may use the key: "read" (secrets.get and the proxy) or "proxy" (the proxy only)
    key_access: Literal["read", "proxy"] | None = None

    @field_validator("key_access")
    @classmethod
    def _key_access(cls, v: str | None) -> str | None:
        if v is None:
            raise ValueError("must be 'read' or 'proxy'")
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is None:
            raise ValueError("must not be blank")
        return text(v, max_len=MAX_NAME, blank_ok=False)

    @field_validator("api_key")
    @classmethod
    def _api_key(cls, v: str | None) -> str | None:
        return text(v, max_len=MAX_KEY, blank_ok=False)

    @field_validator(*URL_FIELDS)
    @classmethod
    def _urls(cls, v: str | None) -> str | None:
        return _url(v)

    @field_validator(*(f for f in TEXT_FIELDS if f != "credentials_path"))
    @classmethod
    def _texts(cls, v: str | None) -> str | None:
        return text(v, max_len=MAX_TEXT, blank_ok=True)

    @field_validator("location")
    @classmethod
    def _location(cls, v: str | None) -> str | None:
        if v is not None and not _LOCATION.fullmatch(v):
            raise ValueError("must be a region name (letters, digits and hyphens)")
        return v

    @field_validator("project")
    @classmethod
    def _project(cls, v: str | None) -> str | None:
        if v is not None and not _PROJECT.fullmatch(v):
            raise ValueError("must be a project ID (letters, digits, '-', '_', '.', ':')")
        return v

    @field_validator("credentials_path")
    @classmethod
    def _path(cls, v: str | None) -> str | None:
        return text(v, max_len=MAX_URL, blank_ok=True)

    @field_validator("modalities")
    @classmethod
    def _modalities(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        bad = [m for m in v if m not in MODALITIES]
        if bad:
            raise ValueError(f"each must be one of: {', '.join(MODALITIES)}")
        return list(dict.fromkeys(v))

    @field_validator("num_ctx")
    @classmethod
    def _num_ctx(cls, v: int | None) -> int | None:
        if v is None or v == 0:
            return None
        if not 1 <= v <= 10_000_000:
            raise ValueError("must be between 1 and 10000000")
        return v


class CredentialCreate(_CredentialFields):
    name: StrictStr
    provider: StrictStr

    @field_validator("provider")
    @classmethod
    def _provider(cls, v: str) -> str:
        name = v.strip().lower()
        if name not in PROVIDERS:
            raise ValueError(
                f"is not a supported provider; valid providers: {', '.join(PROVIDERS)}"
            )
        return name


class CredentialUpdate(_CredentialFields):
    """Every field optional; a field left out is unchanged, ``null`` clears it."""


class GrantRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    credential_id: StrictStr
    notebook_path: StrictStr

    @field_validator("credential_id")
    @classmethod
    def _cid(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()

    @field_validator("notebook_path")
    @classmethod
    def _path(cls, v: str) -> str:
        return normalise_path(v)


__all__ = ["CredentialCreate", "CredentialUpdate", "GrantRequest", "parse", "validation_errors"]
