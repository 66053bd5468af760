"""What every store shares: record ids and timestamps as the API writes them."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Result


def new_id(kind: str) -> str:
    """Open Notebook style record ids: ``<table>:<20 random characters>``."""
    return f"{kind}:{secrets.token_hex(10)}"


def isoformat(value: datetime | str) -> str:
    if isinstance(value, str):  # SQLite's text, read without SQLAlchemy's conversion
        if len(value) == 26 and value[10] == " " and value[19] == ".":
            # SQLAlchemy's 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC), as datetime.isoformat
            # writes it, without building a datetime (a list of thousands, see bench/)
            if value.endswith(".000000"):
                return f"{value[:10]}T{value[11:19]}+00:00"
            return f"{value[:10]}T{value[11:]}+00:00"
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:  # SQLite hands back naive datetimes; we only store UTC
        return value.isoformat() + "+00:00"
    return value.isoformat()


def rowcount(result: Result[Any]) -> int:
    """The rows a DELETE or UPDATE touched (SQLAlchemy types ``Session.execute`` as a
    plain ``Result``; for those statements it is a ``CursorResult``)."""
    return cast("CursorResult[Any]", result).rowcount or 0
