"""Recognisable secrets, and searching for them where they must not be."""

from __future__ import annotations

import secrets
from pathlib import Path


def random_api_key(prefix: str = "sk-test") -> str:
    """A recognisable random key: easy to search for in logs, responses and files."""
    return f"{prefix}-{secrets.token_hex(16)}"


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


def bytes_contain(path: Path, needle: str) -> bool:
    data = path.read_bytes()
    return needle.encode() in data or needle.encode("utf-16-le") in data
