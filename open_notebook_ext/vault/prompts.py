"""Asking in the JupyterLab page when code reads a key it was not granted.

When ``secrets.get`` is denied for a notebook (or console) that has not been
granted the credential, and a logged-in JupyterLab page of the same owner is
connected, the request is held while the page shows *"analysis.ipynb wants to
read Work (OpenAI). Allow / Deny"*. Allow creates the grant (a normal
authenticated, XSRF-checked write from the page, ``vault/prompt_handlers.py``) and
the waiting call gets the key; Deny, closing the dialog, the page going away or
the timeout give the usual ``AccessDenied``.

What this module keeps, per owner, in memory (nothing of it is a secret):

* the pages connected now (their prompt websockets) -- a kernel of an owner with
  no page waits not at all: the call is denied at once, as before;
* the pending prompts, one per (owner, credential, notebook path): a second read
  of the same pair joins the first prompt instead of opening another dialog;
* recent denials, so code that retries in a loop is not asked again for
  ``timeout`` seconds.

Everything runs on the server's event loop (no locks); ``notify`` may be called
from any thread (it hands the message to the loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Outcomes of ask()
ALLOW, DENY, EXPIRED, NO_PAGE, CANCELLED, BUSY = (
    "allow",
    "deny",
    "expired",
    "no_page",
    "cancelled",
    "busy",
)
# A page that reloads reconnects within this many seconds; until then its owner
# still counts as having a page (and pending prompts wait for it).
PAGE_GRACE = 5.0
# Most prompts pending for one owner; more are denied at once.
MAX_PENDING = 20

Send = Callable[[dict[str, Any]], None]


@dataclass
class Prompt:
    id: str
    owner: str
    credential: dict[str, Any]  # id, name, provider
    notebook_path: str
    session_type: str
    kernel_id: str | None
    expires: float  # time.time()
    future: asyncio.Future[str]
    waiters: int = 0

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "credential_id": self.credential["id"],
            "credential_name": self.credential["name"],
            "provider": self.credential["provider"],
            "notebook_path": self.notebook_path,
            "session_type": self.session_type,
            "expires_in": max(0.0, round(self.expires - time.time(), 1)),
        }


@dataclass
class _Owner:
    pages: set[Send] = field(default_factory=set)
    last_page_left: float = -1e9  # time.monotonic()
    denied: dict[tuple[str, str], float] = field(default_factory=dict)  # -> monotonic


class GrantPrompts:
    """Pending grant prompts and the pages that answer them."""

    def __init__(
        self,
        timeout: float,
        on_outcome: Callable[[Prompt, str], None] | None = None,
        grace: float = PAGE_GRACE,
    ) -> None:
        self.timeout = timeout
        self.grace = grace
        self.on_outcome = on_outcome
        self._owners: dict[str, _Owner] = {}
        self._prompts: dict[str, Prompt] = {}
        self._by_key: dict[tuple[str, str, str], str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None  # the pages' loop

    @property
    def enabled(self) -> bool:
        return self.timeout > 0

    def _owner(self, owner: str) -> _Owner:
        return self._owners.setdefault(owner, _Owner())

    # -- pages ---------------------------------------------------------------------

    def page_present(self, owner: str) -> bool:
        state = self._owners.get(owner)
        if state is None:
            return False
        return bool(state.pages) or time.monotonic() - state.last_page_left < self.grace

    def connect(self, owner: str, send: Send) -> None:
        """A page is listening: it gets every pending prompt of its owner now, and each
        new one as it comes."""
        with contextlib.suppress(RuntimeError):  # pages connect on the server's loop
            self._loop = asyncio.get_running_loop()
        self._owner(owner).pages.add(send)
        send({"type": "snapshot", "prompts": self.pending(owner)})

    def disconnect(self, owner: str, send: Send) -> None:
        state = self._owner(owner)
        state.pages.discard(send)
        if state.pages:
            return
        state.last_page_left = time.monotonic()
        if any(p.owner == owner for p in self._prompts.values()):
            # no page to answer: the pending prompts end, unless a page comes back soon
            asyncio.get_running_loop().call_later(self.grace, self._orphaned, owner)

    def _orphaned(self, owner: str) -> None:
        if self.page_present(owner):
            return
        for prompt in [p for p in self._prompts.values() if p.owner == owner]:
            self._resolve(prompt, NO_PAGE)

    def _broadcast(self, owner: str, message: dict[str, Any]) -> None:
        for send in list(self._owner(owner).pages):
            send(message)

    def notify(self, owner: str, message: dict[str, Any]) -> None:
        """Send ``message`` to the owner's connected pages, from any thread (a contents
        hook may run off the loop). Names and counts only: never a key."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not loop:
                loop.call_soon_threadsafe(self._broadcast, owner, message)
                return
        self._broadcast(owner, message)

    # -- prompts -------------------------------------------------------------------

    def pending(self, owner: str) -> list[dict[str, Any]]:
        return [p.json() for p in self._prompts.values() if p.owner == owner]

    def recently_denied(self, owner: str, credential_id: str, path: str) -> bool:
        state = self._owners.get(owner)
        when = state.denied.get((credential_id, path)) if state else None
        return when is not None and time.monotonic() - when < self.timeout

    async def ask(
        self,
        owner: str,
        credential: dict[str, Any],
        path: str,
        *,
        session_type: str = "notebook",
        kernel_id: str | None = None,
        wait: float | None = None,
    ) -> str:
        """Hold the caller until a page allows or denies ``path`` reading ``credential``.

        Returns ALLOW, DENY, EXPIRED (nobody answered in time), NO_PAGE (no page
        connected: no wait at all; or the pages went away), CANCELLED (every caller
        went away) or BUSY (too many prompts pending). ``wait`` caps the wait (the
        client's ``Prefer: wait``). Cancel the awaiting task when the caller
        disconnects: the last caller gone ends the prompt.
        """
        if not self.enabled or not self.page_present(owner):
            return NO_PAGE
        if self.recently_denied(owner, credential["id"], path):
            return DENY
        key = (owner, credential["id"], path)
        prompt = self._prompts.get(self._by_key.get(key, ""))
        if prompt is None:
            if sum(p.owner == owner for p in self._prompts.values()) >= MAX_PENDING:
                return BUSY
            loop = asyncio.get_running_loop()
            prompt = Prompt(
                id="prompt_" + secrets.token_hex(12),
                owner=owner,
                credential=dict(credential),
                notebook_path=path,
                session_type=session_type,
                kernel_id=kernel_id,
                expires=time.time() + self.timeout,
                future=loop.create_future(),
            )
            self._prompts[prompt.id] = prompt
            self._by_key[key] = prompt.id
            loop.call_later(self.timeout, self._resolve, prompt, EXPIRED)
            if self.on_outcome is not None:
                self.on_outcome(prompt, "asked")
            self._broadcast(owner, {"type": "prompt", "prompt": prompt.json()})
        prompt.waiters += 1
        budget = prompt.expires - time.time()
        if wait is not None:
            budget = min(budget, wait)
        try:
            return await asyncio.wait_for(asyncio.shield(prompt.future), max(0.0, budget))
        except TimeoutError:
            return EXPIRED
        finally:
            prompt.waiters -= 1
            if prompt.waiters <= 0 and not prompt.future.done():
                # the last caller went away (interrupted, disconnected, its own wait ran
                # out): nobody is left to give the key to, so the dialog goes away
                self._resolve(prompt, CANCELLED)

    def get(self, owner: str, prompt_id: str) -> Prompt | None:
        prompt = self._prompts.get(prompt_id)
        return prompt if prompt is not None and prompt.owner == owner else None

    def decide(self, prompt: Prompt, decision: str) -> None:
        """The page's answer (ALLOW after the grant was written, or DENY)."""
        if decision == DENY:
            denied, now = self._owner(prompt.owner).denied, time.monotonic()
            for old in [k for k, t in denied.items() if now - t >= self.timeout]:
                del denied[old]
            denied[(prompt.credential["id"], prompt.notebook_path)] = now
        self._resolve(prompt, decision)

    def _resolve(self, prompt: Prompt, outcome: str) -> None:
        if prompt.future.done():
            return
        prompt.future.set_result(outcome)
        self._prompts.pop(prompt.id, None)
        key = (prompt.owner, prompt.credential["id"], prompt.notebook_path)
        if self._by_key.get(key) == prompt.id:
            del self._by_key[key]
        if self.on_outcome is not None:
            self.on_outcome(prompt, outcome)
        self._broadcast(prompt.owner, {"type": "closed", "id": prompt.id, "outcome": outcome})
