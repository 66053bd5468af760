"""Per-kernel tokens: how notebook code proves which kernel it runs in.

Every kernel the server starts gets, in its launch environment, the server's URL
(``OPEN_NOTEBOOK_URL``), its kernel id and a random token of its own
(``OPEN_NOTEBOOK_KERNEL_TOKEN``) that can do one thing: read the secrets its
notebook has been granted. Python kernels started through
``kernels/provisioner.py`` get the token over a socket instead, inside the kernel
process only (``kernel_launch.py``); gateway kernels: ``kernels/gateway.py``.
The token is revoked when the kernel shuts down, and the kernel never receives
the server's own token, the encryption key or a provider key variable of the
server's environment: the firewall of ``kernels/env.py`` removes them.

Why environment injection rather than signing requests with the kernel's
connection-file HMAC key: the HMAC key already lets its holder run code in the
kernel, so reusing it would make "read a secret" and "control the kernel" the
same capability, and every client would need ipykernel's connection file. A
separate, narrowly scoped token is trivial for the client, and is the pattern
JupyterHub uses for its API tokens.

Why the kernel manager's ``start_kernel`` is wrapped (``install``) and not only
jupyter_client's supported hooks used: a provisioner's ``pre_launch`` (ours filters
there too, ``kernels/provisioner.py``) runs only for kernelspecs that use it, and a
kernelspec may name its own (``metadata.kernel_provisioner``); the session manager's
``get_kernel_env`` misses kernels started with ``POST api/kernels``. The wrap covers
every kernel the server starts, whatever its provisioner or route
(``tests/integration/test_kernel_secrets.py``, the own-provisioner test, fails without it).

The server keeps only SHA-256 digests of the tokens, in memory: kernels do not
outlive the server process that started them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from open_notebook_ext.kernels.env import SERVER_SECRETS, EnvFirewall

URL_ENV = "OPEN_NOTEBOOK_URL"
TOKEN_ENV = "OPEN_NOTEBOOK_KERNEL_TOKEN"  # noqa: S105 - a variable name
KERNEL_ID_ENV = "OPEN_NOTEBOOK_KERNEL_ID"
TOKEN_PREFIX = "onk_"  # noqa: S105 - tells kernel tokens from Jupyter tokens
# The variables a kernel never gets: the server's secrets, every provider key
# variable, and OpenNotebookApp.kernel_env_strip (kernel_env.py).
DEFAULT_STRIPPED_ENV = SERVER_SECRETS


@dataclass(frozen=True)
class KernelGrant:
    kernel_id: str
    owner: str


class KernelTokens:
    """Issue, check and revoke per-kernel tokens (digests only are kept)."""

    def __init__(self) -> None:
        self._by_digest: dict[str, KernelGrant] = {}
        self._digest_of: dict[str, str] = {}
        self._lock = threading.Lock()
        # called with the kernel id after a kernel's token is revoked (it shut down)
        self.on_revoke: list[Callable[[str], None]] = []

    @staticmethod
    def _digest(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    def issue(self, kernel_id: str, owner: str) -> str:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        digest = self._digest(token)
        with self._lock:
            old = self._digest_of.pop(kernel_id, None)
            if old:
                self._by_digest.pop(old, None)
            self._by_digest[digest] = KernelGrant(kernel_id, owner)
            self._digest_of[kernel_id] = digest
        return token

    def check(self, token: str | None) -> KernelGrant | None:
        if not token:
            return None
        digest = self._digest(token)
        with self._lock:
            grant = self._by_digest.get(digest)
            # The dict lookup already matched; compare again in constant time anyway.
            expected = self._digest_of.get(grant.kernel_id) if grant else None
        if grant is None or expected is None or not hmac.compare_digest(digest, expected):
            return None
        return grant

    def rebind(self, old_id: str, new_id: str) -> bool:
        """Move a token issued under a provisional id to the kernel's real id (a gateway
        assigns it at start); False, and nothing moved, when ``new_id`` already has one."""
        with self._lock:
            if new_id in self._digest_of or old_id not in self._digest_of:
                return False
            digest = self._digest_of.pop(old_id)
            self._digest_of[new_id] = digest
            self._by_digest[digest] = KernelGrant(new_id, self._by_digest[digest].owner)
            return True

    def revoke(self, kernel_id: str) -> bool:
        with self._lock:
            digest = self._digest_of.pop(kernel_id, None)
            if digest is None:
                return False
            self._by_digest.pop(digest, None)
        for callback in self.on_revoke:
            callback(kernel_id)
        return True

    def __len__(self) -> int:
        return len(self._by_digest)


def kernel_env(
    base: dict[str, str] | None,
    *,
    url: str,
    kernel_id: str,
    token: str,
    strip: EnvFirewall,
) -> dict[str, str]:
    env = strip.filter(os.environ if base is None else base)
    env.update({URL_ENV: url, KERNEL_ID_ENV: kernel_id, TOKEN_ENV: token})
    return env


def install(
    kernel_manager: Any,
    tokens: KernelTokens,
    *,
    url: Callable[[], str],
    owner: Callable[[], str],
    strip: EnvFirewall,
    log: Any,
    before_first_start: Callable[[], Any] | None = None,
) -> None:
    """Wrap the server's kernel manager: tokens in on start, out on shutdown.

    Instance attributes shadow the class's methods, so the server's own
    (possibly configured) kernel manager class keeps working unchanged.
    ``before_first_start`` runs once, before the first kernel starts (work that
    start-up need not wait for: choosing the kernels' provisioner).
    """
    start, shutdown = kernel_manager.start_kernel, kernel_manager.shutdown_kernel
    update_env = getattr(kernel_manager, "update_env", None)
    first = [before_first_start]

    async def start_kernel(*args: Any, kernel_id: str | None = None, **kwargs: Any) -> str:
        prepare, first[0] = first[0], None
        if prepare is not None:
            prepare()
        if kernel_id is not None and kernel_id in kernel_manager:
            return await start(*args, kernel_id=kernel_id, **kwargs)
        kernel_id = kernel_id or str(uuid.uuid4())
        token = tokens.issue(kernel_id, owner())
        kwargs["env"] = kernel_env(
            kwargs.get("env"), url=url(), kernel_id=kernel_id, token=token, strip=strip
        )
        try:
            return await start(*args, kernel_id=kernel_id, **kwargs)
        except BaseException:
            tokens.revoke(kernel_id)
            raise

    async def shutdown_kernel(kernel_id: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return await shutdown(kernel_id, *args, **kwargs)
        finally:
            if not kwargs.get("restart") and tokens.revoke(kernel_id):
                log.debug("Revoked the Open Notebook token of kernel %s", kernel_id)

    def update_kernel_env(*, kernel_id: str, env: dict[str, str]) -> Any:
        # Jupyter merges the session's environment (os.environ included) into a
        # kernel's launch environment when the session is renamed; keep the
        # stripped variables out of what a restart would launch with.
        assert update_env is not None  # installed only where the manager has one
        return update_env(kernel_id=kernel_id, env=strip.filter(env))

    kernel_manager.start_kernel = start_kernel
    kernel_manager.shutdown_kernel = shutdown_kernel
    if update_env is not None:
        kernel_manager.update_env = update_kernel_env
