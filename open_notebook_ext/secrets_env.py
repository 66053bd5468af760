"""``secrets.env()``: a granted credential in the environment variables libraries read.

    >>> from open_notebook_ext import secrets
    >>> secrets.env("Work")                 # for the rest of the session
    >>> with secrets.env("Work", "Claude"): # only inside the block
    ...     client = OpenAI()               # reads OPENAI_API_KEY / OPENAI_BASE_URL

For each credential, every variable of its provider in ``provider_env.PROVIDER_ENV``
is set — the canonical name and the aliases libraries use (``GOOGLE_API_KEY`` and
``GEMINI_API_KEY``, ``OLLAMA_API_BASE`` and ``OLLAMA_HOST``, ...) — and the
provider's variables the credential leaves empty are *unset*, so a stray
``OPENAI_BASE_URL`` in the kernel cannot send the key to another host. With no
name, every credential this notebook was granted (all of ``provider``'s with
``provider=``). Everything is fetched before anything is set: an error leaves the
environment as it was.

A proxy-only credential (``key_access: "proxy"``, issue 18) is never fetched: when the
client has ``secrets.proxy``, the key variables get the kernel's token and the
base-URL variables the proxy's URL, so ``OpenAI()``, LangChain and LiteLLM go through
the server's proxy without the key entering the kernel.

Standard library only (it runs in kernels).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from open_notebook_ext.vault.provider_env import PROVIDER_ENV

# The fields that say where requests go: the proxy's URL replaces them.
_URL_FIELDS = ("base_url", "endpoint")
_KEY_FIELDS = ("api_key",)


class EnvSettings:
    """What one ``secrets.env()`` call changed; a context manager that puts it back.

    Its ``repr`` and attributes carry variable and credential names only.
    """

    def __init__(
        self,
        previous: dict[str, str | None],
        assigned: dict[str, bool],
        credentials: list[tuple[str, str]],
    ) -> None:
        self._previous = previous
        #: the variables given a value, and those unset, by name
        self.set = tuple(n for n, on in assigned.items() if on)
        self.unset = tuple(n for n, on in assigned.items() if not on)
        #: (name, provider) of the credentials used
        self.credentials = tuple(credentials)
        self.restored = False

    @property
    def variables(self) -> tuple[str, ...]:
        return self.set + self.unset

    def restore(self) -> None:
        """Give every variable this call touched its earlier value (or none)."""
        if self.restored:
            return
        for name, value in self._previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self.restored = True

    def __enter__(self) -> EnvSettings:
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()

    def __repr__(self) -> str:
        used = ", ".join(f"{n} ({p})" for n, p in self.credentials)
        return (
            f"<secrets.env for {used}: set {', '.join(self.set) or '-'}; "
            f"unset {', '.join(self.unset) or '-'}>"
        )


def _choose(
    mod: ModuleType, names: Iterable[str], provider: str | None, entries: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    names = list(names)
    wanted = provider.strip().lower() if provider else None
    if not names:
        chosen = [
            e for e in entries if e.get("granted") and (wanted is None or e["provider"] == wanted)
        ]
        if not chosen:
            raise mod.SecretNotFound(
                "no credential is granted to this notebook"
                + (f" for provider {wanted!r}" if wanted else "")
                + " (grant one in the Credentials panel)"
            )
        return chosen
    chosen = []
    for name in names:
        found = [
            e
            for e in entries
            if e["name"] == name.strip() and (wanted is None or e["provider"] == wanted)
        ]
        if not found:
            raise mod.SecretNotFound(f"Credential not found: {name!r}")
        if len(found) > 1:
            providers = ", ".join(sorted(e["provider"] for e in found))
            raise mod.SecretError(
                f"Several credentials are called {name!r} ({providers}); give provider="
            )
        chosen.append(found[0])
    return chosen


def _fields(mod: ModuleType, entry: dict[str, Any]) -> dict[str, str | None]:
    """The credential's fields to export: read from the server, or the proxy's."""
    spec = PROVIDER_ENV.get(entry["provider"])
    if spec is None:
        raise mod.SecretError(f"provider {entry['provider']!r} has no environment variables")
    if entry.get("key_access") == "proxy":
        proxy = getattr(mod, "proxy", None)
        if proxy is None:
            raise mod.SecretError(
                f"credential {entry['name']!r} is proxy-only and this client has no "
                "secrets.proxy(); update open_notebook_ext in the kernel"
            )
        url_fields = [f for f in _URL_FIELDS if f in spec.fields]
        if not url_fields:
            raise mod.SecretError(
                f"credential {entry['name']!r} is proxy-only and {entry['provider']} has no "
                "base-URL variable: use secrets.proxy() and pass base_url yourself"
            )
        p = proxy(entry["name"], provider=entry["provider"])
        # every other address field (Azure's endpoint_llm, ...) unset: the token goes
        # to the proxy only
        out: dict[str, str | None] = {
            f: None for f in spec.fields if f.startswith(("base_url", "endpoint"))
        }
        out.update({f: p.api_key for f in _KEY_FIELDS if f in spec.fields})
        out.update({f: p.base_url for f in url_fields})
        return out
    secret = mod._request(
        "POST",
        "secrets/get",
        {"name": entry["name"], "provider": entry["provider"], "require_key": False},
    )
    return {f: secret.get(f) for f in spec.fields}


def set_env(mod: ModuleType, names: Iterable[str], provider: str | None) -> EnvSettings:
    entries = mod.list()
    chosen = _choose(mod, names, provider, entries)
    assign: dict[str, str | None] = {}
    owner: dict[str, str] = {}
    for entry in chosen:
        fields = _fields(mod, entry)  # raises for a provider the table lacks
        spec = PROVIDER_ENV[entry["provider"]]
        for field_name, variables in spec.fields.items():
            if field_name not in fields:
                continue  # a proxy leaves the other fields (api_version) alone
            value = fields[field_name] or None
            for var in variables:
                if var in owner and owner[var] != entry["name"] and assign[var] != value:
                    raise mod.SecretError(
                        f"{owner[var]!r} and {entry['name']!r} both set {var}; "
                        "call secrets.env() with one of them"
                    )
                owner[var] = entry["name"]
                assign[var] = value
    previous = {var: os.environ.get(var) for var in assign}
    for var, value in assign.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value
    return EnvSettings(
        previous,
        {var: value is not None for var, value in assign.items()},
        [(e["name"], e["provider"]) for e in chosen],
    )
