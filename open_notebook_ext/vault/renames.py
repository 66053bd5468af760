"""Grants follow a notebook renamed in Jupyter, and die with a deleted one.

Jupyter's contents service emits an event for each rename and delete (its event logger,
schema :data:`CONTENTS_EVENTS`); the grants store moves or forgets the grants of that
path, on a thread, for the owner of the request that did it.
"""

from __future__ import annotations

import asyncio
from typing import Any

CONTENTS_EVENTS = "https://events.jupyter.org/jupyter_server/contents_service/v1"


def follow_notebook_renames(app: Any) -> None:
    """Listen to ``app``'s server's contents events (an OpenNotebookApp with a store)."""

    async def on_contents_event(logger: Any, schema_id: str, data: dict) -> None:
        action, path = data.get("action"), data.get("path")
        try:
            if action == "rename" and data.get("source_path") and path:
                await asyncio.to_thread(
                    app.grants.move, app.current_owner(), data["source_path"], path
                )
            elif action == "delete" and path:
                await asyncio.to_thread(app.grants.forget, app.current_owner(), path)
        except Exception:
            app.log.error("Could not update notebook grants after a %s", action, exc_info=True)

    events = app.server.event_logger
    if events is None:  # pragma: no cover - jupyter_server always has one
        app.log.warning("No event logger: grants will not follow renames and deletes")
        return
    events.add_listener(schema_id=CONTENTS_EVENTS, listener=on_contents_event)
