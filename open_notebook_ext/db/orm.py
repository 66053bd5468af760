"""SQLAlchemy tables. Every user-owned row carries its ``owner``.

The schema itself is created and upgraded by the Alembic migrations in
``open_notebook_ext/db/migrations``; these classes must match the latest one
(``tests/store/test_migrations.py`` compares them). The full-text search index
(``on_search_*``) is backend-specific and lives only in the migrations
(see ``store/search.py``).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import JSON


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Meta(Base):
    """Small key/value facts about the database: the KDF salt, the key check value."""

    __tablename__ = "on_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


class Credential(Base):
    """An AI-provider credential; the API key is stored only as a Fernet token."""

    __tablename__ = "on_credentials"
    __table_args__ = (
        UniqueConstraint("owner", "provider", "name", name="uq_credential_name"),
        # the list's order and each row's version (vault/listing.py), migration 0007
        Index("ix_on_credentials_list", "owner", "provider", "created", "id", "row_version"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    provider: Mapped[str] = mapped_column(String(64), nullable=False)
    modalities: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    api_key_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    # "••••" + last four characters, only for keys of 12+ characters.
    api_key_hint: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Fingerprint of the key that encrypted api_key_encrypted (see keyring.key_id).
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    base_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    endpoint: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    api_version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    endpoint_llm: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    endpoint_embedding: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    endpoint_stt: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    endpoint_tts: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    project: Mapped[str | None] = mapped_column(String(200), nullable=True)
    location: Mapped[str | None] = mapped_column(String(200), nullable=True)
    credentials_path: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    num_ctx: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # "read": secrets.get and the proxy may use the key; "proxy": only the proxy (0006).
    key_access: Mapped[str] = mapped_column(
        String(16), nullable=False, default="read", server_default="read"
    )
    created: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )
    updated: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )
    # Incremented by a trigger on every update of the row, whoever writes (0007).
    row_version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")


class CredentialChanges(Base):
    """One row (id 1): ``version`` goes up on every write of ``on_credentials``, by a
    trigger (migration 0007), whoever writes; vault/listing.py keeps a list while it
    stays the same."""

    __tablename__ = "on_credential_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)


class Notebook(Base):
    """An Open Notebook notebook: a named collection of sources and notes."""

    __tablename__ = "on_notebooks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(500), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    archived: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )
    updated: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )


class Source(Base):
    """A source: pasted text, a link, or an uploaded file (kept under data_dir/uploads).

    ``stored_name`` is the generated name of the uploaded file in the uploads
    directory (never a client-supplied path); ``file_name`` is the name the
    client gave, for display only.
    """

    __tablename__ = "on_sources"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # text | link | upload
    title: Mapped[str | None] = mapped_column(String(500), nullable=True)
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    file_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    stored_name: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    file_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    full_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    topics: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    created: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )
    updated: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )


class NotebookSource(Base):
    """A source belongs to any number of notebooks (Open Notebook's ``reference`` edge)."""

    __tablename__ = "on_notebook_sources"

    notebook_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("on_notebooks.id", ondelete="CASCADE"), primary_key=True
    )
    source_id: Mapped[str] = mapped_column(
        String(64),
        ForeignKey("on_sources.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )
    created: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )


class Note(Base):
    """A note, human- or AI-written, optionally in one notebook (``artifact`` edge)."""

    __tablename__ = "on_notes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    notebook_id: Mapped[str | None] = mapped_column(
        String(64),
        ForeignKey("on_notebooks.id", ondelete="CASCADE"),
        nullable=True,
        index=True,
    )
    title: Mapped[str | None] = mapped_column(String(500), nullable=True)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    note_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )
    updated: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )


class Grant(Base):
    """A notebook (by its path under the Jupyter root) may read a credential's key."""

    __tablename__ = "on_grants"
    __table_args__ = (UniqueConstraint("owner", "credential_id", "notebook_path", name="uq_grant"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    credential_id: Mapped[str] = mapped_column(
        String(64),
        ForeignKey("on_credentials.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    notebook_path: Mapped[str] = mapped_column(String(1024), nullable=False)
    # The file the grant was given for ("<inode>:<birth ns>", see fileidentity.py); NULL
    # for grants from before revision 0005 (bound to the file found at their next use).
    file_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )


class ProxyUsage(Base):
    """One call through the provider proxy: who, which credential and notebook, the model,
    the status, the time taken and the provider's token counts. Never the prompt or
    the answer. ``day`` is the UTC date (YYYY-MM-DD), what budgets and usage group by."""

    __tablename__ = "on_proxy_usage"
    __table_args__ = (Index("ix_on_proxy_usage_budget", "owner", "credential_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(255), nullable=False)
    credential_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("on_credentials.id", ondelete="CASCADE"), nullable=False
    )
    notebook_path: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    provider: Mapped[str] = mapped_column(String(64), nullable=False)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[int] = mapped_column(Integer, nullable=False)
    latency_ms: Mapped[float] = mapped_column(Float, nullable=False)
    input_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    output_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    day: Mapped[str] = mapped_column(String(10), nullable=False)
    created: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )


class ProxyBudget(Base):
    """Limits per UTC day on a credential's proxy calls, for every notebook
    (``notebook_path`` "") or one notebook."""

    __tablename__ = "on_proxy_budgets"
    __table_args__ = (
        UniqueConstraint("owner", "credential_id", "notebook_path", name="uq_proxy_budget"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    credential_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("on_credentials.id", ondelete="CASCADE"), nullable=False, index=True
    )
    notebook_path: Mapped[str] = mapped_column(String(1024), nullable=False, default="")
    requests_per_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tokens_per_day: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )
    updated: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )


class AuthFailures(Base):
    """Failed authentication attempts of one client address, for the limiter replicas
    share (``security/dblimiter.py``, migration 0008): the times of its failures within
    the window (epoch seconds, space-separated, at most the limit of them) and when its
    block ends. ``updated`` is the last failure's time, what old rows are pruned by."""

    __tablename__ = "on_auth_failures"

    address: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[str] = mapped_column(Text, nullable=False, default="")
    blocked_until: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    updated: Mapped[float] = mapped_column(Float, nullable=False, index=True)
