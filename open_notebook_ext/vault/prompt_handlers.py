"""Grant prompts: the page that answers them (``vault/prompts.py`` holds the state).

* ``GET grant-prompts/socket`` (WebSocket): a logged-in JupyterLab page listens
  here. While one is connected, a denied ``secrets.get`` of its owner is held and
  the page is sent the prompt; when it closes the prompts end. It only ever
  *receives* (names of notebooks and credentials, never a key); whatever the page
  sends is ignored. Same-origin pages only: a page of another origin is refused
  even when ``allowed_origins`` lists it, and so is one with no login.
* ``GET grant-prompts``: the pending prompts (what the socket's snapshot says).
* ``POST grant-prompts/{id}`` ``{"decision": "allow" | "deny"}``: the answer, a
  normal authenticated write (Jupyter's XSRF check applies to cookie requests),
  refused from any cross-origin page. Allow writes the grant first, then releases
  the waiting call; a kernel token is not accepted here (so code cannot approve
  its own request).
"""

from __future__ import annotations

import json
import re
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized, ws_authenticated
from tornado import web, websocket

from open_notebook_ext.http import compat
from open_notebook_ext.http.base import AUTH_RESOURCE, ApiError, OpenNotebookHandler
from open_notebook_ext.http.errors import field_error
from open_notebook_ext.vault.prompts import ALLOW, BUSY, CANCELLED, DENY, EXPIRED, NO_PAGE

PROMPT_NOT_FOUND = "No such prompt (it was answered, it expired, or the code stopped waiting)"
CROSS_ORIGIN = "Grant prompts are answered from a JupyterLab page of this server only"


@compat.untracked  # an open page is not activity (idle culling still works)
class GrantPromptSocket(OpenNotebookHandler, websocket.WebSocketHandler):
    """A JupyterLab page listening for grant prompts.

    An ``OpenNotebookHandler`` first (as Jupyter's kernel socket is a JupyterHandler
    first): the plain-HTTP answers before the upgrade — no login, another origin, not a
    WebSocket request, a method it does not have — are the API's JSON errors with its
    CORS headers, and its origin rule refuses a disallowed origin's writes.
    """

    _registered = False

    def same_origin(self) -> bool:
        """Same origin (or no browser at all) only; Jupyter's own rule would also let a
        token-authenticated cross-origin page in. (Checked in get(), before the upgrade:
        ``check_origin`` stays the API's, which prepare() also asks.)"""
        return self.origin_verdict() in ("same", "none")

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        if not await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "read", AUTH_RESOURCE)
        ):
            raise ApiError(403, f"User is not authorized to read on resource: {AUTH_RESOURCE}.")
        if self.request.headers.get("Upgrade", "").lower() != "websocket":
            raise ApiError(
                400,
                'Can "Upgrade" only to "WebSocket"',
                headers={"Connection": "Upgrade", "Upgrade": "websocket"},
            )
        if not self.same_origin():
            raise ApiError(403, CROSS_ORIGIN)
        self._owner = self.owner
        result = super().get(*args, **kwargs)
        if result is not None:
            await result

    def open(self, *args: Any, **kwargs: Any) -> None:
        self._registered = True
        self.services.grant_prompts.connect(self._owner, self.send)

    def send(self, message: dict[str, Any]) -> None:
        try:
            self.write_message(json.dumps(message))
        except websocket.WebSocketClosedError:
            self.on_close()

    def on_message(self, message: str | bytes) -> None:
        return None  # answers come as POSTs (authenticated, XSRF-checked writes)

    def on_close(self) -> None:
        if self._registered:
            self._registered = False
            self.services.grant_prompts.disconnect(self._owner, self.send)


class GrantPromptsHandler(OpenNotebookHandler):
    """``GET grant-prompts``: this user's pending prompts."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.send_json(self.services.grant_prompts.pending(self.owner))


class GrantPromptHandler(OpenNotebookHandler):
    """``POST grant-prompts/{id}``: allow or deny."""

    @web.authenticated
    @authorized
    async def post(self, prompt_id: str) -> None:
        if self.origin_verdict() not in ("same", "none"):
            raise ApiError(403, CROSS_ORIGIN)
        body = self.read_json()
        decision = body.get("decision") if isinstance(body, dict) else None
        if decision not in (ALLOW, DENY):
            raise field_error("decision", 'must be "allow" or "deny"')
        prompts = self.services.grant_prompts
        prompt = prompts.get(self.owner, prompt_id)
        if prompt is None:
            raise ApiError(404, PROMPT_NOT_FOUND)
        grant = None
        if decision == ALLOW:
            grant, created = await self.call(
                self.services.grants.grant,
                self.owner,
                {"credential_id": prompt.credential["id"], "notebook_path": prompt.notebook_path},
                **self.ext.grant_binding(prompt.session_type, prompt.kernel_id),
            )
            if created:
                self.audit(
                    "grant",
                    action="granted",
                    credential_id=grant["credential_id"],
                    credential_name=grant["credential_name"],
                    notebook_path=grant["notebook_path"],
                    via="prompt",
                )
        prompts.decide(prompt, decision)
        self.send_json({"id": prompt.id, "decision": decision, "grant": grant})


# -- asking from the secret routes ---------------------------------------------------

_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*(\d{1,6})\b", re.IGNORECASE)
REASONS = {
    DENY: "denied in the page",
    EXPIRED: "the prompt was not answered in time",
    NO_PAGE: "no page answered",
    BUSY: "too many prompts pending",
    CANCELLED: "the request went away",
}


def preferred_wait(headers: Any) -> float | None:
    """Seconds the client will wait for an answer (RFC 7240 ``Prefer: wait=N``), or None:
    a client that does not say so is answered at once, as before prompts existed."""
    for value in headers.get_list("Prefer"):
        match = _WAIT.search(value)
        if match:
            return float(match.group(1))
    return None


def prompt_path(reader: Any) -> str | None:
    """The session the prompt names: the kernel's notebook if it has one."""
    for path in reader.paths:
        if reader.sessions.get(path, "notebook") == "notebook":
            return path
    return reader.paths[0] if reader.paths else None


async def ask_the_page(
    handler: OpenNotebookHandler, reader: Any, credential: dict[str, Any]
) -> str:
    """ALLOW once a page granted it; otherwise why not (DENY, EXPIRED, NO_PAGE, ...)."""
    ext = handler.ext
    path = prompt_path(reader)
    wait = preferred_wait(handler.request.headers)
    if reader.kernel is None or path is None or wait is None or not ext.require_grants:
        return NO_PAGE
    session_type = reader.sessions.get(path, "notebook")
    outcome = await ext.grant_prompts.ask(
        reader.owner,
        credential,
        path,
        session_type=session_type,
        kernel_id=reader.kernel.kernel_id,
        wait=wait,
    )
    if outcome != NO_PAGE:
        applied = int(min(wait, ext.grant_prompts.timeout))
        handler.set_header("Preference-Applied", f"wait={applied}")
    return outcome


def prompt_reason(outcome: str) -> str:
    return REASONS.get(outcome, outcome)


def denial_message(reader: Any, credential: dict[str, Any], outcome: str, timeout: float) -> str:
    """The AccessDenied text: what was refused, why, and what to do for this kind of
    session (a notebook, a console, a kernel with no session)."""
    name = credential["name"]
    path = prompt_path(reader)
    kind = reader.sessions.get(path, "notebook") if path else None
    if kind is None:
        return (
            f"This kernel has no notebook or console session, so it cannot be granted "
            f"credential {name!r}. Read the key from a notebook or console, or use a "
            "Jupyter token (OPEN_NOTEBOOK_TOKEN)."
        )
    if kind == "console":
        where = "This console"
        todo = (
            "With the console in front, switch on \u201cAllow this console to read this "
            "key\u201d in the Credentials panel, or choose Allow when JupyterLab asks"
        )
    else:
        where = f"{'Notebook' if kind == 'notebook' else 'File'} {path!r}"
        todo = (
            "Grant it in the Credentials panel (Notebooks with access), or choose Allow "
            "when JupyterLab asks"
        )
    if outcome == DENY:
        why = f"{where} was denied credential {name!r} in the JupyterLab page."
    elif outcome == EXPIRED:
        why = (
            f"{where} has no access to credential {name!r}: nobody answered the prompt "
            f"in the JupyterLab page within {timeout:g} s."
        )
    else:
        why = f"{where} has no access to credential {name!r}."
    return f"{why} {todo}."
