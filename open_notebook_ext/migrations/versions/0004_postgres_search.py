"""PostgreSQL full-text search over notes and sources (SQLite has FTS5 since 0003).

Each note and source gets a ``search_vector`` (tsvector) column, filled by a
trigger in the same transaction as the write and indexed with GIN: the title
with weight A, the body (a note's content, a source's text) with weight B, so
ranking can weigh a title match above a body match as SQLite's BM25 does.

Words are stemmed by a Snowball English dictionary without stop words, after
the same ASCII punctuation split as FTS5's tokenizer (``example.com`` is two
words, ``platypus-like`` too), so both backends find the same words. Accents
are folded when the ``unaccent`` extension can be had (it ships with
PostgreSQL; the migration creates it if the role may, else searches keep
accents).

A tsvector holds at most 1 MB of distinct words: a body that is larger than
that is indexed from its beginning, as much as fits (halving until it does).

Nothing happens on other backends.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CONFIG = "on_search"
# (table, body column)
_INDEXED = (("on_notes", "content"), ("on_sources", "full_text"))
# ASCII punctuation, which FTS5's unicode61 tokenizer treats as separators.
_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
_WORD_TOKENS = "asciiword, asciihword, hword_asciipart, word, hword, hword_part"


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _unaccent_available(bind) -> bool:
    """True if the unaccent dictionary exists or could be created here."""
    if (
        bind.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'unaccent'").first()
        is not None
    ):
        return True
    if (
        bind.exec_driver_sql(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'"
        ).first()
        is None
    ):
        return False
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent")
    except DBAPIError:  # no privilege: search works, accents are not folded
        return False
    return True


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    dictionaries = ("unaccent, " if _unaccent_available(bind) else "") + "on_english_stem"
    punct = _sql_string(_PUNCT)
    spaces = _sql_string(" " * len(_PUNCT))
    for statement in (
        # Snowball English stemming without a stop word list: every word is searchable.
        "CREATE TEXT SEARCH DICTIONARY on_english_stem (TEMPLATE = snowball, Language = english)",
        f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = english)",
        f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} ALTER MAPPING FOR {_WORD_TOKENS} "
        f"WITH {dictionaries}",
        f"""CREATE FUNCTION on_search_words(value text) RETURNS text
            LANGUAGE sql IMMUTABLE PARALLEL SAFE
            AS $$ SELECT translate(coalesce(value, ''), {punct}, {spaces}) $$""",
        f"""CREATE FUNCTION on_search_document(title text, body text) RETURNS tsvector
            LANGUAGE plpgsql STABLE AS $$
            DECLARE
                head tsvector := setweight(to_tsvector('{CONFIG}', on_search_words(title)), 'A');
                n integer := length(coalesce(body, ''));
            BEGIN
                IF octet_length(coalesce(body, '')) < 500000 THEN
                    RETURN head || setweight(to_tsvector('{CONFIG}', on_search_words(body)), 'B');
                END IF;
                LOOP  -- a tsvector holds at most 1 MB of words: keep what fits
                    BEGIN
                        RETURN head || setweight(
                            to_tsvector('{CONFIG}', on_search_words(left(body, n))), 'B');
                    EXCEPTION WHEN program_limit_exceeded THEN
                        n := n / 2;
                    END;
                END LOOP;
            END $$""",
    ):
        op.execute(statement)
    for table, body in _INDEXED:
        op.execute(f"ALTER TABLE {table} ADD COLUMN search_vector tsvector")
        op.execute(f"""CREATE FUNCTION {table}_search() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.search_vector := on_search_document(NEW.title, NEW.{body});
                RETURN NEW;
            END $$""")
        op.execute(f"""CREATE TRIGGER {table}_search BEFORE INSERT OR UPDATE OF title, {body}
            ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_search()""")
        op.execute(f"UPDATE {table} SET search_vector = on_search_document(title, {body})")
        op.execute(f"CREATE INDEX ix_{table}_search ON {table} USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, _body in _INDEXED:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_search ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_search()")
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_search")
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector")
    op.execute("DROP FUNCTION IF EXISTS on_search_document(text, text)")
    op.execute("DROP FUNCTION IF EXISTS on_search_words(text)")
    op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}")
    op.execute("DROP TEXT SEARCH DICTIONARY IF EXISTS on_english_stem")
