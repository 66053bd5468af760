"""Open Notebook's text search over sources and notes, one function per backend.

``text_search`` picks the function for the database's backend:

* SQLite: the FTS5 index that migration 0003 keeps in step with notes and
  sources (triggers, same transaction), ranked by BM25 with a title match
  weighing ``TITLE_WEIGHT`` times a body match.
* PostgreSQL: the ``search_vector`` columns and GIN indexes of migration 0004
  (filled by triggers, same transaction; title weight A, body weight B),
  ranked by ``ts_rank`` with A weighing ``TITLE_WEIGHT`` times B, normalised
  by document length as BM25 is.

Both find a document only if every word of the query occurs in it (stemmed,
case folded), and answer the same shape.

Results have Open Notebook's fields (``id``, ``parent_id``, ``title``,
``relevance``) plus ``final_score`` (what its web client reads), ``matches``
(a snippet, matched words in backticks as Open Notebook highlights them),
``type`` (``source`` or ``note``), ``created`` and ``updated``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..errors import BadRequest, InvalidInput
from .credentials import isoformat
from .db import Database
from .notebooks import notebook_row
from .orm import Note, Source

TITLE_WEIGHT = 10.0
BODY_WEIGHT = 1.0
MAX_TERMS = 32
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Query:
    owner: str
    terms: list[str]
    limit: int
    sources: bool
    notes: bool
    notebook_id: str | None


def terms_of(query: str) -> list[str]:
    """The words of a query; FTS syntax in it is never interpreted."""
    terms = _WORD.findall(query)[:MAX_TERMS]
    if not terms:
        raise InvalidInput(
            [{"field": "query", "message": "must contain at least one letter or digit"}]
        )
    return terms


def _sqlite(session: Session, q: Query) -> list[tuple[str, str, float, str]]:
    """(item id, kind, relevance, snippet) best first."""
    kinds = [k for k, on in (("source", q.sources), ("note", q.notes)) if on]
    if not kinds:
        return []
    # Every term quoted: all must appear (porter stemming, case and accents folded).
    match = " ".join('"' + t.replace('"', '""') + '"' for t in q.terms)
    params: dict[str, Any] = {
        "match": match,
        "owner": q.owner,
        "limit": q.limit,
        "k0": kinds[0],
        "k1": kinds[-1],
    }
    in_notebook = ""
    if q.notebook_id is not None:
        params["notebook"] = q.notebook_id
        in_notebook = """
          AND ((d.kind = 'note' AND EXISTS (SELECT 1 FROM on_notes n
                   WHERE n.id = d.item_id AND n.notebook_id = :notebook))
            OR (d.kind = 'source' AND EXISTS (SELECT 1 FROM on_notebook_sources l
                   WHERE l.source_id = d.item_id AND l.notebook_id = :notebook)))"""
    rank = f"bm25(on_search_fts, {TITLE_WEIGHT}, {BODY_WEIGHT})"
    sql = f"""
        SELECT d.item_id, d.kind, -{rank} AS relevance,
               snippet(on_search_fts, -1, '`', '`', '…', 16) AS snippet
        FROM on_search_fts JOIN on_search_docs AS d ON d.doc_id = on_search_fts.rowid
        WHERE on_search_fts MATCH :match AND d.owner = :owner
          AND d.kind IN (:k0, :k1) {in_notebook}
        ORDER BY {rank}, d.item_id
        LIMIT :limit"""  # noqa: S608 - only constants are formatted in
    return [tuple(r) for r in session.execute(text(sql), params).all()]  # type: ignore[misc]


# ts_rank's weights for D, C, B (body) and A (title).
_PG_WEIGHTS = f"{{0, 0, {BODY_WEIGHT / TITLE_WEIGHT}, 1}}"
# The snippet: at most 16 words around the match, matched words in backticks; a short
# text whole (ts_headline's fragments would drop its final punctuation).
_PG_HEADLINE = (
    "StartSel=`, StopSel=`, MaxWords=16, MinWords=8, ShortWord=0, "
    'MaxFragments=1, FragmentDelimiter=" … "'
)
_PG_HEADLINE_ALL = "StartSel=`, StopSel=`, HighlightAll=true"
_PG_SHORT_TEXT = 120
# ts_headline re-reads the text: only this much of a long body is looked at.
PG_SNIPPET_CHARS = 200_000


def _postgresql(session: Session, q: Query) -> list[tuple[str, str, float, str]]:
    """(item id, kind, relevance, snippet) best first."""
    selects = []
    params: dict[str, Any] = {
        "words": " ".join(q.terms),
        "owner": q.owner,
        "limit": q.limit,
        "weights": _PG_WEIGHTS,
        "headline": _PG_HEADLINE,
        "headline_all": _PG_HEADLINE_ALL,
        "short": _PG_SHORT_TEXT,
        "snippet_chars": PG_SNIPPET_CHARS,
    }
    if q.notebook_id is not None:
        params["notebook"] = q.notebook_id
    if q.notes:
        in_notebook = " AND n.notebook_id = :notebook" if q.notebook_id is not None else ""
        selects.append(f"""
            SELECT n.id AS item_id, 'note' AS kind,
                   ts_rank(CAST(:weights AS float4[]), n.search_vector, q.query, 1) AS relevance
            FROM on_notes AS n, q
            WHERE n.owner = :owner AND n.search_vector @@ q.query{in_notebook}""")  # noqa: S608
    if q.sources:
        in_notebook = (
            """ AND EXISTS (SELECT 1 FROM on_notebook_sources AS l
                   WHERE l.source_id = s.id AND l.notebook_id = :notebook)"""
            if q.notebook_id is not None
            else ""
        )
        selects.append(f"""
            SELECT s.id AS item_id, 'source' AS kind,
                   ts_rank(CAST(:weights AS float4[]), s.search_vector, q.query, 1) AS relevance
            FROM on_sources AS s, q
            WHERE s.owner = :owner AND s.search_vector @@ q.query{in_notebook}""")  # noqa: S608
    if not selects:
        return []
    # The snippet comes from the body if the body matches, else from the title.
    snippet = """CASE WHEN ts_filter({t}.search_vector, '{{b}}') @@ q.query
                   OR NOT ts_filter({t}.search_vector, '{{a}}') @@ q.query
              THEN ts_headline('on_search', left(coalesce({t}.{body}, ''), :snippet_chars),
                               q.query, CASE WHEN length({t}.{body}) <= :short
                                             THEN :headline_all ELSE :headline END)
              ELSE ts_headline('on_search', coalesce({t}.title, ''), q.query, :headline_all)
              END"""
    sql = f"""
        WITH q AS (SELECT plainto_tsquery('on_search', :words) AS query),
        hits AS ({" UNION ALL ".join(selects)}
            ORDER BY relevance DESC, item_id LIMIT :limit)
        SELECT h.item_id, h.kind, h.relevance,
               CASE h.kind
                 WHEN 'note' THEN (SELECT {snippet.format(t="n", body="content")}
                                   FROM on_notes AS n WHERE n.id = h.item_id)
                 ELSE (SELECT {snippet.format(t="s", body="full_text")}
                       FROM on_sources AS s WHERE s.id = h.item_id)
               END AS snippet
        FROM hits AS h, q
        ORDER BY h.relevance DESC, h.item_id"""  # noqa: S608 - only constants are formatted in
    return [tuple(r) for r in session.execute(text(sql), params).all()]  # type: ignore[misc]


BACKENDS: dict[str, Callable[[Session, Query], list[tuple[str, str, float, str]]]] = {
    "sqlite": _sqlite,
    "postgresql": _postgresql,
}


def text_search(
    db: Database,
    owner: str,
    query: str,
    *,
    limit: int = 100,
    sources: bool = True,
    notes: bool = True,
    notebook_id: str | None = None,
) -> list[dict[str, Any]]:
    backend = BACKENDS.get(db.backend)
    if backend is None:
        raise BadRequest(f"Text search is not available on the {db.backend} database backend")
    q = Query(owner, terms_of(query), limit, sources, notes, notebook_id)
    with db.session() as s:
        if notebook_id is not None:
            notebook_row(s, owner, notebook_id)
        hits = backend(s, q)
        details = _details(s, owner, hits)
    results = []
    for item_id, kind, relevance, snippet in hits:
        title, created, updated = details.get(item_id, (None, None, None))
        if created is None:
            continue
        score = round(float(relevance), 6)
        results.append(
            {
                "id": item_id,
                "parent_id": item_id,
                "title": title,
                "type": kind,
                "relevance": score,
                "final_score": score,
                "matches": [snippet] if snippet else [],
                "created": isoformat(created),
                "updated": isoformat(updated),
            }
        )
    return results


def _details(
    session: Session, owner: str, hits: list[tuple[str, str, float, str]]
) -> dict[str, tuple[Any, Any, Any]]:
    out: dict[str, tuple[Any, Any, Any]] = {}
    for model, kind in ((Source, "source"), (Note, "note")):
        ids = [h[0] for h in hits if h[1] == kind]
        if ids:
            rows = session.execute(
                select(model.id, model.title, model.created, model.updated).where(
                    model.id.in_(ids), model.owner == owner
                )
            ).all()
            out.update({r[0]: (r[1], r[2], r[3]) for r in rows})
    return out
