"""Request models for notebooks, notes, sources and search (Open Notebook's field names).

Like ``schemas.py``: every problem is reported per field, as 422, before
anything is written, and messages never repeat what was sent.
"""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
)

from .schemas import _text

MAX_NAME = 500
MAX_DESCRIPTION = 50_000
MAX_TITLE = 500
MAX_ID = 100
MAX_TOPIC = 200
MAX_QUERY = 1000
NOTE_TYPES = ("human", "ai")
SOURCE_TYPES = ("link", "upload", "text")


def _optional_title(value: str | None) -> str | None:
    """Titles: surrounding whitespace dropped, blank means none."""
    return _text(value, max_len=MAX_TITLE, blank_ok=True)


def _body(value: str | None, *, required: bool) -> str | None:
    """Free text (note content, pasted source text): kept as sent, must not be blank."""
    if value is None:
        if required:
            raise ValueError("is required")
        return None
    if not value.strip():
        raise ValueError("must not be blank")
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _description(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_DESCRIPTION:
        raise ValueError(f"must be at most {MAX_DESCRIPTION} characters")
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _an_id(value: str | None) -> str | None:
    return _text(value, max_len=MAX_ID, blank_ok=True)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


# -- notebooks -------------------------------------------------------------------


class NotebookCreate(_Model):
    name: StrictStr
    description: StrictStr | None = ""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _text(v, max_len=MAX_NAME, blank_ok=False)  # type: ignore[return-value]

    @field_validator("description")
    @classmethod
    def _desc(cls, v: str | None) -> str:
        return _description(v) or ""


class NotebookUpdate(_Model):
    """As Open Notebook: a field left out or ``null`` is unchanged."""

    name: StrictStr | None = None
    description: StrictStr | None = None
    archived: StrictBool | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return None if v is None else _text(v, max_len=MAX_NAME, blank_ok=False)

    @field_validator("description")
    @classmethod
    def _desc(cls, v: str | None) -> str | None:
        return _description(v)


# -- notes -----------------------------------------------------------------------


class NoteCreate(_Model):
    title: StrictStr | None = None
    content: StrictStr
    note_type: Literal["human", "ai"] | None = "human"
    notebook_id: StrictStr | None = None

    @field_validator("title")
    @classmethod
    def _title(cls, v: str | None) -> str | None:
        return _optional_title(v)

    @field_validator("content")
    @classmethod
    def _content(cls, v: str) -> str:
        return _body(v, required=True)  # type: ignore[return-value]

    @field_validator("notebook_id")
    @classmethod
    def _notebook(cls, v: str | None) -> str | None:
        return _an_id(v)


class NoteUpdate(_Model):
    """A field left out or ``null`` is unchanged; a blank title clears it."""

    title: StrictStr | None = None
    content: StrictStr | None = None
    note_type: Literal["human", "ai"] | None = None

    @field_validator("title")
    @classmethod
    def _title(cls, v: str | None) -> str | None:
        return None if v is None else (_optional_title(v) or "")

    @field_validator("content")
    @classmethod
    def _content(cls, v: str | None) -> str | None:
        return _body(v, required=False)


# -- sources ---------------------------------------------------------------------


class SourceCreate(_Model):
    type: Literal["link", "upload", "text"]
    notebook_id: StrictStr | None = None
    notebooks: list[StrictStr] | None = Field(default=None, max_length=50)
    url: StrictStr | None = None
    content: StrictStr | None = None
    title: StrictStr | None = None
    file_path: StrictStr | None = None
    transformations: list[StrictStr] | None = Field(default=None, max_length=50)
    embed: StrictBool = False
    delete_source: StrictBool = False
    async_processing: StrictBool = False

    @field_validator("title")
    @classmethod
    def _title(cls, v: str | None) -> str | None:
        return _optional_title(v)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return _text(v, max_len=2048, blank_ok=True)

    @field_validator("file_path")
    @classmethod
    def _no_paths(cls, v: str | None) -> None:
        if v:
            raise ValueError("is not accepted: upload the file itself (multipart field 'file')")
        return None

    @field_validator("notebooks")
    @classmethod
    def _notebooks(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        ids = [_an_id(i) for i in v]
        if any(i is None for i in ids):
            raise ValueError("must not contain blank ids")
        return list(dict.fromkeys(i for i in ids if i))

    @field_validator("notebook_id")
    @classmethod
    def _notebook(cls, v: str | None) -> str | None:
        return _an_id(v)

    def notebook_ids(self) -> list[str]:
        """``notebooks``, or the deprecated single ``notebook_id``, or none."""
        if self.notebooks is not None:
            return self.notebooks
        return [self.notebook_id] if self.notebook_id else []

    def problems(self, *, has_file: bool) -> list[dict[str, str]]:
        """What the type needs and is missing (field by field, like validation errors)."""
        errors = []
        if self.notebook_id is not None and self.notebooks is not None:
            errors.append(
                {
                    "field": "notebooks",
                    "message": "cannot be combined with "
                    "notebook_id; use notebooks for several notebooks",
                }
            )
        if self.type == "link" and not self.url:
            errors.append({"field": "url", "message": "is required for link type"})
        if self.type == "text":
            try:
                _body(self.content, required=True)
            except ValueError as e:
                errors.append({"field": "content", "message": f"{e} for text type"})
        if self.type == "upload" and not has_file:
            errors.append(
                {
                    "field": "file",
                    "message": "a file upload is required for "
                    "upload type (multipart/form-data field 'file')",
                }
            )
        return errors


class SourceUpdate(_Model):
    title: StrictStr | None = None
    topics: list[StrictStr] | None = Field(default=None, max_length=50)

    @field_validator("title")
    @classmethod
    def _title(cls, v: str | None) -> str | None:
        return None if v is None else _text(v, max_len=MAX_TITLE, blank_ok=False)

    @field_validator("topics")
    @classmethod
    def _topics(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        topics = [_text(t, max_len=MAX_TOPIC, blank_ok=True) for t in v]
        return list(dict.fromkeys(t for t in topics if t))


# -- search ----------------------------------------------------------------------


class SearchRequest(_Model):
    query: StrictStr
    type: Literal["text", "vector"] = "text"
    limit: StrictInt = Field(default=100, ge=1, le=1000)
    search_sources: StrictBool = True
    search_notes: StrictBool = True
    minimum_score: StrictFloat = Field(default=0.2, ge=0, le=1)  # not true/false
    notebook_id: StrictStr | None = None

    @field_validator("query")
    @classmethod
    def _query(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        if len(v) > MAX_QUERY:
            raise ValueError(f"must be at most {MAX_QUERY} characters")
        return v.strip()

    @field_validator("notebook_id")
    @classmethod
    def _notebook(cls, v: str | None) -> str | None:
        return _an_id(v)
