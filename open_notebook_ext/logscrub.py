"""Keep request bytes out of Tornado's own log lines.

Tornado's HTTP server logs a request it cannot parse as ``Malformed HTTP message
from <address>: <reason>``, and the reason quotes what was sent: a header value
with a NUL byte or a bare CR is logged whole, ``Authorization: token <token>``
and any key in it included. This filter, on Tornado's ``tornado.general``
logger, keeps the reason's words and drops the quoted part.
"""

from __future__ import annotations

import logging

MALFORMED = "Malformed HTTP message from %s: %s"


def withhold_quoted(reason: object) -> str:
    """``Invalid header value 'token ...'`` -> ``Invalid header value``."""
    text = str(reason)
    cut = min((i for i in (text.find("'"), text.find('"')) if i >= 0), default=len(text))
    return text[:cut].rstrip(" :")[:120] or type(reason).__name__


class MalformedRequestFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == MALFORMED and isinstance(record.args, tuple) and len(record.args) == 2:
            record.args = (record.args[0], withhold_quoted(record.args[1]) + " (details withheld)")
        return True


def install() -> None:
    """Add the filter once (idempotent: several extension instances may start)."""
    logger = logging.getLogger("tornado.general")
    if not any(isinstance(f, MalformedRequestFilter) for f in logger.filters):
        logger.addFilter(MalformedRequestFilter())
