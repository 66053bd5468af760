"""Per provider: where the key goes, which API paths the proxy forwards, where the SDK's base is.

The proxy's URL for a credential, ``.../proxy/{credential_id}/``, stands for the
base URL the provider's SDK expects (``upstream_base``): the OpenAI SDK appends
``chat/completions`` to a versioned base (``https://api.openai.com/v1``), the
Anthropic SDK appends ``/v1/messages`` to the host root, google-genai appends
``/v1beta/models/...`` to the root, AzureOpenAI appends ``/openai/deployments/...``
to the endpoint. So a stored base that ends in the version the SDK adds itself
(Anthropic's ``/v1``, Google's ``/v1beta``) loses that suffix here.

Only the listed path prefixes are forwarded (a prefix matches itself and what
follows a ``/``): model calls, embeddings, model lists, speech and images. Paths
that manage the account (files, fine-tuning, batches, organisation and billing
endpoints) are not, so a proxy-only key cannot be used for more than calling models.

Pure data (no server imports).
"""

from __future__ import annotations

from dataclasses import dataclass

# Where the caller's token may be (each SDK sends its key in one of these); all are
# removed from the forwarded request whichever one held the token.
CALLER_KEY_HEADERS = ("Authorization", "X-Api-Key", "X-Goog-Api-Key", "Api-Key")
# Query parameters that carry a credential: never forwarded (the key goes in a header).
CALLER_KEY_PARAMS = frozenset({"key", "api-key", "api_key", "token", "access_token"})

_OPENAI_PATHS = (
    "chat/completions",
    "completions",
    "responses",
    "embeddings",
    "models",
    "moderations",
    "audio",
    "images",
)


@dataclass(frozen=True)
class ProxySpec:
    provider: str
    style: str  # openai | anthropic | google | azure: usage and model parsing
    key_header: str  # the header the real key is put in
    key_prefix: str = ""  # e.g. "Bearer "
    paths: tuple[str, ...] = _OPENAI_PATHS
    strip_suffixes: tuple[str, ...] = ()
    base_field: str = "base_url"  # the credential field holding the provider's address

    def allows(self, path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in self.paths)

    def upstream_base(self, configured: str) -> str:
        base = configured.rstrip("/")
        for suffix in self.strip_suffixes:
            if base.endswith(suffix):
                return base[: -len(suffix)]
        return base


def _openai(name: str) -> ProxySpec:
    return ProxySpec(name, "openai", "Authorization", "Bearer ")


_ANTHROPIC_PATHS = ("v1/messages", "v1/models", "v1/complete")
_GOOGLE_PATHS = tuple(f"{v}/models" for v in ("v1", "v1beta", "v1alpha"))

PROXY_SPECS: dict[str, ProxySpec] = {
    s.provider: s
    for s in (
        *(
            _openai(n)
            for n in (
                "openai",
                "groq",
                "mistral",
                "deepseek",
                "xai",
                "openrouter",
                "dashscope",
                "minimax",
                "novita",
                "ppq",
                "voyage",
                "openai_compatible",
                "omlx",
            )
        ),
        ProxySpec(
            "anthropic", "anthropic", "X-Api-Key", paths=_ANTHROPIC_PATHS, strip_suffixes=("/v1",)
        ),
        ProxySpec(
            "anthropic_compatible",
            "anthropic",
            "X-Api-Key",
            paths=_ANTHROPIC_PATHS,
            strip_suffixes=("/v1",),
        ),
        ProxySpec(
            "google",
            "google",
            "X-Goog-Api-Key",
            paths=_GOOGLE_PATHS,
            strip_suffixes=("/v1beta", "/v1alpha", "/v1"),
        ),
        ProxySpec(
            "azure",
            "azure",
            "Api-Key",
            base_field="endpoint",
            paths=("openai/deployments", "openai/models", "openai/v1"),
        ),
    )
}


def proxy_spec(provider: str) -> ProxySpec | None:
    return PROXY_SPECS.get(provider)
