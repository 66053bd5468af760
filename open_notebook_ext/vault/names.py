"""Close matches for a credential name code asked for and no credential has."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

NOT_FOUND_BY_NAME = "Credential not found"


def close_matches(asked: str, names: Iterable[str], limit: int = 3) -> list[str]:
    """Names that differ only in case or spacing first, then similar ones (difflib)."""
    names = sorted(set(names))
    key = " ".join(asked.split()).casefold()
    same = [n for n in names if " ".join(n.split()).casefold() == key]
    folded = {n.casefold(): n for n in names}
    similar = [folded[m] for m in difflib.get_close_matches(key, list(folded), n=limit, cutoff=0.6)]
    return [*same, *[n for n in similar if n not in same]][:limit]


def not_found_detail(asked: str, names: Iterable[str]) -> str:
    """The 404 detail: the asked name is not repeated (the client knows it), the close
    matches among the caller's own credential names are."""
    matches = close_matches(asked, names)
    if not matches:
        return f"{NOT_FOUND_BY_NAME}. secrets.list() shows the names you have."
    quoted = " or ".join(f'"{m}"' for m in matches)
    return f"{NOT_FOUND_BY_NAME}. Did you mean {quoted}?"
