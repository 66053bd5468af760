"""The shared core of request validation: parsing into a pydantic model with one 422
body, field types, and notebook paths.

Error messages name the field and say what is wrong; they never repeat the value
that was sent (it might be a key pasted into the wrong box).
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from open_notebook_ext.errors import InvalidInput

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TYPE_MESSAGES = {
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "float_type": "must be a number",
    "list_type": "must be a list",
    "missing": "is required",
    "model_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
}

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any) -> M:
    """Validate ``data`` into ``model`` or raise :class:`InvalidInput` naming each field."""
    if not isinstance(data, dict):
        raise InvalidInput([{"field": "", "message": "request body must be a JSON object"}])
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise InvalidInput(validation_errors(e)) from None


BOOL_MESSAGE = "must be a boolean (true or false)"
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def parse_bool(raw: str) -> bool | None:
    """A boolean sent as text (a query parameter, a form field), read as FastAPI and
    pydantic do: true/false, 1/0, yes/no, on/off, t/f, y/n in any case; None when it is
    none of those (the caller answers 422)."""
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def validation_errors(e: ValidationError) -> list[dict[str, str]]:
    errors = []
    for err in e.errors(include_input=False, include_url=False):
        field = ".".join(str(p) for p in err["loc"])
        if err["type"] in _TYPE_MESSAGES:
            message = _TYPE_MESSAGES[err["type"]]
        else:
            message = err["msg"].removeprefix("Value error, ")
        errors.append({"field": field, "message": message})
    return errors


def text(value: str | None, *, max_len: int, blank_ok: bool) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        if blank_ok:
            return None
        raise ValueError("must not be blank")
    if len(value) > max_len:
        raise ValueError(f"must be at most {max_len} characters")
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


MAX_PATH = 1024
# Unicode categories refused in a path: controls (Cc: C0, DEL, C1), format characters
# (Cf: bidi embeddings, overrides and isolates U+202A-U+202E and U+2066-U+2069, the
# marks U+200E/U+200F/U+061C, zero-width characters, soft hyphen, BOM), surrogates,
# and line/paragraph separators. They let one name look like another in the panel.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _refused_character(text: str) -> bool:
    return any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in text)


def normalise_path(path: str) -> str:
    """A notebook's API path as Jupyter compares it: ``/`` and empty segments at either
    end or in between dropped, ``.`` segments dropped (the contents manager's
    ``to_os_path`` does the same), nothing else changed — a backslash or a space is part
    of a POSIX file name. Raises ValueError for '..', control and format (bidi)
    characters, and for a path that names no file (``.``, ``/``)."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError("must not be blank")
    if len(path) > MAX_PATH:
        raise ValueError(f"must be at most {MAX_PATH} characters")
    if _refused_character(path):
        raise ValueError("must not contain control, format or bidirectional characters")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise ValueError("must not contain '..'")
    if not parts:
        raise ValueError("must name a notebook file")
    return posixpath.join(*parts)
