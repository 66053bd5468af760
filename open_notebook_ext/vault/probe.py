"""Provider connection test: call the provider's cheapest authenticated endpoint.

Mostly "list models" with the key in the provider's own header, through the
SSRF guard (``netguard``: the base URL is checked, resolved once and pinned,
with time and size limits). The answer is Open Notebook's
``{provider, success, message}``; the message never contains the key or the
provider's response body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from open_notebook_ext.security import netguard
from open_notebook_ext.vault.providers import PROVIDERS

MAX_RESPONSE_BYTES = 2 * 1024 * 1024
_OPENAI_STYLE = {
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
    "cohere",
    "openai_compatible",
    "omlx",
}


@dataclass(frozen=True)
class Probe:
    url: str
    headers: dict[str, str]


_OTHER_PROBES = frozenset(
    {"anthropic", "anthropic_compatible", "google", "elevenlabs", "deepgram", "ollama", "azure"}
)


def has_probe(provider: str) -> bool:
    """Whether ``probe_for`` knows a request that tests this provider's credentials
    (``connection_test`` in ``GET providers``: the panel shows its button only then)."""
    return provider in _OPENAI_STYLE or provider in _OTHER_PROBES


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


def probe_for(secret: dict[str, Any]) -> Probe | str:
    """The request that proves a credential works, or why there is none."""
    provider = secret["provider"]
    spec = PROVIDERS.get(provider)
    key = secret.get("api_key") or ""
    base = secret.get("base_url") or (spec.default_base_url if spec else None)
    if provider in _OPENAI_STYLE:
        if not base:
            return "No base URL configured"
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return Probe(_join(base, "models"), headers)
    if provider in ("anthropic", "anthropic_compatible"):
        if not base:
            return "No base URL configured"
        return Probe(_join(base, "models"), {"x-api-key": key, "anthropic-version": "2023-06-01"})
    if provider == "google":
        return Probe(_join(base or "", "models"), {"x-goog-api-key": key})
    if provider == "elevenlabs":
        return Probe(_join(base or "", "models"), {"xi-api-key": key})
    if provider == "deepgram":
        return Probe(_join(base or "", "projects"), {"Authorization": f"Token {key}"})
    if provider == "ollama":
        return Probe(_join(secret.get("base_url") or "", "api/tags"), {})
    if provider == "azure":
        endpoint = secret.get("endpoint") or ""
        version = quote(secret.get("api_version") or "", safe="")
        return Probe(_join(endpoint, f"openai/models?api-version={version}"), {"api-key": key})
    return f"Connection test is not available for provider {provider}"


def _verdict(status: int) -> tuple[bool, str]:
    if 200 <= status < 300:
        return True, "Connection successful"
    if status in (401, 403):
        return False, f"The provider rejected the API key (HTTP {status})"
    if status == 404:
        return False, "The provider's endpoint was not found (HTTP 404): check the base URL"
    if status == 429:
        return False, "The provider is rate limiting this key (HTTP 429); try again later"
    return False, f"The provider answered HTTP {status}"


Fetch = Callable[..., Awaitable[Any]]


async def probe_connection(
    secret: dict[str, Any],
    *,
    allow_private: bool,
    timeout: float,
    fetch: Fetch = netguard.fetch,
) -> dict[str, Any]:
    provider = secret["provider"]
    probe = probe_for(secret)
    if isinstance(probe, str):
        return {"provider": provider, "success": False, "message": probe}
    try:
        result = await fetch(
            probe.url,
            allow_private=allow_private,
            timeout=timeout,
            max_bytes=MAX_RESPONSE_BYTES,
            max_redirects=0,
            headers={"Accept": "application/json", **probe.headers},
        )
    except netguard.URLRefused as e:
        return {"provider": provider, "success": False, "message": f"URL refused: {e}"}
    except netguard.FetchError as e:
        # redirects are not followed (max_redirects=0): the key stays with the host it is for
        return {"provider": provider, "success": False, "message": f"Could not connect: {e}"}
    success, message = _verdict(result.status)
    return {"provider": provider, "success": success, "message": message}
