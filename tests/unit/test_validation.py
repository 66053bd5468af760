"""One boolean reader and one 422 body for the whole API (issue 16)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from open_notebook_ext.errors import InvalidInput
from open_notebook_ext.http.errors import api_error_for, field_error
from open_notebook_ext.validation import parse_bool

PACKAGE = Path(__file__).resolve().parents[2] / "open_notebook_ext"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        *((s, True) for s in ("1", "on", "t", "true", "y", "yes", " TRUE ", "Yes")),
        *((s, False) for s in ("0", "off", "f", "false", "n", "no", "False", " no\n")),
        *((s, None) for s in ("", "2", "maybe", "truee", "nope", "-1", "\u0131")),
    ],
)
def test_parse_bool_reads_the_fastapi_spellings_only(raw: str, value: bool | None) -> None:
    assert parse_bool(raw) is value


def test_field_error_is_the_body_a_model_error_gets() -> None:
    one = field_error("limit", "must be an integer between 1 and 500")
    model = api_error_for(
        InvalidInput([{"field": "limit", "message": "must be an integer between 1 and 500"}])
    )
    assert model is not None
    assert (one.status_code, one.detail, one.extra) == (
        model.status_code,
        model.detail,
        model.extra,
    )
    assert one.detail == "limit: must be an integer between 1 and 500"
    assert one.extra == {
        "errors": [{"field": "limit", "message": "must be an integer between 1 and 500"}]
    }
    whole = field_error("", "request body must be a JSON object")
    assert whole.detail == "request body must be a JSON object"


def _hand_built_422s(root: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "errors.py" and path.parent.name == "http":
            continue  # where the one body is built
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "ApiError"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value == 422
            ):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_no_handler_builds_a_422_body_by_hand() -> None:
    assert _hand_built_422s() == []


def test_the_422_check_sees_a_hand_built_body(tmp_path: Path) -> None:
    (tmp_path / "h.py").write_text('raise ApiError(422, "x: bad", extra={"errors": []})\n')
    (tmp_path / "ok.py").write_text('raise ApiError(404, "Not found")\n')
    assert _hand_built_422s(tmp_path) == ["h.py:1"]
