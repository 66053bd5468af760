"""JSON sent by clients, parsed so that its shape cannot crash a request.

Python's ``json`` module recurses once per nesting level, so ``"[" * 100000``
raises ``RecursionError``; it accepts lone surrogates (``"\\ud800"``), which are
not Unicode text and make the next UTF-8 encoder on the way (a database driver,
orjson, a log handler) fail; and it accepts ``NaN`` and ``Infinity``, which JSON
does not have. Every JSON value that comes from a client (request bodies, JSON in
form fields) goes through :func:`loads`, which refuses all three with a message
that says which (and never repeats the value).
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64  # arrays/objects inside each other; the API's own shapes need 3
_SURROGATE = re.compile("[\ud800-\udfff]")


NOT_JSON = "not valid JSON"


class UnacceptableJSON(ValueError):
    """Not JSON this server accepts; the message says why, without the value."""


def _no_constants(name: str) -> Any:
    raise UnacceptableJSON("NaN and Infinity are not JSON")


def _check_text(text: str) -> None:
    if not text.isascii() and _SURROGATE.search(text):
        raise UnacceptableJSON(
            "a string holds a lone surrogate (\\ud800 to \\udfff), which is not Unicode text"
        )


def check(value: Any) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` and strings that are not Unicode text
    (iteratively: the check itself must not recurse)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise UnacceptableJSON(f"nested more than {MAX_DEPTH} levels deep")
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def loads(data: bytes | str) -> Any:
    """Parse client JSON; raises :class:`UnacceptableJSON` (a ValueError) when it is not
    valid JSON, nests too deep, or holds text that is not Unicode."""
    try:
        value = json.loads(data, parse_constant=_no_constants)
    except UnacceptableJSON:
        raise
    except RecursionError:
        raise UnacceptableJSON(f"nested more than {MAX_DEPTH} levels deep") from None
    except ValueError:  # UnicodeDecodeError included
        raise UnacceptableJSON(NOT_JSON) from None
    check(value)
    return value
