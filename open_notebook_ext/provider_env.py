"""The environment variables each provider's key and settings travel in: one table.

Three users read it, so they cannot disagree:

* the kernel environment firewall strips every secret variable of the table
  (:func:`secret_variables`) from every kernel's environment;
* ``GET credentials/env-status`` and ``POST credentials/migrate-from-env``
  (Open Notebook's routes) say which providers the server's environment
  configures and import them (:attr:`ProviderEnv.required`,
  :attr:`ProviderEnv.required_any`, :meth:`ProviderEnv.read`), with Open
  Notebook's variable names (``open_notebook/ai/provider_registry.py``);
* ``secrets.env()`` in a kernel sets, for a granted credential, every name the
  SDKs and libraries read (:attr:`ProviderEnv.fields`: the first name of a field
  is the canonical one, the others are aliases libraries use).

Pure data and standard library only: the kernel client imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProviderEnv:
    """Where one provider's credential fields live in an environment."""

    provider: str
    # credential field -> variable names (canonical first, then aliases)
    fields: Mapping[str, tuple[str, ...]]
    # Open Notebook's test for "configured by the environment": all of `required`
    # set, or (when `required_any` is given) any of it.
    required: tuple[str, ...] = ()
    required_any: tuple[str, ...] = ()
    # Fields whose value is a secret (or names where a secret file is).
    secret_fields: tuple[str, ...] = ("api_key",)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def variables(self) -> tuple[str, ...]:
        """Every variable name of this provider, in table order, no repeats."""
        seen: dict[str, None] = {}
        for names in self.fields.values():
            for name in names:
                seen.setdefault(name, None)
        for name in (*self.required, *self.required_any):
            seen.setdefault(name, None)
        return tuple(seen)

    @property
    def secret_variables(self) -> tuple[str, ...]:
        return tuple(name for f in self.secret_fields for name in self.fields.get(f, ()))

    def configured(self, environ: Mapping[str, str]) -> bool:
        """Open Notebook's ``check_env_configured``: non-blank values only."""
        if self.required_any:
            return any(environ.get(v, "").strip() for v in self.required_any)
        if self.required:
            return all(environ.get(v, "").strip() for v in self.required)
        return False

    def read(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The credential fields this environment gives (first non-blank name wins)."""
        out: dict[str, str] = {}
        for f, names in self.fields.items():
            for name in names:
                value = environ.get(name, "").strip()
                if value:
                    out[f] = value
                    break
        return out


def _key(*names: str) -> dict[str, tuple[str, ...]]:
    return {"api_key": names}


_TABLE: tuple[ProviderEnv, ...] = (
    ProviderEnv(
        "openai",
        {"api_key": ("OPENAI_API_KEY",), "base_url": ("OPENAI_BASE_URL", "OPENAI_API_BASE")},
        required=("OPENAI_API_KEY",),
    ),
    ProviderEnv(
        "anthropic",
        {"api_key": ("ANTHROPIC_API_KEY",), "base_url": ("ANTHROPIC_BASE_URL",)},
        required=("ANTHROPIC_API_KEY",),
    ),
    ProviderEnv(
        "google",
        _key("GOOGLE_API_KEY", "GEMINI_API_KEY"),
        required_any=("GOOGLE_API_KEY", "GEMINI_API_KEY"),
    ),
    ProviderEnv("groq", _key("GROQ_API_KEY"), required=("GROQ_API_KEY",)),
    ProviderEnv(
        "mistral",
        {"api_key": ("MISTRAL_API_KEY",), "base_url": ("MISTRAL_BASE_URL",)},
        required=("MISTRAL_API_KEY",),
    ),
    ProviderEnv("deepseek", _key("DEEPSEEK_API_KEY"), required=("DEEPSEEK_API_KEY",)),
    ProviderEnv("xai", _key("XAI_API_KEY"), required=("XAI_API_KEY",)),
    ProviderEnv("openrouter", _key("OPENROUTER_API_KEY"), required=("OPENROUTER_API_KEY",)),
    ProviderEnv("dashscope", _key("DASHSCOPE_API_KEY"), required=("DASHSCOPE_API_KEY",)),
    ProviderEnv("minimax", _key("MINIMAX_API_KEY"), required=("MINIMAX_API_KEY",)),
    ProviderEnv("novita", _key("NOVITA_API_KEY"), required=("NOVITA_API_KEY",)),
    ProviderEnv("ppq", _key("PPQ_API_KEY"), required=("PPQ_API_KEY",)),
    ProviderEnv("cohere", _key("COHERE_API_KEY", "CO_API_KEY"), required=("COHERE_API_KEY",)),
    ProviderEnv("voyage", _key("VOYAGE_API_KEY"), required=("VOYAGE_API_KEY",)),
    ProviderEnv("elevenlabs", _key("ELEVENLABS_API_KEY"), required=("ELEVENLABS_API_KEY",)),
    ProviderEnv("deepgram", _key("DEEPGRAM_API_KEY"), required=("DEEPGRAM_API_KEY",)),
    ProviderEnv(
        "ollama",
        {"base_url": ("OLLAMA_API_BASE", "OLLAMA_HOST")},
        required=("OLLAMA_API_BASE",),
        secret_fields=(),
    ),
    ProviderEnv(
        "omlx",
        {"api_key": ("OMLX_API_KEY",), "base_url": ("OMLX_API_BASE",)},
        required=("OMLX_API_BASE",),
    ),
    ProviderEnv(
        "azure",
        {
            "api_key": ("AZURE_OPENAI_API_KEY",),
            "endpoint": ("AZURE_OPENAI_ENDPOINT",),
            "api_version": ("AZURE_OPENAI_API_VERSION", "OPENAI_API_VERSION"),
            "endpoint_llm": ("AZURE_OPENAI_ENDPOINT_LLM",),
            "endpoint_embedding": ("AZURE_OPENAI_ENDPOINT_EMBEDDING",),
            "endpoint_stt": ("AZURE_OPENAI_ENDPOINT_STT",),
            "endpoint_tts": ("AZURE_OPENAI_ENDPOINT_TTS",),
        },
        required=("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_VERSION"),
    ),
    ProviderEnv(
        "vertex",
        {
            "project": ("VERTEX_PROJECT",),
            "location": ("VERTEX_LOCATION",),
            "credentials_path": ("GOOGLE_APPLICATION_CREDENTIALS",),
        },
        required=("VERTEX_PROJECT", "VERTEX_LOCATION"),
        # where the service-account key file is: hidden from kernels like the *_FILE names
        secret_fields=("credentials_path",),
    ),
    ProviderEnv(
        "openai_compatible",
        {
            "api_key": ("OPENAI_COMPATIBLE_API_KEY",),
            "base_url": ("OPENAI_COMPATIBLE_BASE_URL",),
        },
        required_any=("OPENAI_COMPATIBLE_BASE_URL", "OPENAI_COMPATIBLE_API_KEY"),
    ),
    ProviderEnv(
        "anthropic_compatible",
        {
            "api_key": ("ANTHROPIC_COMPATIBLE_API_KEY",),
            "base_url": ("ANTHROPIC_COMPATIBLE_BASE_URL",),
        },
        required=("ANTHROPIC_COMPATIBLE_BASE_URL", "ANTHROPIC_COMPATIBLE_API_KEY"),
    ),
)

PROVIDER_ENV: dict[str, ProviderEnv] = {spec.provider: spec for spec in _TABLE}


def secret_variables() -> tuple[str, ...]:
    """Every variable of the table that carries a key (or names a key file)."""
    seen: dict[str, None] = {}
    for spec in _TABLE:
        for name in spec.secret_variables:
            seen.setdefault(name, None)
    return tuple(seen)
