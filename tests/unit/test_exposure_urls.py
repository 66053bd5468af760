"""The start-up exposure check reads a plain SQLite URL's file without SQLAlchemy
(security/exposure.py): it must find exactly the file SQLAlchemy's parser finds, and
hand every other URL to that parser."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from open_notebook_ext.db.engine import sqlite_path
from open_notebook_ext.security import exposure


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///relative.db",
        "sqlite:///sub/dir/x.db",
        "sqlite:////abs/path/open_notebook.db",
        "sqlite+pysqlite:////abs/x.db",
        "sqlite:///~/x.db",
        "sqlite:///:memory:",
        "sqlite://",
        "sqlite:///file::memory:",
        "sqlite:////abs/with%20space.db",
        "sqlite:////abs/x.db?mode=ro",
        "sqlite:///file:/abs/x.db?uri=true",
        "sqlite:////abs/odd name.db",
        "postgresql+psycopg://u:p@host/db",
    ],
)
def test_the_quick_parse_finds_what_sqlalchemy_finds(url, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert exposure.sqlite_file(url) == sqlite_path(make_url(url))


def test_plain_file_urls_do_not_load_sqlalchemy(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("SQLAlchemy's parser was used")

    monkeypatch.setattr("sqlalchemy.engine.make_url", refuse)
    assert str(exposure.sqlite_file("sqlite:////abs/x.db")) == "/abs/x.db"
    with pytest.raises(AssertionError):
        exposure.sqlite_file("sqlite:////abs/x.db?mode=ro")


def test_an_unparsable_url_is_left_to_the_database_open():
    assert exposure.sqlite_file("not a url at all") is None
