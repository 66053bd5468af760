"""SQLAlchemy tables. Every user-owned row carries its ``owner``.

The schema itself is created and upgraded by the Alembic migrations in
``open_notebook_ext/migrations``; these classes must match the latest one (a
test compares them).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    DateTime,
    ForeignKey,
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
    __table_args__ = (UniqueConstraint("owner", "provider", "name", name="uq_credential_name"),)

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
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                              default=utcnow)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                              default=utcnow)


class Grant(Base):
    """A notebook (by its path under the Jupyter root) may read a credential's key."""

    __tablename__ = "on_grants"
    __table_args__ = (
        UniqueConstraint("owner", "credential_id", "notebook_path", name="uq_grant"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    credential_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("on_credentials.id", ondelete="CASCADE"), nullable=False,
        index=True,
    )
    notebook_path: Mapped[str] = mapped_column(String(1024), nullable=False)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                              default=utcnow)
