"""Client mode's output redaction: the user's readable keys come from the service.

A user's server in client mode holds no key, but its pre-save hook (``vault/redact.py``)
must still replace the user's keys in notebook outputs before they are saved. It asks
the service (``GET redaction/keys``, ``vault/redaction_handlers.py``) with the server's
hub token, sending the marker of the keys it has: while nothing changed the answer is
that marker alone, so a save costs one small request. Only the user's readable keys
(``key_access: read``) come back: a proxy-only key or a group's never reaches the
user's kernels, so it cannot be in an output, and stays at the service.

The keys are held in this server's memory, as a kernel that reads them does; the same
hub token can read each of them from the service anyway. When the service cannot be
reached, the keys last received are used (and the failure logged): a save is never
blocked, and the keys known so far are still redacted.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from urllib.parse import quote

log = logging.getLogger(__name__)
TIMEOUT = 5.0  # seconds: the hook runs as the notebook is saved


class ServiceKeys:
    """The two callables ``Redactor`` takes (``change_marker``, ``load_keys``), backed
    by the service's ``redaction/keys``."""

    def __init__(self, api_url: str, hub_token: str, timeout: float = TIMEOUT) -> None:
        self.url = api_url + "redaction/keys"
        self._token = hub_token
        self.timeout = timeout
        self._marker = ""
        self._keys: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.fetches = 0  # answers that carried keys

    def change_marker(self, owner: str) -> str:
        """The marker of the user's keys now (asks the service; on failure, the last)."""
        with self._lock:
            marker = self._marker
        url = self.url + (f"?marker={quote(marker)}" if marker else "")
        request = urllib.request.Request(  # noqa: S310 - the service's http(s) URL (checked)
            url, headers={"Authorization": f"token {self._token}", "Accept": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                body = json.loads(answer.read())
        except (OSError, ValueError) as e:  # URLError, HTTPError, timeouts, bad JSON
            status = getattr(e, "code", None)
            log.error(
                "Could not get the keys to redact from the Open Notebook service (%s); "
                "the keys known so far are redacted",
                f"HTTP {status}" if status else type(e).__name__,
            )
            return marker
        if not isinstance(body, dict) or not isinstance(body.get("marker"), str):
            log.error("The Open Notebook service answered redaction/keys without a marker")
            return marker
        if not body.get("unchanged"):
            keys = [
                (k["name"], k["key"])
                for k in body.get("keys") or []
                if isinstance(k, dict) and isinstance(k.get("key"), str)
            ]
            with self._lock:
                self._keys, self._marker = keys, body["marker"]
                self.fetches += 1
        return str(body["marker"])

    def load_keys(self, owner: str) -> list[tuple[str, str]]:
        """The keys of the marker last returned."""
        with self._lock:
            return list(self._keys)
