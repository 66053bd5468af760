"""The supported AI providers and the fields each one needs.

Pure data, mirroring Open Notebook's provider registry
(``open_notebook/ai/provider_registry.py``) in names, display names and default
modalities, so ``GET providers`` answers what its clients expect. On top of
that each provider says which credential fields it uses and which of them are
required; the store validates against this table and the panel renders its
form from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MODALITIES = ("language", "embedding", "speech_to_text", "text_to_speech")

# Every optional, non-secret credential field, in display order.
URL_FIELDS = (
    "base_url",
    "endpoint",
    "endpoint_llm",
    "endpoint_embedding",
    "endpoint_stt",
    "endpoint_tts",
)
TEXT_FIELDS = ("api_version", "project", "location", "credentials_path")
# The fields that decide which host a stored key is sent to (by the connection test
# and by notebook code using the credential). Changing one needs the key in the same
# request (vault/credentials.py). Vertex's project and location also name its host,
# but a Vertex credential holds no key (its service-account file stays on disk);
# schemas.py keeps them to names that cannot spell another host.
KEY_DESTINATION_FIELDS = URL_FIELDS

FIELD_LABELS = {
    "api_key": "API key",
    "base_url": "Base URL",
    "endpoint": "Endpoint",
    "api_version": "API version",
    "endpoint_llm": "Language model endpoint",
    "endpoint_embedding": "Embedding endpoint",
    "endpoint_stt": "Speech-to-text endpoint",
    "endpoint_tts": "Text-to-speech endpoint",
    "project": "Project ID",
    "location": "Location",
    "credentials_path": "Service account file",
    "num_ctx": "Context window",
}


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    display_name: str
    modalities: tuple[str, ...]
    required: tuple[str, ...] = ("api_key",)
    optional: tuple[str, ...] = ("base_url",)
    docs_url: str | None = None
    # Where the connection test asks for the model list when no base_url is set.
    default_base_url: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    # Values the panel's add form starts with (the user may change them), e.g. the
    # address a local Ollama listens on.
    prefill: dict[str, str] = field(default_factory=dict)

    @property
    def fields(self) -> tuple[str, ...]:
        return self.required + tuple(f for f in self.optional if f not in self.required)

    @property
    def requires_api_key(self) -> bool:
        return "api_key" in self.required

    @property
    def accepts_api_key(self) -> bool:
        return "api_key" in self.fields

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "modalities": list(self.modalities),
            "docs_url": self.docs_url,
            "env_configured": False,
            "requires_api_key": self.requires_api_key,
            "fields": [
                {
                    "name": f,
                    "label": FIELD_LABELS[f],
                    "required": f in self.required,
                    "secret": f == "api_key",
                    "type": "url" if f in URL_FIELDS else ("integer" if f == "num_ctx" else "text"),
                    **({"prefill": self.prefill[f]} if f in self.prefill else {}),
                }
                for f in self.fields
            ],
        }


_ALL = MODALITIES
_LANG = ("language",)

_SPECS: tuple[ProviderSpec, ...] = (
    ProviderSpec(
        "openai",
        "OpenAI",
        _ALL,
        docs_url="https://platform.openai.com/api-keys",
        default_base_url="https://api.openai.com/v1",
    ),
    ProviderSpec(
        "anthropic",
        "Anthropic",
        _LANG,
        docs_url="https://console.anthropic.com/settings/keys",
        default_base_url="https://api.anthropic.com/v1",
    ),
    ProviderSpec(
        "google",
        "Google AI",
        _ALL,
        docs_url="https://aistudio.google.com/app/apikey",
        default_base_url="https://generativelanguage.googleapis.com/v1beta",
    ),
    ProviderSpec(
        "groq",
        "Groq",
        ("language", "speech_to_text"),
        docs_url="https://console.groq.com/keys",
        default_base_url="https://api.groq.com/openai/v1",
    ),
    ProviderSpec(
        "mistral",
        "Mistral AI",
        _ALL,
        docs_url="https://console.mistral.ai/api-keys/",
        default_base_url="https://api.mistral.ai/v1",
    ),
    ProviderSpec(
        "deepseek",
        "DeepSeek",
        _LANG,
        docs_url="https://platform.deepseek.com/api_keys",
        default_base_url="https://api.deepseek.com",
    ),
    ProviderSpec(
        "xai",
        "xAI (Grok)",
        ("language", "text_to_speech"),
        docs_url="https://console.x.ai/",
        default_base_url="https://api.x.ai/v1",
    ),
    ProviderSpec(
        "openrouter",
        "OpenRouter",
        _ALL,
        docs_url="https://openrouter.ai/keys",
        default_base_url="https://openrouter.ai/api/v1",
    ),
    ProviderSpec(
        "dashscope",
        "DashScope (Qwen)",
        _LANG,
        default_base_url="https://dashscope.aliyuncs.com/compatible-mode/v1",
    ),
    ProviderSpec("minimax", "MiniMax", _LANG, default_base_url="https://api.minimax.io/v1"),
    ProviderSpec("novita", "Novita", _LANG, default_base_url="https://api.novita.ai/openai"),
    ProviderSpec("ppq", "PayPerQ", _ALL, default_base_url="https://api.ppq.ai/v1"),
    ProviderSpec(
        "cohere",
        "Cohere",
        ("language", "embedding"),
        docs_url="https://dashboard.cohere.com/api-keys",
        default_base_url="https://api.cohere.com/v1",
    ),
    ProviderSpec(
        "voyage",
        "Voyage AI",
        ("embedding",),
        docs_url="https://dash.voyageai.com/api-keys",
        default_base_url="https://api.voyageai.com/v1",
    ),
    ProviderSpec(
        "elevenlabs",
        "ElevenLabs",
        ("text_to_speech", "speech_to_text"),
        docs_url="https://elevenlabs.io/app/settings/api-keys",
        default_base_url="https://api.elevenlabs.io/v1",
    ),
    ProviderSpec(
        "deepgram",
        "Deepgram",
        ("text_to_speech", "speech_to_text"),
        docs_url="https://console.deepgram.com/",
        default_base_url="https://api.deepgram.com/v1",
    ),
    ProviderSpec(
        "ollama",
        "Ollama",
        ("language", "embedding"),
        required=("base_url",),
        optional=("num_ctx",),
        prefill={"base_url": "http://localhost:11434"},
    ),
    ProviderSpec(
        "omlx",
        "oMLX",
        ("language", "embedding"),
        required=(),
        optional=("base_url", "api_key"),
        default_base_url="http://localhost:11435/v1",
    ),
    ProviderSpec(
        "azure",
        "Azure OpenAI",
        _ALL,
        required=("api_key", "endpoint", "api_version"),
        optional=("endpoint_llm", "endpoint_embedding", "endpoint_stt", "endpoint_tts"),
    ),
    ProviderSpec(
        "vertex",
        "Google Vertex AI",
        ("language", "embedding", "text_to_speech"),
        required=("project", "location"),
        optional=("credentials_path",),
        docs_url="https://cloud.google.com/vertex-ai/docs/start/cloud-environment",
    ),
    ProviderSpec(
        "openai_compatible",
        "OpenAI Compatible",
        _ALL,
        required=("base_url",),
        optional=("api_key",),
    ),
    ProviderSpec(
        "anthropic_compatible",
        "Anthropic Compatible",
        _LANG,
        required=("base_url", "api_key"),
        optional=(),
    ),
)

PROVIDERS: dict[str, ProviderSpec] = {}
for _spec in _SPECS:
    if _spec.name in PROVIDERS:  # pragma: no cover - guards the table above
        raise ValueError(f"duplicate provider {_spec.name!r}")
    PROVIDERS[_spec.name] = _spec
