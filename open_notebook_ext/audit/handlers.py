"""Recent audit events for the panel's Activity section."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from open_notebook_ext.audit.log import parse_time
from open_notebook_ext.http.base import OpenNotebookHandler
from open_notebook_ext.http.errors import field_error


class AuditHandler(OpenNotebookHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        limit = self.query_int("limit", default=100, minimum=1, maximum=1000) or 100
        since_raw = self.get_query_argument("since", None)
        since = None
        if since_raw is not None:
            since = parse_time(since_raw)
            if since is None:
                raise field_error("since", "must be an ISO 8601 date-time")
        events = await self.call(
            self.services.audit.read, owner=self.owner, limit=limit, since=since
        )
        self.send_json(events)
