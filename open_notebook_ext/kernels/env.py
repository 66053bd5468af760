"""The kernel environment firewall: which of the server's variables a kernel never gets.

A kernel's environment starts as a copy of the server's (jupyter_server builds
``{**os.environ, "JPY_SESSION_NAME": path}``), and jupyter-ai and ``.env``
loaders put provider keys into the server's environment. Three sets of names
are removed from every kernel's launch environment, at start, on restart and
when a session rename merges the server's environment back in:

* the server's own secrets and the ``*_FILE`` variables that say where one is
  stored (:data:`SERVER_SECRETS`);
* every variable that carries a provider's key, from the one provider
  environment table (:func:`provider_env.secret_variables`): OPENAI_API_KEY,
  ANTHROPIC_API_KEY, GOOGLE_API_KEY, GEMINI_API_KEY, AZURE_OPENAI_API_KEY, …;
* what ``OpenNotebookApp.kernel_env_strip`` adds: names, or shell-style
  patterns (``*_API_KEY``, ``HF_*``), matched case-sensitively.

The first two cannot be configured away. A notebook that needs a key reads it
with ``secrets.get`` (grants apply) instead.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping

from open_notebook_ext.vault.provider_env import secret_variables

# Never handed to kernels: credentials that would let notebook code act as the
# server, and the *_FILE variables that say where such a credential is stored
# (the token would be one open() away). Every *_FILE variable the server reads
# must be listed here (tests/integration/test_kernel_secrets.py checks the source for them).
SERVER_SECRETS: tuple[str, ...] = (
    "JUPYTER_TOKEN",
    "JUPYTER_TOKEN_FILE",
    "JUPYTER_PASSWORD",
    "OPEN_NOTEBOOK_TOKEN",
    "OPEN_NOTEBOOK_ENCRYPTION_KEY",
    "OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE",
    "OPEN_NOTEBOOK_ENCRYPTION_KEYS",
    "OPEN_NOTEBOOK_ENCRYPTION_KEYS_FILE",
    "OPEN_NOTEBOOK_DB_URL",
    "OPEN_NOTEBOOK_DB_URL_FILE",
    "PGPASSWORD",  # libpq's password for the database, when it is not in the URL
    "PGPASSFILE",  # libpq's password file
    "OPEN_NOTEBOOK_GATEWAY_TOKEN_FILE",  # the Kernel Gateway's token (kernels_gateway.py)
    "JUPYTER_GATEWAY_AUTH_TOKEN",
    "JUPYTER_GATEWAY_HTTP_PWD",
)

_PATTERN_CHARS = frozenset("*?[")


class EnvFirewall:
    """Decides which variables a kernel's environment loses.

    ``name in firewall`` is true for a blocked name; :meth:`filter` returns an
    environment without them.
    """

    def __init__(self, extra: Iterable[str] = ()) -> None:
        names: set[str] = {*SERVER_SECRETS, *secret_variables()}
        patterns: list[str] = []
        for entry in extra:
            entry = entry.strip()
            if not entry:
                continue
            if _PATTERN_CHARS & set(entry):
                patterns.append(entry)
            else:
                names.add(entry)
        self.names: frozenset[str] = frozenset(names)
        self.patterns: tuple[str, ...] = tuple(patterns)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return name in self.names or any(fnmatch.fnmatchcase(name, p) for p in self.patterns)

    def filter(self, env: Mapping[str, str]) -> dict[str, str]:
        return {k: v for k, v in env.items() if k not in self}

    def blocked(self, env: Mapping[str, str]) -> list[str]:
        """The names of ``env`` a kernel would not get (for a start-up log line)."""
        return sorted(k for k in env if k in self)
