"""The service's side of a kernel's request relayed by a user's server in client mode.

A user's server in client mode (``hub/forward.py``) checks a kernel's token itself and
sends the kernel's ``secrets.get`` or proxy call on to the service with the server's hub
token, naming the kernel (:data:`KERNEL_HEADER`) and the notebooks of its sessions
(:data:`NOTEBOOKS_HEADER`, a JSON list of paths). The service (``hub/identity.py``: its
identity provider sets ``notebooks_elsewhere``) then reads the key as for that kernel:
only a notebook granted the credential gets it.

Why the service believes the names: they come with a hub token of the user, and can only
*narrow* what that token may read. The same token without these headers reads any of
the user's keys (a token holder, as with a Jupyter token on a single-user server), so a
user who forges them gains nothing. Grants protect a user from their own notebooks'
code, which holds a kernel token and never the server's hub token; they were never a
boundary against the user (SECURITY.md, docs/operators/jupyterhub-service.md).
"""

from __future__ import annotations

import json
from typing import Any

from open_notebook_ext.http.errors import ApiError

NOTEBOOKS_HEADER = "X-Open-Notebook-Notebooks"
KERNEL_HEADER = "X-Open-Notebook-Kernel"
MAX_PATHS = 100
MAX_LENGTH = 4096


def relayed_kernel(handler: Any) -> tuple[str, list[str]] | None:
    """(kernel id, notebook paths) that a client-mode server named for this request, or
    None when it named none or this server is not the hub-managed service."""
    if not getattr(handler.identity_provider, "notebooks_elsewhere", False):
        return None
    kernel = handler.request.headers.get(KERNEL_HEADER)
    raw = handler.request.headers.get(NOTEBOOKS_HEADER)
    if kernel is None and raw is None:
        return None
    try:
        paths = json.loads(raw) if raw is not None else []
    except ValueError:
        paths = None
    if (
        not isinstance(kernel, str)
        or not kernel.strip()
        or len(kernel) > MAX_LENGTH
        or not isinstance(paths, list)
        or len(paths) > MAX_PATHS
        or not all(isinstance(p, str) and 0 < len(p) <= MAX_LENGTH for p in paths)
    ):
        raise ApiError(
            400, f"{KERNEL_HEADER} and {NOTEBOOKS_HEADER} must name a kernel and its notebooks"
        )
    return kernel.strip(), sorted(paths)
