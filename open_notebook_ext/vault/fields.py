"""A credential's fields checked against its provider's entry in the field table
(``providers.PROVIDERS``): what is required, what the provider does not use, and which
changes would send a stored key somewhere else (so they need the key again)."""

from __future__ import annotations

from typing import Any

from open_notebook_ext.db.orm import Credential
from open_notebook_ext.errors import InvalidInput
from open_notebook_ext.vault.providers import KEY_DESTINATION_FIELDS, ProviderSpec

# The provider-specific columns of a credential (besides name, provider, modalities, key).
OPTIONAL_COLUMNS = (
    "base_url",
    "endpoint",
    "api_version",
    "endpoint_llm",
    "endpoint_embedding",
    "endpoint_stt",
    "endpoint_tts",
    "project",
    "location",
    "credentials_path",
    "num_ctx",
)


def missing_required(spec: ProviderSpec, values: dict[str, Any], has_key: bool) -> list[dict]:
    errors = []
    for name in spec.required:
        present = has_key if name == "api_key" else values.get(name) not in (None, "")
        if not present:
            errors.append({"field": name, "message": f"is required for provider {spec.name}"})
    return errors


def unused_fields(spec: ProviderSpec, sent: dict[str, Any]) -> list[dict]:
    allowed = set(spec.fields)
    return [
        {"field": f, "message": f"is not used by provider {spec.name}"}
        for f, v in sent.items()
        if f in (*OPTIONAL_COLUMNS, "api_key") and v is not None and f not in allowed
    ]


def destination_changes(sent: dict[str, Any], row: Credential) -> list[str]:
    """The fields in ``sent`` that would change where the stored key is sent.

    Setting the value stored already is no change; clearing one is (the key
    would go to the provider's default host)."""
    return [f for f in KEY_DESTINATION_FIELDS if f in sent and sent[f] != getattr(row, f)]


KEY_ACCESS_BACK_TO_READ = (
    "is required to turn key_access from proxy back to read: a proxy-only key is never "
    "handed out, so only someone who has the key may make it readable again"
)


def key_needed_for(changed: list[str]) -> InvalidInput:
    return InvalidInput(
        [
            {
                "field": "api_key",
                "message": f"is required when {', '.join(changed)} changes: the stored key is only "
                "sent to the address it was saved with, so enter the key again",
            }
        ]
    )
