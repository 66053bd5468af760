"""``POST /search``: Open Notebook's text search over sources and notes."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from open_notebook_ext.http.base import ApiError, OpenNotebookHandler
from open_notebook_ext.notebooks.models import SearchRequest
from open_notebook_ext.notebooks.search import text_search
from open_notebook_ext.validation import parse

VECTOR_UNAVAILABLE = (
    'Vector search is not available: this server has no embedding support. Use "type": "text".'
)


class SearchHandler(OpenNotebookHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        payload = self.read_json()
        req = await self.call(parse, SearchRequest, payload)
        if req.type == "vector":
            raise ApiError(400, VECTOR_UNAVAILABLE)
        results = await self.call(
            text_search,
            self.services.db,
            self.owner,
            req.query,
            limit=req.limit,
            sources=req.search_sources,
            notes=req.search_notes,
            notebook_id=req.notebook_id,
        )
        self.send_json({"results": results, "total_count": len(results), "search_type": "text"})
